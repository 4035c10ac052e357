import { localMidnight } from '../../domain/allocation/forecast';
import {
  type ActiveOffload,
  type AllocationJobState,
  type AllocationSettings,
  type ArrivalDay,
  historyStartMs,
  INITIAL_ALLOCATION_STATE,
  offloadPolicyVersion,
  planAllocation,
  policyWithAutomation,
  queueSeries,
  rollUpArrivals,
  routineWorkOf,
  scoreForecasts,
  utcDayKey,
} from '../../domain/allocation/job';
import type { StaffingRecommended } from '../../domain/events/staffing';
import type { PolicyChanged } from '../../domain/events/tuning';
import type { Policy } from '../../domain/policy';
import type { PolicyChangeKind } from '../../domain/tuning/versions';
import type { AllocationStore } from '../shared/allocation-store';
import { sharedDocumentClient } from '../shared/aws-clients';
import { DynamoDbAllocationStore } from '../shared/dynamodb-allocation-store';
import { loadEnv } from '../shared/env';
import { InvalidStoredPolicyError } from '../shared/errors';
import { builtOnFirstCall, liveAuditLog, liveEventPublisher, liveFeatureStore } from '../shared/live-ports';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import { activePolicyOrDefault } from '../shared/policy';
import { PolicyConflictError, type PolicyStore } from '../shared/policy-store';
import {
  type AuditKind,
  type AuditLog,
  type AuditRecord,
  type Clock,
  type EventPublisher,
  type FeatureStore,
  systemClock,
} from '../shared/ports';
import { auditExpiresAt } from '../shared/table-layout';
import { livePolicyStore, liveTuningStore } from '../shared/tuning-live';
import { BUCKET_RETENTION_DAYS, type TuningStore } from '../shared/tuning-store';

const FUNCTION = 'allocation';
const ACTOR = `flowtune:${FUNCTION}`;
const MINUTE = 60_000;
const DAY = 86_400_000;
/** How long after its end an interval's arrivals are taken as complete (events reach observe seconds late). */
const SETTLE_MS = 60_000;
/** Audit kinds of the job. */
const AUDIT_RUN = 'ALLOCATION_RUN' satisfies AuditKind;
const AUDIT_RECOMMENDATION = 'STAFFING_RECOMMENDED' satisfies AuditKind;

/** Another run saved the state first: this one stops before acting (the next scheduled run goes on). */
export class AllocationStateConflictError extends Error {
  override readonly name = 'AllocationStateConflictError';
}

export interface AllocationDeps {
  readonly features: FeatureStore;
  /** The observation buckets the arrival history is rolled up from; policy versions for offloads. */
  readonly tuning: TuningStore;
  /** The one way the active policy changes: offloads become versions through it (audited, PolicyChanged). */
  readonly policies: PolicyStore;
  readonly allocation: AllocationStore;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export interface AllocationRunOutput {
  readonly status: 'ran' | 'not-configured' | 'disabled' | 'insufficient-history';
  readonly runId?: string;
  /** StaffingRecommended events published. */
  readonly recommendations: number;
  readonly autoApplied: number;
  readonly awaitingApproval: number;
  /** Approved recommendations applied this run, and approvals that lapsed undecided. */
  readonly approvalsApplied: number;
  readonly approvalsExpired: number;
  /** The decision-policy version the job activated (offloads), when it changed the policy. */
  readonly policyVersion?: string;
  /** Recent one-interval-ahead forecast WAPE, all queues pooled (null when nothing arrived). */
  readonly forecastWape: number | null;
  /** Days of arrival history the forecasts learned from. */
  readonly historyDays: number;
}

export type AllocationHandler = (event: unknown, context?: InvocationContext) => Promise<AllocationRunOutput>;

const iso = (at: number) => new Date(at).toISOString();
const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

/** What became of one recommendation once the job tried to act on it. */
interface Outcome {
  readonly recommendation: StaffingRecommended;
  /** Why it did not apply as planned, when it did not. */
  readonly note?: string;
}

/**
 * Run Allocation (scheduled every interval): rolls the arrivals the tuning loop's observation
 * buckets counted up into per-interval history; reads the roster, each agent's queue, the active
 * decision policy and the allocation settings (queues and guardrails); applies moves a person
 * approved since the last run; forecasts each queue, plans its staffing and recommends moves and
 * offloads (domain/allocation); stores the moves the guardrails allow as the agents' new queues
 * and leaves the rest for approval; applies allowed offloads as a new decision-policy version (and
 * takes lapsed ones back out); publishes StaffingRecommended (and PolicyChanged) with the
 * reasoning; writes the run and each recommendation to the audit trail. One run acts at a time:
 * the state is claimed by revision first.
 *
 * @example
 * const output = await handler({});
 * output.autoApplied; // moves stored as new queue assignments
 */
export function createAllocationHandler(deps: AllocationDeps): AllocationHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;

