import {
  EventEnvelope,
  validateDetail,
  type WorkItemCancelled,
  type WorkItemCompleted,
} from '../../domain/events';
import type { PersonalData } from '../../domain/personal-data';
import type { CompletionResult } from '../../domain/process';
import { loadEnv } from '../shared/env';
import { TransientFailureError } from '../shared/errors';
import {
  liveAuditLog,
  liveEventPublisher,
  liveExecutionControl,
  liveInstanceStore,
} from '../shared/live-ports';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  correlate,
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import {
  type AuditKind,
  type AuditLog,
  type Clock,
  type EventPublisher,
  type ExecutionControl,
  type InstanceRecord,
  type InstanceStore,
  systemClock,
} from '../shared/ports';
import {
  builtWithPseudonymKey,
  type Pseudonymiser,
  personalDataFromEnv,
  pseudonymiseInputs,
  withPseudonymisedDetail,
} from '../shared/pseudonymise';
import { creationVerdict, recordRejection } from '../shared/rejection';
import { auditRecord } from '../shared/table-layout';

const FUNCTION = 'completion';
const ACTOR = `flowtune:${FUNCTION}`;

/** Error name the waiting execution's Catch matches when its item is cancelled. */
export const CANCELLED_ERROR = 'WorkItemCancelled';

export interface CompletionDeps {
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly executions: ExecutionControl;
  readonly pseudonymise: Pseudonymiser;
  /** What in a detail is personal data. @default DEFAULT_PERSONAL_DATA */
  readonly personalData?: PersonalData;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

/**
 * resumed: the completion wait got the completion; early: kept until the execution parks for it;
 * late: the item was cancelled, or its wait had timed out (kept for the next wait);
 * duplicate: this item's completion was already handled; cancelled: the wait holding the token
 * (if any) was failed with WorkItemCancelled; rejected: invalid or unknown, recorded and announced.
 */
export type CompletionStatus = 'resumed' | 'early' | 'late' | 'duplicate' | 'cancelled' | 'rejected';

export interface CompletionResponse {
  readonly status: CompletionStatus;
  readonly itemId?: string;
}

/** An EventBridge event as a Lambda target receives it. */
export type CompletionHandler = (event: unknown, context?: InvocationContext) => Promise<CompletionResponse>;

const MAX_ATTEMPTS = 4;

/**
 * How long a hand-over belongs to the delivery that took the token: within it, another event's
 * delivery (a concurrent duplicate) leaves the send to the taker instead of racing it (the loser
 * of that race would find its wait gone and keep the completion as late). After it, or for the
 * taker's own redelivery, the hand-over is stalled and any delivery sends it again.
 */
export const HANDOVER_LEASE_MS = 30_000;

/**
 * WorkItemCompleted / WorkItemCancelled from the bus → the waiting execution, exactly once.
 * A completion takes the completion wait's token and records itself as a pending hand-over in one
 * conditional write before resuming, so a duplicate finds nothing new to resume, and a resume
 * lost to a fault is sent again by the next delivery; one that overtakes the park is stored on
 * the instance and handed over when the park comes. A cancellation fails whichever wait holds the token with
 * WorkItemCancelled (or marks the item so the next wait fails at once).
 *
 * @example
 * await handler({ 'detail-type': 'WorkItemCompleted', source: 'helpdesk', detail: { id: 'T-1', ... } });
 */
export function createCompletionHandler(deps: CompletionDeps): CompletionHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  const audit = (
    itemId: string,
    kind: AuditKind,
    at: number,
    inputs: unknown,
    details: { readonly eventId?: string } & Record<string, unknown>,
  ) =>
    deps.audit.append(
      auditRecord({
        itemId,
        kind,
        at,
        ...(details.eventId === undefined ? {} : { eventId: details.eventId }),
        actor: ACTOR,
        inputs: pseudonymiseInputs(inputs, deps.pseudonymise, deps.personalData),
        details,
      }),
    );

