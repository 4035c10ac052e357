import { AgentId, EventEnvelope, validateDetail } from '../../domain/events';
import type { PersonalData } from '../../domain/personal-data';
import { loadEnv } from '../shared/env';
import { AGENT_OFFLINE_ERROR } from '../shared/errors';
import {
  liveAuditLog,
  liveDispatchTrigger,
  liveEventPublisher,
  liveExecutionControl,
  liveFeatureStore,
  liveInstanceStore,
} from '../shared/live-ports';
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
  type DispatchTrigger,
  type EventPublisher,
  type ExecutionControl,
  type FeatureStore,
  type InstanceStore,
  type PutAgentOutcome,
  systemClock,
} from '../shared/ports';
import {
  builtWithPseudonymKey,
  type Pseudonymiser,
  personalDataFromEnv,
  withPseudonymisedDetail,
} from '../shared/pseudonymise';
import { recordRejection } from '../shared/rejection';
import { auditRecord } from '../shared/table-layout';

const FUNCTION = 'agent-status';
const ACTOR = `flowtune:${FUNCTION}`;

/** Audit item id of an agent's trail: `#` never occurs in item ids, so it cannot clash with one. */
export const agentAuditId = (agentId: string) => `agent#${agentId}`;

export interface AgentStatusDeps {
  readonly features: FeatureStore;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly dispatch: DispatchTrigger;
  readonly pseudonymise: Pseudonymiser;
  /** What in a detail is personal data. @default DEFAULT_PERSONAL_DATA */
  readonly personalData?: PersonalData;
  /**
   * Where an agent who goes offline has work waiting for their completion, and how that wait is
   * ended (for a re-route). Without them, such work stays with the agent until its window closes.
   */
  readonly instances?: InstanceStore;
  readonly executions?: ExecutionControl;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export interface AgentStatusResponse {
  /** created / updated: stored and a round triggered; stale: an older or repeated change, ignored. */
  readonly status: PutAgentOutcome | 'rejected';
  readonly agentId?: string;
}

export { AGENT_OFFLINE_ERROR };

export type AgentStatusHandler = (
  event: unknown,
  context?: InvocationContext,
) => Promise<AgentStatusResponse>;

/**
 * AgentStatusChanged → the agent's profile in the Features table (status, capacity, skills,
 * shift; activeCount untouched, idleSince restarted when the agent turns available) → a dispatch
 * round, since capacity may have appeared. Invalid events are recorded and announced.
 *
 * @example
 * await handler({ 'detail-type': 'AgentStatusChanged', source: 'workforce', detail: { agentId: 'a-7', ... } });
 */
export function createAgentStatusHandler(deps: AgentStatusDeps): AgentStatusHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  /**
   * The agent went offline: every item waiting for their completion is released. Its wait is
   * failed with AgentWentOffline, so the process frees the slot and re-routes it per the policy
   * (Plan Re-route: another agent while re-routes and time remain, else escalation). A completion
   * that wins the race took the token first and this failure is stale, harmless.
   */
  const releaseHeldWork = async (agentId: string, changedAt: number, eventId: string) => {
    if (deps.instances === undefined || deps.executions === undefined) return;
    const held = (await deps.instances.listByStage('IN_PROGRESS')).filter(
      (record) =>
        record.assignee === agentId && record.waitingFor === 'completion' && record.taskToken !== undefined,
    );
    for (const record of held) {
      const cause = JSON.stringify({ agentId, offlineAt: new Date(changedAt).toISOString() });
      const outcome = await deps.executions.sendTaskFailure(
        record.taskToken as string,
        AGENT_OFFLINE_ERROR,
        cause,
      );
      await deps.audit.append(
        auditRecord({
          itemId: record.itemId,
          kind: 'RELEASED_AGENT_OFFLINE',
          at: changedAt,
          attempt: record.attempt,
          eventId,
          actor: ACTOR,
          details: {
            agentId,
            resumed: outcome,
            note:
              outcome === 'sent'
                ? 'the assignee went offline: the completion wait was ended; the item is re-routed per the policy (or escalated)'
                : 'the assignee went offline, but the wait had already moved on',
          },
        }),
      );
    }
    if (held.length > 0) logger.info('offline agent released held work', { agentId, released: held.length });
  };

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const now = clock.now();
      // Pseudonymised before anything reads it (an agent id that is an email address too).
      const pseudonymised = withPseudonymisedDetail(event, deps.pseudonymise, deps.personalData);
      const envelope = EventEnvelope.safeParse(pseudonymised);
      const detail = envelope.success ? envelope.data.detail : pseudonymised;
      const detailType = envelope.success ? envelope.data['detail-type'] : '(unknown)';
      const eventId =
        envelope.success && envelope.data.id !== undefined ? envelope.data.id : `agent-${now.toString(36)}`;
      const eventTime =
        envelope.success && envelope.data.time !== undefined ? Date.parse(envelope.data.time) : Number.NaN;
      const at = Number.isFinite(eventTime) ? eventTime : now;
      const receivedId =
        typeof detail === 'object' && detail !== null ? (detail as { agentId?: unknown }).agentId : undefined;