  return (_event, context) =>
    withInvocation(telemetry, context, async () => {
      const now = clock.now();
      const idle = (status: AllocationRunOutput['status'], extra: Partial<AllocationRunOutput> = {}) => ({
        status,
        recommendations: 0,
        autoApplied: 0,
        awaitingApproval: 0,
        approvalsApplied: 0,
        approvalsExpired: 0,
        forecastWape: null,
        historyDays: 0,
        ...extra,
      });
      const settings = await deps.allocation.readSettings();
      if (settings === undefined) {
        logger.info('no allocation settings stored (pk POLICY, sk ALLOCATION): nothing to do');
        return idle('not-configured');
      }
      if (!settings.enabled) return idle('disabled');

      // Claim the run: a second run started meanwhile fails here, before it changes anything.
      const stored = await deps.allocation.readState();
      const previous = stored?.state ?? INITIAL_ALLOCATION_STATE;
      if (
        (await deps.allocation.saveState({ ...previous, lastRunAt: now }, stored?.revision)) === 'conflict'
      ) {
        throw new AllocationStateConflictError(
          `allocation state changed since revision ${stored?.revision ?? 'none'}: another run is in progress`,
        );
      }
      const revision = (stored?.revision ?? 0) + 1;
      const save = async (state: AllocationJobState, expected: number) => {
        if ((await deps.allocation.saveState(state, expected)) === 'conflict') {
          throw new AllocationStateConflictError(
            `allocation state changed under run ${now} (revision ${expected})`,
          );
        }
        return expected + 1;
      };

      const { policy } = settings;
      const intervalMs = policy.intervalMinutes * MINUTE;
      const settledUntil = Math.floor((now - SETTLE_MS) / intervalMs) * intervalMs;
      const forecastStartMs = Math.floor(now / intervalMs) * intervalMs;

      const history = await rollUpHistory(deps, settings, previous.arrivals, now, settledUntil, telemetry);
      const observedFrom = history.arrivals.observedFrom;
      const historyStart =
        observedFrom === undefined ? undefined : historyStartMs(settings, now, observedFrom);
      if (historyStart === undefined || settledUntil - historyStart < DAY) {
        await save({ ...previous, arrivals: history.arrivals, lastRunAt: now }, revision);
        logger.info('not enough arrival history yet: a forecast needs one complete local day', {
          observedFrom: observedFrom === undefined ? undefined : iso(observedFrom),
        });
        emitMetric(metrics, METRICS.allocationRunsWithoutHistory, 1);
        return idle('insufficient-history');
      }
      const series = queueSeries(settings, history.days, historyStart, settledUntil);
      const scored = scoreForecasts(
        previous.forecasts,
        (queueId, start) => series[queueId]?.counts[Math.round((start - historyStart) / intervalMs)],
        { settledUntil, intervalMinutes: policy.intervalMinutes },
      );

      const [agents, assignmentList, handling, decisionPolicy, approvals] = await Promise.all([
        deps.features.listAgents(),
        deps.features.listQueueAssignments(),
        deps.features.readHandlingFeatures(),
        activePolicyOrDefault(deps.features, telemetry),
        deps.allocation.listApprovals(['pending', 'approved']),
      ]);
      const assignments: Record<string, string> = Object.fromEntries(
        assignmentList.map((entry) => [entry.agentId, entry.queueId]),
      );

      // Decisions people made since the last run; approvals that lapsed undecided.
      const approvedOffloads: ActiveOffload[] = [];
      const approvalChanges: { recommendationId: string; status: string; note: string }[] = [];
      const planned: Record<string, string> = { ...assignments };
      for (const approval of approvals) {
        const recommendation = approval.recommendation;
        const lapsed = Date.parse(approval.validUntil) <= now;
        if (approval.status === 'pending') {
          if (lapsed) {
            const note = `nobody decided before ${approval.validUntil}`;
            await deps.allocation.transitionApproval(approval.recommendationId, 'pending', 'expired', {
              by: ACTOR,
              reason: note,
              at: now,
            });
            approvalChanges.push({ recommendationId: approval.recommendationId, status: 'expired', note });
          } else if (recommendation.kind === 'move') {
            // Counted as made, so the plan neither proposes it again nor double-counts the gap.
            planned[recommendation.agentId] = recommendation.toQueue;
          }
          continue;
        }
        const approver = approval.history.at(-1)?.by ?? 'an operator';
        if (lapsed) {
          const note = `approved by ${approver} after its horizon ended (${approval.validUntil})`;
          await deps.allocation.transitionApproval(approval.recommendationId, 'approved', 'expired', {
            by: ACTOR,
            reason: note,
            at: now,
          });
          approvalChanges.push({ recommendationId: approval.recommendationId, status: 'expired', note });
          continue;
        }
        if (recommendation.kind === 'offload') {
          approvedOffloads.push({
            queueId: recommendation.queueId,
            category: recommendation.category,
            shareOfQueue: recommendation.shareOfQueue,
            recommendationId: recommendation.recommendationId,
            appliedAt: now,
            validUntil: Date.parse(recommendation.validUntil),
          });
          continue;
        }
        const moved = await applyMove(deps.features, recommendation, approver, now);
        const applied = moved === 'assigned';
        const note = applied
          ? `moved ${recommendation.agentId} to ${recommendation.toQueue} as ${approver} approved`
          : `${recommendation.agentId} is no longer in ${recommendation.fromQueue} (${moved}): not moved`;
        await deps.allocation.transitionApproval(
          approval.recommendationId,
          'approved',
          applied ? 'applied' : 'failed',
          {
            by: ACTOR,
            reason: note,
            at: now,
          },
        );
        approvalChanges.push({
          recommendationId: approval.recommendationId,
          status: applied ? 'applied' : 'failed',
          note,
        });
        if (applied) {
          assignments[recommendation.agentId] = recommendation.toQueue;
          planned[recommendation.agentId] = recommendation.toQueue;
        }
      }

      const routineWork = routineWorkOf(
        settings,
        history.days,
        settledUntil - settings.routineShareDays * DAY,
        settledUntil,
      );
      const plan = planAllocation({
        now,
        settings,
        series,
        forecastStartMs,
        features: handling,
        agents,
        assignments: planned,
        state: { ...previous, forecasts: scored.records },
        routineWork,
        ...(scored.recentWape === undefined ? {} : { forecastWape: scored.recentWape }),
      });
      const { runId } = plan.result;

      // Act on the plan: moves within the guardrails become the agents' queues; the rest wait for a person.
      const outcomes: Outcome[] = [];
      const offloadsToApply: { offload: ActiveOffload; recommendation: StaffingRecommended }[] = [];
      for (const recommendation of plan.result.recommendations) {
        if (recommendation.kind === 'move') {
          if (recommendation.decision === 'approval-required') {
            outcomes.push({ recommendation });
            continue;
          }
          const moved = await applyMove(deps.features, recommendation, ACTOR, now);
          outcomes.push(
            moved === 'assigned'
              ? { recommendation }
              : leftForApproval(
                  recommendation,
                  `${recommendation.agentId} left ${recommendation.fromQueue} while the plan was made (${moved}); a person should confirm the move`,
                ),
          );
          continue;
        }
        if (recommendation.decision === 'approval-required') {
          outcomes.push({ recommendation });
          continue;
        }
        // The policy automates a whole category, so the offload applies alone only when the
        // category's whole share stays within the guardrail on a queue's share.
        const share =
          routineWork.find(
            (work) => work.queueId === recommendation.queueId && work.category === recommendation.category,
          )?.shareOfArrivals ?? 1;
        if (share > policy.offload.maxShareOfQueue + 1e-9) {
          outcomes.push(
            leftForApproval(
              recommendation,
              `automating "${recommendation.category}" sends all of it (${Math.round(share * 100)}% of ${recommendation.queueId}) to automation, above the ${Math.round(policy.offload.maxShareOfQueue * 100)}% the policy allows without approval`,
            ),
          );
          continue;
        }
        const alreadyOurs = previous.offloads.some((offload) => offload.category === recommendation.category);
        if (decisionPolicy.automationCategories.includes(recommendation.category) && !alreadyOurs) {
          logger.info('offload skipped: the decision policy already automates the category', {
            category: recommendation.category,
          });
          continue;
        }
        offloadsToApply.push({
          recommendation,
          offload: {
            queueId: recommendation.queueId,
            category: recommendation.category,
            shareOfQueue: recommendation.shareOfQueue,
            recommendationId: recommendation.recommendationId,
            appliedAt: now,
            validUntil: Date.parse(recommendation.validUntil),
          },
        });
      }

      // Offloads go through the decision policy: a new version, activated only over the one read.
      const renewed = new Set([
        ...offloadsToApply.map((entry) => entry.offload.category),
        ...approvedOffloads.map((offload) => offload.category),
      ]);
      const lapsed = previous.offloads.filter(
        (offload) => offload.validUntil <= now && !renewed.has(offload.category),
      );
      const change = await changeAutomation(deps, {
        now,
        add: [...offloadsToApply.map((entry) => entry.offload), ...approvedOffloads],
        remove: lapsed,
        telemetry,
      });
      let offloads = previous.offloads.filter(
        (offload) => !lapsed.includes(offload) && !renewed.has(offload.category),
      );
      if (change.applied) {
        offloads = [...offloads, ...offloadsToApply.map((entry) => entry.offload), ...approvedOffloads];
        for (const { recommendation } of offloadsToApply) outcomes.push({ recommendation });
      } else {
        // Lapsed offloads stay on record, so the next run takes them out of the policy.
        offloads = [...offloads, ...lapsed];
        for (const { recommendation } of offloadsToApply) {
          outcomes.push(leftForApproval(recommendation, change.reason));
        }
      }
      for (const offload of approvedOffloads) {
        const note = change.applied
          ? `automated "${offload.category}" in policy ${change.version ?? '(unchanged)'}`
          : `not applied: ${change.reason}`;
        await deps.allocation.transitionApproval(
          offload.recommendationId,
          'approved',
          change.applied ? 'applied' : 'failed',
          {
            by: ACTOR,
            reason: note,
            at: now,
          },
        );
        approvalChanges.push({
          recommendationId: offload.recommendationId,
          status: change.applied ? 'applied' : 'failed',
          note,
        });
      }

      await save({ ...plan.state, arrivals: history.arrivals, offloads }, revision);

      // Announce and record.
      for (const { recommendation } of outcomes) {
        if (recommendation.decision !== 'approval-required') continue;
        await deps.allocation.putApproval({
          recommendationId: recommendation.recommendationId,
          recommendation,
          status: 'pending',
          requestedAt: iso(now),
          validUntil: recommendation.validUntil,
          history: [],
        });
      }
      for (const { recommendation } of outcomes)
        await deps.events.publish('StaffingRecommended', recommendation);

      const forecastWape = scored.recentWape === undefined ? null : round4(scored.recentWape);
      await appendAudit(deps.audit, [
        jobAudit({
          itemId: `allocation#${runId}`,
          kind: AUDIT_RUN,
          at: now,
          policyVersion: policy.version,
          inputs: {
            historyFrom: iso(historyStart),
            historyUntil: iso(settledUntil),
            forecastStart: iso(forecastStartMs),
            forecasts: plan.forecasts,
            forecastWape,
            // [agentId, status, capacity, queue (after approved moves), shift end]: compact, rosters are long.
            roster: agents.map((agent) => [
              agent.agentId,
              agent.status,
              agent.capacity,
              assignments[agent.agentId] ?? null,
              agent.shiftEndsAt === undefined ? null : iso(agent.shiftEndsAt),
            ]),
            pendingMoves: Object.fromEntries(
              Object.entries(planned).filter(([agentId, queueId]) => assignments[agentId] !== queueId),
            ),
            recentMoves: previous.recentMoves,
            routineWork,
            decisionPolicyVersion: decisionPolicy.version,
          },
          details: {
            staffing: plan.result.staffing.map((queue) => ({
              queueId: queue.queueId,
              forecastArrivalsPerHour: round4(queue.forecastArrivalsPerHour),
              predictedHandlingSeconds: round4(queue.predictedHandlingSeconds),
              peakRequiredServers: queue.peakRequiredServers,
              minOnShiftServers: queue.minOnShiftServers,
              expectedServiceLevel: round4(queue.expectedServiceLevel),
            })),
            recommendations: outcomes.map(({ recommendation, note }) => ({
              recommendationId: recommendation.recommendationId,
              kind: recommendation.kind,
              decision: recommendation.decision,
              ...(note === undefined ? {} : { note }),
            })),
            approvals: approvalChanges,
            ...(change.version === undefined ? {} : { policyVersion: change.version }),
          },
        }),
        ...outcomes.map(({ recommendation, note }, index) =>
          jobAudit({
            itemId: `allocation#${runId}`,
            kind: AUDIT_RECOMMENDATION,
            at: now,
            recordKey: `${iso(now)}#${AUDIT_RECOMMENDATION}#${index + 1}`,
            policyVersion: policy.version,
            details: { recommendation, ...(note === undefined ? {} : { note }) },
          }),
        ),
      ]);

      const autoApplied = outcomes.filter(
        (outcome) => outcome.recommendation.decision === 'auto-applied',
      ).length;
      const awaitingApproval = outcomes.length - autoApplied;
      const approvalsApplied = approvalChanges.filter((entry) => entry.status === 'applied').length;
      const approvalsExpired = approvalChanges.filter((entry) => entry.status === 'expired').length;
      emitMetric(metrics, METRICS.allocationRuns, 1);
      emitMetric(metrics, METRICS.staffingRecommendations, outcomes.length);
      emitMetric(metrics, METRICS.staffingMovesApplied, autoApplied + approvalsApplied);
      emitMetric(metrics, METRICS.staffingAwaitingApproval, awaitingApproval);
      if (forecastWape !== null) emitMetric(metrics, METRICS.forecastWape, forecastWape * 100);
      logger.info('allocation run', {
        runId,
        recommendations: outcomes.length,
        autoApplied,
        awaitingApproval,
        approvalsApplied,
        approvalsExpired,
        policyVersion: change.version,
        forecastWape,
      });
      return {
        status: 'ran',
        runId,
        recommendations: outcomes.length,
        autoApplied,
        awaitingApproval,
        approvalsApplied,
        approvalsExpired,
        ...(change.version === undefined ? {} : { policyVersion: change.version }),
        forecastWape,
        historyDays: round4((settledUntil - historyStart) / DAY),
      };
    });
}

