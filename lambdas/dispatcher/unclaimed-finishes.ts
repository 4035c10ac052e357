import type { Logger } from '@aws-lambda-powertools/logger';
import type { AuditLog, EventPublisher, InstanceRecord, InstanceStore } from '../shared/ports';
import { creationVerdict, recordRejection } from '../shared/rejection';

/**
 * How long a finish event (completion or cancellation) that arrived before its item's creation is
 * kept for that creation. Far above the intake queue's latency (seconds, minutes under a backlog),
 * and as long as a producer's clock may run ahead (TIME_BOUNDS.maxSkewMs): a creation that has not
 * come by then is taken to be missing, and the finish event is refused so its producer hears of it.
 */
export const UNCLAIMED_FINISH_MS = 15 * 60_000;

/** Most kept finish events one round answers (the oldest first); the rest go next round. */
const MAX_ANSWERED_PER_ROUND = 25;

export interface UnclaimedFinishDeps {
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly logger: Logger;
  readonly actor: string;
}

/**
 * Answers finish events whose creation never came. A completion or cancellation for an item with no
 * record yet is kept on a bare VALIDATING record (awaitingCreationSince), because its creation may
 * still wait in the intake queue; Score clears the mark when the item is registered. A mark older
 * than `olderThanMs`, on an item whose trail has no accepted creation, means the creation is
 * missing (or was refused): the finish event is refused now (audit REJECTED + WorkItemRejected
 * naming `id`) and the bare record is deleted, so a creation that does come later starts afresh.
 * The refusal is written first and keyed by the mark's time: a round that stops between the two
 * writes answers again next round under the same audit key.
 *
 * @returns how many kept finish events were refused
 */
export async function answerUnclaimedFinishes(
  deps: UnclaimedFinishDeps,
  now: number,
  olderThanMs: number,
): Promise<number> {
  // VALIDATING holds only bare records (Score moves a registered item on at once): a short list.
  const validating = await deps.instances.listByStage('VALIDATING', MAX_ANSWERED_PER_ROUND * 4);
  let answered = 0;
  for (const record of validating) {
    if (answered >= MAX_ANSWERED_PER_ROUND) break;
    const since = record.awaitingCreationSince;
    if (since === undefined || now - since < olderThanMs || record.taskToken !== undefined) continue;
    // The creation came (Score is late or failed): not unclaimed, left to the execution.
    if (creationVerdict(await deps.audit.listForItem(record.itemId)) === 'accepted') continue;
    const finish = keptFinish(record);
    await recordRejection(
      // The kept events carry no personal fields (they were validated and stored as such).
      { audit: deps.audit, events: deps.events, pseudonymise: (value) => value },
      {
        receivedId: record.itemId,
        eventId: `unclaimed-${since}`,
        detailType: finish.detailType,
        field: 'id',
        reason: `no WorkItemCreated for "${record.itemId}" arrived within ${Math.round(olderThanMs / 60_000)} minutes of its ${finish.detailType}, which was kept that long and is now refused; send the WorkItemCreated, then the ${finish.detailType} again`,
        issues: [{ field: 'id', reason: 'unknown work item (no creation arrived)' }],
        inputs: finish.inputs,
        actor: deps.actor,
        at: since,
      },
    );
    const forgotten = await deps.instances.forgetUnclaimedFinish(record.itemId, since);
    answered++;
    deps.logger.warn('finish event kept for a creation that never came; refused and forgotten', {
      itemId: record.itemId,
      detailType: finish.detailType,
      keptFor: now - since,
      forgotten: forgotten.ok,
    });
  }
  return answered;
}

function keptFinish(record: InstanceRecord): {
  readonly detailType: 'WorkItemCompleted' | 'WorkItemCancelled';
  readonly inputs: unknown;
} {
  return record.cancellation !== undefined
    ? { detailType: 'WorkItemCancelled', inputs: { id: record.itemId, ...record.cancellation } }
    : { detailType: 'WorkItemCompleted', inputs: { ...record.earlyCompletion, id: record.itemId } };
}