  const done = (status: CompletionStatus, itemId?: string): CompletionResponse => {
    emitMetric(metrics, METRICS.completionEvents, 1, { status });
    logger.info('completion event handled', { status });
    return itemId === undefined ? { status } : { status, itemId };
  };

  /**
   * True unless the item's latest creation was refused. A finish event for an item with no
   * instance record is kept for its creation: that creation may still wait in the intake queue
   * (finish events go straight to this function), or the intake started it and Score has not
   * registered it yet. Only an item whose trail ends in a refused creation (a REJECTED record of a
   * WorkItemCreated, with no RECEIVED after it) is unknown, and the finish event is rejected.
   */
  const creationPending = async (itemId: string): Promise<boolean> =>
    creationVerdict(await deps.audit.listForItem(itemId)) !== 'refused';

  const unknownItem = async (
    eventId: string,
    detailType: string,
    id: string,
    detail: unknown,
    at: number,
  ) => {
    await recordRejection(deps, {
      receivedId: id,
      eventId,
      detailType,
      field: 'id',
      reason: `no work item "${id}" is known to Flowtune (never created, rejected, or expired)`,
      issues: [{ field: 'id', reason: 'unknown work item' }],
      inputs: detail,
      actor: ACTOR,
      at,
    });
    return done('rejected', id);
  };

  /**
   * Sends a taken completion to its wait. A failure leaves the pending handover in place for the
   * next delivery (or the next park) to send again; undefined means the record moved on under us.
   */
  const handOver = async (
    itemId: string,
    eventId: string,
    taskToken: string,
    completion: WorkItemCompleted | CompletionResult,
    at: number,
    how: { readonly redelivered: boolean },
  ): Promise<CompletionResponse | undefined> => {
    const outcome = await deps.executions.sendTaskSuccess(taskToken, completion);
    if (outcome === 'sent') {
      await deps.instances.confirmHandover(itemId, taskToken);
      await audit(itemId, 'COMPLETION_RECEIVED', at, completion, {
        eventId,
        resumed: true,
        ...(how.redelivered ? { note: 'an unconfirmed hand-over, sent again' } : {}),
      });
      return done('resumed', itemId);
    }
    if (how.redelivered) {
      // An earlier send of this hand-over reached the wait (its confirmation may still be on the
      // way), or the wait timed out: then the pending hand-over stays for the next park to deliver.
      await audit(itemId, 'DUPLICATE_COMPLETION', at, completion, {
        eventId,
        note: 'its hand-over was already delivered or is kept for the next completion wait',
      });
      return done('duplicate', itemId);
    }
    // The wait is gone: its window had just closed (re-route under way). The completion is kept
    // for the next completion wait.
    const kept = await deps.instances.storeEarlyCompletion(itemId, completion, { replacesReceived: true });
    if (!kept.ok) return undefined;
    await audit(itemId, 'LATE_COMPLETION', at, completion, {
      eventId,
      note: 'the completion window had closed; kept for the next completion wait',
    });
    return done('late', itemId);
  };

