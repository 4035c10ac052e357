import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  EventEnvelope,
  ItemId,
  isInboundDetailType,
  MAX_DETAIL_BYTES,
  unknownDetailTypeReason,
} from '../../domain/events';
import type { MetricDefinition } from '../../domain/ops/metrics';
import type { PersonalData } from '../../domain/personal-data';
import { executionName, MAX_INSTANCE_ATTEMPTS, ProcessInput } from '../../domain/process';
import { loadEnv } from '../shared/env';
import { liveAuditLog, liveEventPublisher, liveExecutionControl } from '../shared/live-ports';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import {
  type AuditLog,
  type Clock,
  type EventPublisher,
  type ExecutionControl,
  type StartOutcome,
  systemClock,
} from '../shared/ports';
import {
  builtWithPseudonymKey,
  type Pseudonymiser,
  personalDataFromEnv,
  pseudonymiseForValidation,
  pseudonymiseInputs,
} from '../shared/pseudonymise';
import { recordRejection } from '../shared/rejection';
import { processBatch } from '../shared/sqs-batch';
import { auditExpiresAt, auditRecord } from '../shared/table-layout';

const FUNCTION = 'intake';

const START_LOG: Readonly<Record<StartOutcome, string>> = {
  started: 'execution started',
  redelivered: 'redelivery of the event that started the execution; RECEIVED ensured',
  duplicate: 'duplicate event ignored',
};
const START_METRIC: Readonly<Record<StartOutcome, MetricDefinition>> = {
  started: METRICS.itemsStarted,
  redelivered: METRICS.redeliveredEvents,
  duplicate: METRICS.duplicateEvents,
};
const ACTOR = `flowtune:${FUNCTION}`;

export interface IntakeDeps {
  readonly executions: ExecutionControl;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly pseudonymise: Pseudonymiser;
  /** What in a detail is personal data. @default DEFAULT_PERSONAL_DATA */
  readonly personalData?: PersonalData;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export type IntakeHandler = (event: SQSEvent, context?: InvocationContext) => Promise<SQSBatchResponse>;

/** What happened to one queued event; logged and counted. */
export type IntakeOutcome = StartOutcome | 'rejected';

interface Received {
  readonly eventId: string;
  /** Event time (ms): the envelope's `time`, else when SQS got it, else now. */
  readonly at: number;
}

/**
 * Drains the intake queue: one process-instance execution per WorkItemCreated, named by the item
 * id so a duplicate event cannot start a second one. Bad input never throws: it is recorded
 * (audit REJECTED) and announced (WorkItemRejected) with the field to fix. Only transient
 * failures are reported back to SQS for redelivery.
 *
 * @example
 * const handler = createIntakeHandler({ executions, audit, events, pseudonymise });
 * const { batchItemFailures } = await handler(sqsEvent);
 */
export function createIntakeHandler(deps: IntakeDeps): IntakeHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  const reject = async (
    log: Logger,
    received: Received,
    detailType: string,
    receivedId: unknown,
    problem: { field: string; reason: string; issues?: readonly { field: string; reason: string }[] },
    inputs: unknown,
  ): Promise<IntakeOutcome> => {
    const auditItemId = await recordRejection(deps, {
      receivedId,
      eventId: received.eventId,
      detailType,
      field: problem.field,
      reason: problem.reason,
      issues: problem.issues ?? [{ field: problem.field, reason: problem.reason }],
      inputs,
      actor: ACTOR,
      at: received.at,
    });
    log.warn('event rejected', { auditItemId, detailType, field: problem.field, reason: problem.reason });
    emitMetric(metrics, METRICS.eventsRejected, 1);
    return 'rejected';
  };

  /**
   * Starts the item's execution. The first attempt is named by the item id, so a duplicate event
   * cannot start a second one. When an execution of that name exists: a running one, or an ended
   * one that this very event (same event id, or the same detail) started, makes this a duplicate;
   * an ended one started by another creation (a corrected resend after a rejection, or a new
   * request after the item ended) moves on to the next attempt, `<id>.<n>`.
   */
  const startAttempt = async (
    itemId: string,
    input: ProcessInput,
  ): Promise<{ outcome: StartOutcome; attempt?: number; name?: string }> => {
    for (let attempt = 1; attempt <= MAX_INSTANCE_ATTEMPTS; attempt++) {
      const name = executionName(itemId, attempt);
      const outcome = await deps.executions.startExecution(name, input);
      if (outcome !== 'duplicate') return { outcome, attempt, name };
      const existing = await deps.executions.describeExecution(name);
      if (existing === undefined) return { outcome, attempt, name };
      const sameCreation =
        existing.eventId === input.eventId || isDeepStrictEqual(existing.detail, input.detail);
      if (existing.status === 'running' || sameCreation) return { outcome, attempt, name };
    }
    return { outcome: 'duplicate' };
  };