/** The recommendation as published when a guardrail found at the time of acting sends it to a person. */
function leftForApproval(recommendation: StaffingRecommended, reason: string): Outcome {
  return {
    recommendation: {
      ...recommendation,
      decision: 'approval-required',
      approvalReason: reason.slice(0, 500),
    },
    note: reason,
  };
}

/**
 * Extends the per-interval arrival rollups to the last settled interval from the observation
 * buckets (day by day; from the history window's start, or as far as buckets are kept, the first
 * time), and reads the rollups of the history window.
 */
async function rollUpHistory(
  deps: AllocationDeps,
  settings: AllocationSettings,
  previous: AllocationJobState['arrivals'],
  now: number,
  settledUntil: number,
  telemetry: Telemetry,
): Promise<{ arrivals: NonNullable<AllocationJobState['arrivals']>; days: ArrivalDay[] }> {
  const { intervalMinutes } = settings.policy;
  const intervalMs = intervalMinutes * MINUTE;
  // A new interval length starts a new series, rebuilt from the buckets still kept.
  const known = previous?.intervalMinutes === intervalMinutes ? previous : { intervalMinutes };
  const windowStart = localMidnight(now, settings.utcOffsetMinutes) - settings.historyDays * DAY;
  const oldestBucket = Math.ceil((now - BUCKET_RETENTION_DAYS * DAY) / intervalMs) * intervalMs;
  let observedFrom = known.observedFrom;
  let from = known.rolledUntil ?? Math.max(windowStart, oldestBucket);
  let misaligned = false;
  while (from < settledUntil) {
    const until = Math.min(settledUntil, Math.floor(from / DAY) * DAY + DAY);
    const buckets = await deps.tuning.readBuckets(from, until);
    for (const bucket of buckets) {
      observedFrom = Math.min(observedFrom ?? Number.POSITIVE_INFINITY, bucket.start);
      if (intervalMs % (bucket.seconds * 1000) !== 0) misaligned = true;
    }
    // Before the first observation there is no history to keep, only unknown days.
    if (observedFrom !== undefined) {
      const stored = await deps.allocation.readArrivalDays(
        intervalMinutes,
        utcDayKey(from),
        utcDayKey(until - 1),
      );
      await deps.allocation.putArrivalDays(
        rollUpArrivals(stored, buckets, { fromMs: from, toMs: until, intervalMinutes }),
      );
    }
    from = until;
  }
  if (misaligned) {
    telemetry.logger.warn(
      'observation buckets do not divide the allocation interval: counts land in the interval their bucket starts in',
      {
        intervalMinutes,
      },
    );
  }
  const arrivals = {
    intervalMinutes,
    ...(observedFrom === undefined ? {} : { observedFrom }),
    rolledUntil: Math.max(from, known.rolledUntil ?? from),
  };
  const days =
    observedFrom === undefined
      ? []
      : await deps.allocation.readArrivalDays(
          intervalMinutes,
          utcDayKey(windowStart),
          utcDayKey(settledUntil - 1),
        );
  return { arrivals, days };
}