  const completed = async (
    eventId: string,
    completion: WorkItemCompleted,
    at: number,
  ): Promise<CompletionResponse> => {
    const itemId = completion.id;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = clock.now();
      const current = await deps.instances.get(itemId);
      if (current === undefined) {
        if (!(await creationPending(itemId))) {
          return unknownItem(eventId, 'WorkItemCompleted', itemId, completion, at);
        }
        const kept = await deps.instances.recordBeforeRegistration(itemId, now, { completion });
        if (!kept.ok) continue;
        await audit(itemId, 'EARLY_COMPLETION', at, completion, {
          eventId,
          note: 'arrived before the item was registered (its creation may still be queued); handed over when it parks',
        });
        return done('early', itemId);
      }
      if (isCancelled(current)) {
        await audit(itemId, 'LATE_COMPLETION', at, completion, {
          eventId,
          note: 'the item was already cancelled',
        });
        return done('late', itemId);
      }
      if (current.pendingHandover !== undefined && current.stage !== 'COMPLETED') {
        const taker = current.pendingHandover.eventId;
        if (
          taker !== undefined &&
          taker !== eventId &&
          now - current.pendingHandover.since < HANDOVER_LEASE_MS
        ) {
          // Another delivery took the token a moment ago and is sending it now.
          await audit(itemId, 'DUPLICATE_COMPLETION', at, completion, {
            eventId,
            note: `its hand-over is being delivered by event ${taker}`,
          });
          return done('duplicate', itemId);
        }
        // A completion was taken for a wait but its resume was never confirmed (the send or its
        // reply was lost): this delivery, the taker's own or a later one, sends it again.
        const { taskToken, completion: pending } = current.pendingHandover;
        const outcome = await handOver(itemId, eventId, taskToken, pending, at, { redelivered: true });
        if (outcome !== undefined) return outcome;
        continue;
      }
      if (isAlreadyCompleted(current)) {
        await audit(itemId, 'DUPLICATE_COMPLETION', at, completion, { eventId, stage: current.stage });
        return done('duplicate', itemId);
      }
      if (current.taskToken !== undefined && current.waitingFor === 'completion') {
        const token = current.taskToken;
        const taken = await deps.instances.takeCompletionToken(itemId, token, now, completion, eventId);
        if (!taken.ok) continue;
        const outcome = await handOver(itemId, eventId, token, completion, at, { redelivered: false });
        if (outcome !== undefined) return outcome;
        continue;
      }
      const stored = await deps.instances.storeEarlyCompletion(itemId, completion);
      if (stored.ok) {
        await audit(itemId, 'EARLY_COMPLETION', at, completion, {
          eventId,
          stage: current.stage,
          note: 'arrived before the execution waited for it; handed over when it parks',
        });
        return done('early', itemId);
      }
    }
    throw new TransientFailureError(`item ${itemId} kept changing while its completion was applied`);
  };

  const cancelled = async (
    eventId: string,
    cancellation: WorkItemCancelled,
    at: number,
  ): Promise<CompletionResponse> => {
    const itemId = cancellation.id;
    const details = { reason: cancellation.reason, cancelledAt: cancellation.cancelledAt };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = clock.now();
      const current = await deps.instances.get(itemId);
      if (current === undefined) {
        if (!(await creationPending(itemId))) {
          return unknownItem(eventId, 'WorkItemCancelled', itemId, cancellation, at);
        }
        const kept = await deps.instances.recordBeforeRegistration(itemId, now, { cancellation: details });
        if (!kept.ok) continue;
        await audit(itemId, 'CANCELLED', at, cancellation, {
          eventId,
          resumed: 'no-wait',
          note: 'arrived before the item was registered (its creation may still be queued); its first wait fails at once',
        });
        return done('cancelled', itemId);
      }
      if (isCancelled(current)) {
        await audit(itemId, 'DUPLICATE_CANCELLATION', at, cancellation, { eventId });
        return done('duplicate', itemId);
      }
      if (current.stage === 'COMPLETED' || current.stage === 'REJECTED') {
        await audit(itemId, 'LATE_CANCELLATION', at, cancellation, { eventId, stage: current.stage });
        return done('late', itemId);
      }
      // Fail the wait first: a failure is final for its token, so a retry of this event is harmless.
      const token = current.taskToken;
      const resumed =
        token === undefined
          ? 'no-wait'
          : await deps.executions.sendTaskFailure(token, CANCELLED_ERROR, JSON.stringify(details));
      const marked = await deps.instances.markCancelled(itemId, details, token, now);
      if (!marked.ok) continue;
      await audit(itemId, 'CANCELLED', at, cancellation, {
        eventId,
        waitingFor: current.waitingFor ?? null,
        stage: current.stage,
        resumed,
        ...(resumed === 'no-wait' ? { note: 'no wait held a token; the next wait fails at once' } : {}),
      });
      return done('cancelled', itemId);
    }
    throw new TransientFailureError(`item ${itemId} kept changing while it was cancelled`);
  };

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const now = clock.now();
      // Pseudonymised before anything reads it: nothing below stores, logs or emits it in clear.
      const envelope = EventEnvelope.safeParse(
        withPseudonymisedDetail(event, deps.pseudonymise, deps.personalData),
      );
      const eventId =
        envelope.success && envelope.data.id !== undefined
          ? envelope.data.id
          : `completion-${now.toString(36)}`;
      const at = eventTime(envelope.success ? envelope.data.time : undefined, now);
      if (!envelope.success) {
        await recordRejection(deps, {
          receivedId: undefined,
          eventId,
          detailType: '(unknown)',
          field: '(event)',
          reason: 'not an EventBridge event',
          issues: [{ field: '(event)', reason: 'not an EventBridge event' }],
          inputs: event,
          actor: ACTOR,
          at,
        });
        return done('rejected');
      }
      const detailType = envelope.data['detail-type'];
      const detail = envelope.data.detail;
      const receivedId =
        typeof detail === 'object' && detail !== null ? (detail as { id?: unknown }).id : undefined;
      if (detailType !== 'WorkItemCompleted' && detailType !== 'WorkItemCancelled') {
        await recordRejection(deps, {
          receivedId,
          eventId,
          detailType,
          field: 'detail-type',
          reason: `"${detailType}" is not a completion or cancellation`,
          issues: [{ field: 'detail-type', reason: 'expected WorkItemCompleted or WorkItemCancelled' }],
          inputs: detail,
          actor: ACTOR,
          at,
        });
        return done('rejected');
      }
      const validation = validateDetail(detailType, detail, { now });
      if (!validation.ok) {
        await recordRejection(deps, {
          receivedId,
          eventId,
          detailType,
          field: validation.field,
          reason: validation.reason,
          issues: validation.issues,
          inputs: detail,
          actor: ACTOR,
          at,
        });
        return done('rejected');
      }
      correlate(telemetry, validation.value.id);
      return detailType === 'WorkItemCompleted'
        ? completed(eventId, validation.value as WorkItemCompleted, at)
        : cancelled(eventId, validation.value as WorkItemCancelled, at);
    });
}