  const handleRecord = async (record: SQSRecord): Promise<IntakeOutcome> => {
    // Records run concurrently: each gets its own logger so correlation ids never mix.
    const log = logger.createChild();
    log.appendKeys({ messageId: record.messageId });
    const received = receivedFrom(record, undefined, clock);
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch (error) {
      const reason = `message body is not JSON (${error instanceof Error ? error.message : 'parse error'})`;
      return reject(
        log,
        received,
        '(unknown)',
        undefined,
        { field: '(event)', reason },
        record.body.slice(0, 2048),
      );
    }
    const envelope = EventEnvelope.safeParse(body);
    if (!envelope.success) {
      const issue = envelope.error.issues[0];
      const field = issue?.path.map(String).join('.') || '(event)';
      const reason = `not an EventBridge event: ${field} ${issue?.message ?? 'is invalid'}`;
      return reject(log, received, '(unknown)', undefined, { field, reason }, body);
    }
    const event = envelope.data;
    const at = receivedFrom(record, event, clock);
    const detail = event.detail;
    const receivedId = isRecord(detail) ? detail.id : undefined;
    const detailType = event['detail-type'];

    if (detailType !== 'WorkItemCreated') {
      const reason = isInboundDetailType(detailType)
        ? `"${detailType}" is not a new work item; it belongs to another rule and was delivered to intake by mistake`
        : unknownDetailTypeReason(detailType);
      return reject(log, at, detailType, receivedId, { field: 'detail-type', reason }, event);
    }

    const id = ItemId.safeParse(receivedId);
    if (!id.success) {
      const reason =
        receivedId === undefined
          ? 'is required: the producer\'s id of the work item (1-80 of letters, digits, "-" or "_")'
          : (id.error.issues[0]?.message ?? 'is invalid');
      return reject(log, at, detailType, receivedId, { field: 'id', reason }, event);
    }

    const itemId = id.data;
    log.appendKeys({ correlationId: itemId, itemId });
    // Refused here, not by Validate: an oversized detail would not fit in the execution's input
    // (256 KB) and would fail StartExecution until it was dead-lettered, with no reason recorded.
    const size = JSON.stringify(detail ?? null).length;
    if (size > MAX_DETAIL_BYTES) {
      const reason = `detail is ${size} bytes; the limit is ${MAX_DETAIL_BYTES}. Move large content out of the event and send a reference.`;
      return reject(log, at, detailType, itemId, { field: '(detail)', reason }, { id: itemId, bytes: size });
    }
    // Personal identifiers are replaced before the execution starts: its input and history are
    // kept by Step Functions, and no later step needs the raw value (pseudonymising is idempotent,
    // so Validate derives the same customerRef, and it reaches the same verdict).
    const base = {
      itemId,
      detailType: 'WorkItemCreated' as const,
      source: event.source,
      eventId: at.eventId,
      receivedAt: new Date(at.at).toISOString(),
      detail: pseudonymiseForValidation(detail, deps.pseudonymise, deps.personalData),
      auditExpiresAt: String(auditExpiresAt(at.at)),
      routing: { attempt: 1 as const, excludedAgents: [] },
    };
    const input = ProcessInput.parse(base);
    const { outcome, attempt, name } = await startAttempt(itemId, input);
    const pseudonymisedDetail = pseudonymiseInputs(detail, deps.pseudonymise, deps.personalData);
    // A redelivery of the event that started the execution writes RECEIVED again: the same key,
    // so a no-op, unless the first delivery's write failed (completions and cancellations that
    // race Score rely on it).
    const kind = outcome === 'duplicate' ? 'DUPLICATE' : 'RECEIVED';
    await deps.audit.append(
      auditRecord({
        itemId,
        kind,
        at: at.at,
        eventId: at.eventId,
        actor: ACTOR,
        inputs: pseudonymisedDetail,
        details: {
          eventId: at.eventId,
          source: event.source,
          ...(kind === 'DUPLICATE'
            ? {
                note:
                  attempt === undefined
                    ? `item ${itemId} already had ${MAX_INSTANCE_ATTEMPTS} executions; nothing started`
                    : 'the same item is still in progress, or this very creation was already handled; nothing started',
              }
            : { instanceAttempt: attempt, execution: name }),
          ...(kind === 'RECEIVED' && attempt !== undefined && attempt > 1
            ? {
                note: `attempt ${attempt}: the item's previous execution had ended (rejected, completed or cancelled)`,
              }
            : {}),
        },
      }),
    );
    log.info(START_LOG[outcome], { eventId: at.eventId, source: event.source });
    emitMetric(metrics, START_METRIC[outcome], 1);
    return outcome;
  };

  return (event, context) =>
    withInvocation(telemetry, context, () =>
      processBatch(
        event.Records,
        {
          fifo: false,
          onFailure: (record, error) => {
            logger.error('intake record failed; SQS will redeliver it', {
              messageId: record.messageId,
              error,
            });
            emitMetric(metrics, METRICS.intakeFailures, 1);
          },
        },
        async (record) => {
          await handleRecord(record);
        },
      ),
    );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function receivedFrom(record: SQSRecord, event: EventEnvelope | undefined, clock: Clock): Received {
  const eventTime = event?.time === undefined ? Number.NaN : Date.parse(event.time);
  const sentTime = Number(record.attributes?.SentTimestamp);
  const at = Number.isFinite(eventTime) ? eventTime : Number.isFinite(sentTime) ? sentTime : clock.now();
  return { eventId: event?.id ?? record.messageId, at };
}

/** AWS resources this function uses (names in ENV). */
const resourceEnv = ['stateMachineArn', 'auditTable', 'eventBusName'] as const;
/**
 * Everything the CDK wiring must provide. PSEUDONYM_KEY is checked by the pseudonymiser itself,
 * which accepts the local key only off Lambda.
 */
export const requiredEnv = [...resourceEnv, 'pseudonymKeySecretId'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: IntakeHandler = builtWithPseudonymKey(FUNCTION, (pseudonymise) => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, resourceEnv);
  return createIntakeHandler({
    executions: liveExecutionControl(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    events: liveEventPublisher(env, telemetry.tracer),
    pseudonymise,
    personalData: personalDataFromEnv(),
    telemetry,
  });
});