interface AutomationChange {
  readonly applied: boolean;
  /** Why nothing changed, when something should have. */
  readonly reason: string;
  readonly version?: string;
  readonly event?: PolicyChanged;
}

/**
 * Adds offloaded categories to the decision policy's automated ones and takes lapsed ones out, as
 * one new immutable version activated only if the active policy is still the one read (the tuning
 * loop may change it at the same time: then nothing changes and the offloads wait for a person).
 */
async function changeAutomation(
  deps: AllocationDeps,
  input: {
    readonly now: number;
    readonly add: readonly ActiveOffload[];
    readonly remove: readonly ActiveOffload[];
    readonly telemetry: Telemetry;
  },
): Promise<AutomationChange> {
  const { now, add, remove } = input;
  if (add.length === 0 && remove.length === 0) return { applied: true, reason: 'nothing to change' };
  let active: Policy;
  try {
    active = await deps.features.getActivePolicy();
  } catch (error) {
    if (!(error instanceof InvalidStoredPolicyError)) throw error;
    input.telemetry.logger.error('stored policy is invalid; no offload applied', { error });
    return { applied: false, reason: `the stored decision policy is invalid (${error.message})` };
  }
  const version = offloadPolicyVersion(active.version, now);
  const next = policyWithAutomation(
    active,
    { add: add.map((offload) => offload.category), remove: remove.map((offload) => offload.category) },
    version,
  );
  if (next === undefined) return { applied: true, reason: 'the policy already says so' };
  const describe = (offloads: readonly ActiveOffload[]) =>
    offloads.map((offload) => `"${offload.category}" (${offload.queueId})`).join(', ');
  const reason = [
    add.length > 0
      ? `Allocation offload: automate ${describe(add)} until ${iso(Math.max(...add.map((offload) => offload.validUntil)))} (${add.map((offload) => offload.recommendationId).join(', ')})`
      : '',
    remove.length > 0 ? `offload lapsed: stop automating ${describe(remove)}` : '',
  ]
    .filter((part) => part !== '')
    .join('; ');
  const kind: PolicyChangeKind = add.length > 0 ? 'offload-applied' : 'offload-lapsed';
  try {
    const result = await deps.policies.change({
      policy: next,
      baseVersion: active.version,
      kind,
      reason,
      actor: ACTOR,
      evidence: {
        added: add.map((offload) => offload.category).join(','),
        removed: remove.map((offload) => offload.category).join(','),
        recommendations: add.map((offload) => offload.recommendationId).join(','),
      },
    });
    return { applied: true, reason, version, event: result.event };
  } catch (error) {
    if (!(error instanceof PolicyConflictError)) throw error;
    return {
      applied: false,
      reason: `the decision policy changed from ${active.version} while the allocation job ran`,
    };
  }
}