      const reject = async (field: string, reason: string, issues = [{ field, reason }]) => {
        await recordRejection(deps, {
          receivedId,
          eventId,
          detailType,
          field,
          reason,
          issues,
          inputs: detail,
          actor: ACTOR,
          at,
          idSchema: AgentId,
          auditItemId: agentAuditId,
        });
        emitMetric(metrics, METRICS.agentEventsRejected, 1);
        logger.warn('agent status event rejected', { field, reason });
        return { status: 'rejected' as const };
      };

      if (!envelope.success) return reject('(event)', 'not an EventBridge event');
      if (detailType !== 'AgentStatusChanged') {
        return reject('detail-type', `"${detailType}" is not an AgentStatusChanged event`);
      }
      const validation = validateDetail('AgentStatusChanged', detail, { now });
      if (!validation.ok) return reject(validation.field, validation.reason, validation.issues);

      const change = validation.value;
      logger.appendKeys({ agentId: change.agentId });
      const changedAt = Date.parse(change.changedAt);
      const outcome = await deps.features.putAgentProfile({
        agentId: change.agentId,
        kind: change.kind,
        status: change.status,
        capacity: change.capacity,
        skills: change.skills,
        ...(change.shiftEndsAt === undefined ? {} : { shiftEndsAt: Date.parse(change.shiftEndsAt) }),
        changedAt,
      });
      if (outcome === 'stale') {
        // Not applied, but answered: every event leaves a record (keyed by its id, so a redelivery
        // of the same event writes the same record).
        await deps.audit.append(
          auditRecord({
            itemId: agentAuditId(change.agentId),
            kind: 'AGENT_STATUS_STALE',
            at: changedAt,
            eventId,
            actor: ACTOR,
            inputs: change,
            details: {
              outcome,
              eventId,
              source: envelope.data.source,
              note: 'no newer than the stored change for this agent (a replay or an overtaken change); not applied',
            },
          }),
        );
        logger.info('agent status change older than the stored one; recorded, not applied');
        emitMetric(metrics, METRICS.staleAgentEvents, 1);
        return { status: outcome, agentId: change.agentId };
      }
      await deps.audit.append(
        auditRecord({
          itemId: agentAuditId(change.agentId),
          kind: 'AGENT_STATUS_CHANGED',
          at: changedAt,
          eventId,
          actor: ACTOR,
          inputs: change,
          details: { outcome, eventId, source: envelope.data.source },
        }),
      );
      if (change.status === 'offline') await releaseHeldWork(change.agentId, changedAt, eventId);
      await deps.dispatch.tick(`agent-status:${change.agentId}:${change.status}`, now);
      emitMetric(metrics, METRICS.agentStatusChanges, 1);
      logger.info('agent profile stored; dispatch round requested', { status: change.status, outcome });
      return { status: outcome, agentId: change.agentId };
    });
}

/** AWS resources this function uses (names in ENV). */
const resourceEnv = [
  'featuresTable',
  'instancesTable',
  'auditTable',
  'eventBusName',
  'dispatchQueueUrl',
] as const;
/**
 * Everything the CDK wiring must provide. PSEUDONYM_KEY is checked by the pseudonymiser itself,
 * which accepts the local key only off Lambda.
 */
export const requiredEnv = [...resourceEnv, 'pseudonymKeySecretId'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: AgentStatusHandler = builtWithPseudonymKey(FUNCTION, (pseudonymise) => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, resourceEnv);
  return createAgentStatusHandler({
    features: liveFeatureStore(env, telemetry.tracer),
    audit: liveAuditLog(env, telemetry.tracer),
    events: liveEventPublisher(env, telemetry.tracer),
    dispatch: liveDispatchTrigger(env, telemetry.tracer),
    instances: liveInstanceStore(env, telemetry.tracer),
    executions: liveExecutionControl({}, telemetry.tracer),
    pseudonymise,
    personalData: personalDataFromEnv(),
    telemetry,
  });
});
