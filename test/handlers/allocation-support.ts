import type { AllocationSettingsInput } from '../../domain/allocation/job';
import type { AgentState } from '../../domain/model';
import type { FeatureStore } from '../../lambdas/shared/ports';
import type { TuningStore } from '../../lambdas/shared/tuning-store';

/**
 * A small contact centre for the allocation job's tests: cards is understaffed for its demand,
 * loans has cross-skilled people to spare, and card activations (a fifth of cards' calls) are
 * cleared for automation. Shared by the handler tests (in memory) and the local-runtime test
 * (DynamoDB Local), so both exercise the same situation.
 */

export const MINUTE = 60_000;
export const QUARTER = 15 * MINUTE;
export const DAY = 86_400_000;

export const ALLOCATION_SETTINGS: AllocationSettingsInput = {
  queues: [
    {
      queueId: 'cards',
      categories: ['cards', 'card-activation'],
      requiredSkills: [{ skill: 'cards', minProficiency: 2 }],
      target: { fraction: 0.8, withinSeconds: 60 },
    },
    {
      queueId: 'loans',
      requiredSkills: [{ skill: 'loans', minProficiency: 1 }],
      target: { fraction: 0.8, withinSeconds: 120 },
    },
  ],
  policy: {
    version: 'alloc-test-1',
    intervalMinutes: 15,
    horizonMinutes: 60,
    maxMovesPerHour: 4,
    maxAutoMovesPerHour: 2,
    autoApply: 'within-guardrails',
    minStaffPerQueue: { cards: 1, loans: 2 },
    cooldownMinutes: 60,
    offload: { enabled: true, categories: ['card-activation'], maxShareOfQueue: 0.3, autoApply: true },
  },
  historyDays: 14,
};

/** Arrivals per quarter hour, every quarter of the day (a flat profile keeps the expectations readable). */
export const ARRIVALS_PER_QUARTER = { cards: 16, 'card-activation': 4, loans: 4 } as const;

/**
 * Records the arrivals of [fromMs, toMs) through the tuning store's own `record` (what the
 * observe function does for each WorkItemCreated), spread over each quarter.
 */
export async function seedArrivals(
  tuning: TuningStore,
  fromMs: number,
  toMs: number,
  perQuarter: Readonly<Record<string, number>> = ARRIVALS_PER_QUARTER,
): Promise<number> {
  let recorded = 0;
  for (let quarter = fromMs; quarter < toMs; quarter += QUARTER) {
    for (const [category, count] of Object.entries(perQuarter)) {
      for (let index = 0; index < count; index++) {
        const at = quarter + Math.floor(((index + 0.5) * QUARTER) / count);
        await tuning.record({ kind: 'arrival', at, category }, `${category}-${at}-${index}`, 60);
        recorded++;
      }
    }
  }
  return recorded;
}

export interface SeededAgent {
  readonly agentId: string;
  readonly skills: Record<string, number>;
  readonly queueId: string;
}

/** Two in cards, three in loans, and three cross-skilled people sitting in loans. */
export const ROSTER: readonly SeededAgent[] = [
  { agentId: 'card-1', skills: { cards: 3 }, queueId: 'cards' },
  { agentId: 'card-2', skills: { cards: 3 }, queueId: 'cards' },
  { agentId: 'loan-1', skills: { loans: 3 }, queueId: 'loans' },
  { agentId: 'loan-2', skills: { loans: 3 }, queueId: 'loans' },
  { agentId: 'loan-3', skills: { loans: 3 }, queueId: 'loans' },
  { agentId: 'flex-1', skills: { cards: 3, loans: 3 }, queueId: 'loans' },
  { agentId: 'flex-2', skills: { cards: 3, loans: 3 }, queueId: 'loans' },
  { agentId: 'flex-3', skills: { cards: 3, loans: 3 }, queueId: 'loans' },
];

/** Announces each agent (as AgentStatusChanged would), gives it its queue, and seeds confident handling statistics. */
export async function seedRoster(
  features: FeatureStore,
  now: number,
  roster: readonly SeededAgent[] = ROSTER,
  overrides: Partial<Pick<AgentState, 'shiftEndsAt' | 'status'>> & {
    /** Mean handling seconds of cards and loans (fewer, longer calls make the same load). */
    readonly handlingSeconds?: number;
  } = {},
): Promise<void> {
  const mean = overrides.handlingSeconds ?? 180;
  for (const member of roster) {
    await features.putAgentProfile({
      agentId: member.agentId,
      kind: 'person',
      status: overrides.status ?? 'available',
      capacity: 1,
      skills: Object.entries(member.skills).map(([skill, proficiency]) => ({ skill, proficiency })),
      shiftEndsAt: overrides.shiftEndsAt ?? now + 8 * 60 * MINUTE,
      changedAt: now - 60 * MINUTE,
    });
    await features.assignQueue(
      {
        agentId: member.agentId,
        queueId: member.queueId,
        assignedAt: now - 60 * MINUTE,
        assignedBy: 'ops:seed',
      },
      undefined,
    );
  }
  for (const category of ['cards', 'loans']) {
    await features.updateHandlingStats({ scope: 'category', category }, () => ({
      count: 500,
      mean,
      m2: 499 * mean * mean,
    }));
  }
}
