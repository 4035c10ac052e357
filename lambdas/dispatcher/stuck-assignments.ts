import type { Logger } from '@aws-lambda-powertools/logger';
import type { AuditLog, FeatureStore, InstanceStore } from '../shared/ports';
import { auditRecord } from '../shared/table-layout';

/**
 * How long an item may sit ASSIGNED before the dispatcher treats its assignment as lost. After
 * a successful resume the execution parks for completion (moving the item to IN_PROGRESS) within
 * seconds; an item still ASSIGNED long after is one whose resume failed and whose undo failed
 * too. Far above the park's latency, far below the assignment wait's own timeout.
 */
export const STUCK_ASSIGNMENT_MS = 5 * 60_000;

/** Most stuck assignments one round recovers (the oldest first); the rest go next round. */
const MAX_RECOVERED_PER_ROUND = 25;

export interface StuckAssignmentDeps {
  readonly instances: InstanceStore;
  readonly features: FeatureStore;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly actor: string;
}

/**
 * Undoes claims whose resume never reached the execution: each item ASSIGNED for longer than
 * `olderThanMs` goes back to WAITING_ASSIGNMENT with its assignment token and the agent's slot
 * is freed, in one conditional transaction (revertClaim), so the round can assign it again. If
 * the execution did get the first assignment after all, the next resume finds its token stale
 * and releases the new slot: nothing is assigned twice and no slot leaks.
 *
 * @returns how many assignments were recovered
 */
export async function recoverStuckAssignments(
  deps: StuckAssignmentDeps,
  now: number,
  olderThanMs: number,
): Promise<number> {
  const assigned = await deps.instances.listByStage('ASSIGNED', MAX_RECOVERED_PER_ROUND);
  let recovered = 0;
  for (const record of assigned) {
    if (now - record.stageEnteredAt < olderThanMs) break;
    const { capacityHeldBy: agentId, lastAssignmentToken: taskToken } = record;
    if (agentId === undefined || taskToken === undefined) continue;
    const outcome = await deps.features.revertClaim({ agentId, itemId: record.itemId, taskToken, at: now });
    if (outcome !== 'reverted') continue;
    recovered++;
    deps.logger.warn('assignment never confirmed by the execution; claim undone, item waits again', {
      itemId: record.itemId,
      agentId,
      assignedFor: now - record.stageEnteredAt,
    });
    await deps.audit.append(
      auditRecord({
        itemId: record.itemId,
        kind: 'ASSIGNMENT_RECOVERED',
        at: now,
        attempt: record.attempt,
        actor: deps.actor,
        details: {
          agentId,
          note: 'the assignment was never confirmed by the execution; the claim was undone and the item waits again',
        },
      }),
    );
  }
  return recovered;
}