/** Moves the agent to the recommended queue, only if it is still in the queue the move was planned from. */
function applyMove(
  features: FeatureStore,
  move: Extract<StaffingRecommended, { kind: 'move' }>,
  assignedBy: string,
  now: number,
) {
  return features.assignQueue(
    {
      agentId: move.agentId,
      queueId: move.toQueue,
      assignedAt: now,
      assignedBy,
      recommendationId: move.recommendationId,
    },
    move.fromQueue,
  );
}

/** An audit record of one of the job's kinds, keyed under the run or the recommendation. */
function jobAudit(input: {
  readonly itemId: string;
  readonly kind: typeof AUDIT_RUN | typeof AUDIT_RECOMMENDATION;
  readonly at: number;
  readonly recordKey?: string;
  readonly policyVersion: string;
  readonly inputs?: unknown;
  readonly details: unknown;
}): AuditRecord {
  const at = iso(input.at);
  return {
    itemId: input.itemId,
    recordKey: input.recordKey ?? `${at}#${input.kind}`,
    kind: input.kind,
    at,
    actor: ACTOR,
    ...(input.inputs === undefined ? {} : { inputs: JSON.stringify(input.inputs) }),
    details: JSON.stringify(input.details),
    policyVersion: input.policyVersion,
    expiresAt: auditExpiresAt(input.at),
  };
}

async function appendAudit(audit: AuditLog, records: readonly AuditRecord[]): Promise<void> {
  for (const record of records) await audit.append(record);
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'auditTable', 'eventBusName'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: AllocationHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createAllocationHandler({
    features: liveFeatureStore(env, telemetry.tracer),
    tuning: liveTuningStore(env, telemetry.tracer),
    policies: livePolicyStore(env, telemetry.tracer),
    allocation: new DynamoDbAllocationStore({
      client: sharedDocumentClient(telemetry.tracer),
      featuresTable: env.featuresTable,
    }),
    audit: liveAuditLog(env, telemetry.tracer),
    events: liveEventPublisher(env, telemetry.tracer),
    telemetry,
  });
});
