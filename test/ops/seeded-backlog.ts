import type { BacklogEntry, LiveStage } from '../../domain/ops/bottleneck';

/**
 * A seeded backlog whose bottleneck view is known by construction, shared by the domain test and
 * the DynamoDB Local test: 20 billing items, 16 of them (80%) in HUMAN_REVIEW; 10 claims spread
 * over WAITING_ASSIGNMENT and IN_PROGRESS; 2 unscored items in VALIDATING.
 */

export const NOW = Date.parse('2026-11-20T12:00:00.000Z');
const MINUTE = 60_000;

interface Group {
  readonly queue: string;
  readonly stage: LiveStage;
  readonly count: number;
  /** Minutes in the stage of the oldest item; the others are 1 minute younger each. */
  readonly oldestMinutes: number;
  /** How many of them are past their SLA due time. */
  readonly overdue: number;
}

export const SEEDED_GROUPS: readonly Group[] = [
  { queue: 'billing', stage: 'HUMAN_REVIEW', count: 16, oldestMinutes: 192, overdue: 3 },
  { queue: 'billing', stage: 'WAITING_ASSIGNMENT', count: 2, oldestMinutes: 12, overdue: 0 },
  { queue: 'billing', stage: 'IN_PROGRESS', count: 2, oldestMinutes: 30, overdue: 0 },
  { queue: 'claims', stage: 'WAITING_ASSIGNMENT', count: 6, oldestMinutes: 45, overdue: 1 },
  { queue: 'claims', stage: 'IN_PROGRESS', count: 4, oldestMinutes: 20, overdue: 0 },
  { queue: '', stage: 'VALIDATING', count: 2, oldestMinutes: 1, overdue: 0 },
];

export function seededBacklog(): BacklogEntry[] {
  return SEEDED_GROUPS.flatMap((group) =>
    Array.from({ length: group.count }, (_, index) => ({
      itemId: `${group.queue || 'unscored'}-${group.stage.toLowerCase()}-${index + 1}`,
      stage: group.stage,
      queue: group.queue,
      stageEnteredAt: NOW - (group.oldestMinutes - index) * MINUTE,
      slaDueAt: group.queue === '' ? 0 : index < group.overdue ? NOW - MINUTE : NOW + 60 * MINUTE,
    })),
  );
}
