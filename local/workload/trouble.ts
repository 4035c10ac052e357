import type { DemoKpis } from './kpis';
import type { SessionResult } from './session';

/**
 * What the producers, the workforce system and the agents sent wrong on purpose, next to what
 * the system recorded doing about it. Pure over a session result.
 */

export interface TroubleRow {
  readonly what: string;
  readonly sent: number;
  readonly handled: number;
  readonly how: string;
}

export function troubleRows(
  result: Pick<SessionResult, 'plan' | 'log' | 'outcomes' | 'audit' | 'rejections' | 'agentsAtEnd'>,
  kpis: DemoKpis,
): TroubleRow[] {
  const { plan, log, outcomes, audit, rejections, agentsAtEnd } = result;
  const counts = log.counts;
  const malformed = outcomes.filter((outcome) => outcome.plannedFate === 'malformed');
  const malformedRejected = malformed.filter((outcome) => outcome.final === 'rejected').length;
  const earlyIds = new Set(plan.items.filter((item) => item.earlyCompletion).map((item) => item.itemId));
  const earlyCompleted = outcomes.filter(
    (outcome) => earlyIds.has(outcome.itemId) && outcome.final === 'completed',
  ).length;
  const strays = new Set(plan.strayCompletions);
  const strayRejected = rejections.filter(
    (rejection) => rejection.detailType === 'WorkItemCompleted' && strays.has(rejection.id),
  ).length;
  const neverPlanned = plan.items.filter((item) => item.fate === 'never-completes');
  const neverEscalated = outcomes.filter(
    (outcome) =>
      outcome.plannedFate === 'never-completes' && outcome.escalated && outcome.final === 'exception',
  ).length;
  const cancelledPlanned = plan.items.filter((item) => item.fate === 'cancelled').length;
  const cancelledSettled = outcomes.filter(
    (outcome) =>
      outcome.plannedFate === 'cancelled' && (outcome.final === 'cancelled' || outcome.final === 'completed'),
  ).length;
  let statusAudits = 0;
  for (const trail of audit.values())
    statusAudits += trail.filter((record) => record.kind === 'AGENT_STATUS_CHANGED').length;
  const leavers = plan.agents.filter((agent) => agent.offlineAt !== undefined);
  const leaversOffline = leavers.filter(
    (agent) => agentsAtEnd.find((state) => state.agentId === agent.agentId)?.status === 'offline',
  ).length;
  const atOnce = new Set(plan.items.filter((item) => item.cancelAfter === 0).map((item) => item.itemId));
  const atOnceSettled = outcomes.filter(
    (outcome) =>
      atOnce.has(outcome.itemId) && (outcome.final === 'cancelled' || outcome.final === 'completed'),
  ).length;
  const resendIds = plan.items.filter((item) => item.resendAfterReject === true).map((item) => item.itemId);
  const resendsAccepted = resendIds.filter(
    (itemId) => (audit.get(itemId) ?? []).filter((record) => record.kind === 'RECEIVED').length >= 2,
  ).length;
  const farFutureRefused = rejections.filter(
    (rejection) => rejection.detailType === 'AgentStatusChanged' && rejection.field === 'changedAt',
  ).length;
  return [
    {
      what: 'WorkItemCancelled in the same instant as its creation (overtaking it)',
      sent: counts.cancellationsAtOnceSent,
      handled: atOnceSettled,
      how: 'kept on a bare record until the item is registered, then applied: the execution ends in Cancelled',
    },
    {
      what: 'corrected WorkItemCreated after a rejection',
      sent: counts.resendsAfterRejectSent,
      handled: resendsAccepted,
      how: 'a new attempt (execution <id>.2), RECEIVED and routed, not swallowed as DUPLICATE',
    },
    {
      what: 'AgentStatusChanged stamped 9999-12-31',
      sent: counts.farFutureStatusesSent,
      handled: farFutureRefused,
      how: 'refused naming changedAt; the agent keeps taking later updates',
    },
    {
      what: 'duplicate WorkItemCreated',
      sent: counts.duplicateCreatedSent,
      handled: kpis.duplicatesIgnored.created,
      how: 'execution name = item id: recorded DUPLICATE, nothing started',
    },
    {
      what: 'malformed WorkItemCreated',
      sent: counts.malformedSent,
      handled: malformedRejected,
      how: 'rejected with the field named (WorkItemRejected + REJECTED audit)',
    },
    {
      what: 'duplicate WorkItemCompleted',
      sent: counts.duplicateCompletionsSent,
      handled: kpis.duplicatesIgnored.completions,
      how: 'completion token taken once: DUPLICATE_COMPLETION, nothing resumed twice',
    },
    {
      what: 'completion racing the wait (out of order)',
      sent: counts.earlyCompletionsSent,
      handled: earlyCompleted,
      how: `completed exactly once; ${kpis.earlyCompletions} overtook the wait and were kept on the instance (EARLY_COMPLETION) until it parked`,
    },
    {
      what: 'completion for an unknown item',
      sent: counts.strayCompletionsSent,
      handled: strayRejected,
      how: 'rejected naming the id',
    },
    {
      what: 'item never completed by its agent',
      sent: neverPlanned.length,
      handled: neverEscalated,
      how: 're-routed on SLA timeout, then escalated into the human exception queue',
    },
    {
      what: 'WorkItemCancelled',
      sent: counts.cancellationsSent,
      handled: Math.min(cancelledSettled, cancelledPlanned),
      how:
        'the waiting execution ends in Cancelled (or the item had already completed)' +
        (counts.cancellationsRetried > 0
          ? `; ${counts.cancellationsRetried} re-sent after being refused as "unknown item" (it overtook the item's registration)`
          : ''),
    },
    {
      what: 'stale AgentStatusChanged replay',
      sent: counts.staleStatusReplaysSent,
      handled: Math.max(0, counts.statusChangesSent + counts.staleStatusReplaysSent - statusAudits),
      how: `older changedAt ignored: ${leaversOffline} of ${leavers.length} agents who left are still offline`,
    },
  ];
}