/** Cancelled, or carrying a cancellation kept before its registration (Score applies it). */
function isCancelled(record: InstanceRecord): boolean {
  return record.stage === 'CANCELLED' || record.cancellation !== undefined;
}

/** True when a completion already reached (or is held for) this item's execution. */
function isAlreadyCompleted(record: InstanceRecord): boolean {
  return (
    record.stage === 'COMPLETED' ||
    record.completionReceivedAt !== undefined ||
    record.earlyCompletion !== undefined
  );
}

function eventTime(time: string | undefined, fallback: number): number {
  const parsed = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isFinite(parsed) ? parsed : fallback;
}

/** AWS resources this function uses (names in ENV). */
const resourceEnv = ['instancesTable', 'auditTable', 'eventBusName'] as const;
/**
 * Everything the CDK wiring must provide. PSEUDONYM_KEY is checked by the pseudonymiser itself,
 * which accepts the local key only off Lambda.
 */
export const requiredEnv = [...resourceEnv, 'pseudonymKeySecretId'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: CompletionHandler = builtWithPseudonymKey(FUNCTION, (pseudonymise) => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, resourceEnv);
  return createCompletionHandler({
    instances: liveInstanceStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    events: liveEventPublisher(env, telemetry.tracer),
    executions: liveExecutionControl({}, telemetry.tracer),
    pseudonymise,
    personalData: personalDataFromEnv(),
    telemetry,
  });
});
