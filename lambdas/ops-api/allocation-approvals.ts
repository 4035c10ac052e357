import type { QueueStaffingFigures, StaffingRecommended } from '../../domain/events/staffing';
import type { ReasonBody } from '../../domain/ops/api';
import { METRICS } from '../../domain/ops/metrics';
import { type AllocationApproval, type AllocationStore, ApprovalStatus } from '../shared/allocation-store';
import { emitMetric } from '../shared/metrics-names';
import type { Telemetry } from '../shared/observability';
import type { AuditLog, Clock } from '../shared/ports';
import { auditRecord } from '../shared/table-layout';
import { OpsRequestError } from './errors';

/**
 * The operations API's side of the allocation job's approvals: a staffing move or an offload the
 * guardrails did not let the job apply alone waits in the allocation store as a pending approval
 * until its horizon ends (`validUntil`). These operations list the waiting ones with the reasoning
 * behind each, and record a person's decision; the job's next run applies an approved one under
 * that person's name (a move only if the agent is still where it was planned from). The job, not a
 * person, proposed them, so any operator may decide (as with tuning approvals: no four-eyes rule).
 */

export interface StaffingApprovalDeps {
  /** Where the job keeps its approvals; absent where no allocation job runs (its routes then answer 404). */
  readonly allocation?: Pick<AllocationStore, 'listApprovals' | 'transitionApproval'>;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
}

interface StaffingApprovalCommon {
  /** The recommendation's id: what approve / reject take. */
  readonly approvalId: string;
  readonly runId: string;
  readonly requestedAt: string;
  readonly waitingSeconds: number;
  /** The end of the recommendation's horizon: undecided by then, it expires. */
  readonly expiresAt: string;
  readonly expiresInSeconds: number;
  /** One line: what would change. */
  readonly summary: string;
  /** The job's reasoning, with the figures. */
  readonly reason: string;
  /** Why a person must decide (the guardrail that held it). */
  readonly approvalReason: string;
  /** Per queue involved: forecast arrivals, predicted handling, servers needed and on shift, service level before and after. */
  readonly queues: readonly QueueStaffingFigures[];
  readonly expectedGainPerHour: number;
  readonly forecastWape?: number;
  readonly confidence: number;
  readonly policyVersion: string;
  readonly horizonMinutes: number;
}

/** A held staffing move as a person sees it. */
export interface StaffingMoveApprovalView extends StaffingApprovalCommon {
  readonly kind: 'move';
  readonly agentId: string;
  readonly fromQueue: string;
  readonly toQueue: string;
  readonly proficiency: number;
  readonly shiftEndsAt?: string;
}

/** A held offload (a routine category sent to automation) as a person sees it. */
export interface StaffingOffloadApprovalView extends StaffingApprovalCommon {
  readonly kind: 'offload';
  readonly queueId: string;
  readonly category: string;
  readonly shareOfQueue: number;
}

export type StaffingApprovalView = StaffingMoveApprovalView | StaffingOffloadApprovalView;

export interface StaffingDecisionResult {
  readonly approvalId: string;
  readonly decision: 'approve' | 'reject';
  readonly kind: StaffingRecommended['kind'];
  readonly summary: string;
  readonly actor: string;
  readonly at: string;
  /** What happens next. */
  readonly outcome: string;
}

/** Audit trail key of an allocation run (the job records the run and each recommendation there). */
const allocationAuditId = (runId: string) => `allocation#${runId}`;

/**
 * One line saying what the recommendation changes.
 *
 * @example
 * staffingSummary(move); // 'move flex-3 from loans to cards for 60 min'
 */
export function staffingSummary(recommendation: StaffingRecommended): string {
  return recommendation.kind === 'move'
    ? `move ${recommendation.agentId} from ${recommendation.fromQueue} to ${recommendation.toQueue} for ${recommendation.horizonMinutes} min`
    : `automate "${recommendation.category}" (${Math.round(recommendation.shareOfQueue * 100)}% of ${recommendation.queueId}) for ${recommendation.horizonMinutes} min`;
}

export function createStaffingApprovalOperations(deps: StaffingApprovalDeps) {
  const { clock, telemetry } = deps;

  const store = () => {
    if (deps.allocation === undefined)
      throw OpsRequestError.notFound(
        'no allocation job runs behind this API: there are no staffing approvals',
      );
    return deps.allocation;
  };

  const view = (approval: AllocationApproval, now: number): StaffingApprovalView => {
    const recommendation = approval.recommendation;
    const expiresAt = Date.parse(approval.validUntil);
    const common: StaffingApprovalCommon = {
      approvalId: approval.recommendationId,
      runId: recommendation.runId,
      requestedAt: approval.requestedAt,
      waitingSeconds: Math.max(0, Math.floor((now - Date.parse(approval.requestedAt)) / 1000)),
      expiresAt: approval.validUntil,
      expiresInSeconds: Math.max(0, Math.floor((expiresAt - now) / 1000)),
      summary: staffingSummary(recommendation),
      reason: recommendation.reason,
      approvalReason: recommendation.approvalReason ?? 'the guardrails leave it to a person',
      queues: recommendation.queues,
      expectedGainPerHour: recommendation.expectedGainPerHour,
      ...(recommendation.forecastWape === undefined ? {} : { forecastWape: recommendation.forecastWape }),
      confidence: recommendation.confidence,
      policyVersion: recommendation.policyVersion,
      horizonMinutes: recommendation.horizonMinutes,
    };
    return recommendation.kind === 'move'
      ? {
          ...common,
          kind: 'move',
          agentId: recommendation.agentId,
          fromQueue: recommendation.fromQueue,
          toQueue: recommendation.toQueue,
          proficiency: recommendation.proficiency,
          ...(recommendation.shiftEndsAt === undefined ? {} : { shiftEndsAt: recommendation.shiftEndsAt }),
        }
      : {
          ...common,
          kind: 'offload',
          queueId: recommendation.queueId,
          category: recommendation.category,
          shareOfQueue: recommendation.shareOfQueue,
        };
  };

  /** Pending moves and offloads whose horizon has not ended, oldest first. */
  const listStaffingApprovals = async (): Promise<{
    readonly approvals: readonly StaffingApprovalView[];
  }> => {
    const now = clock.now();
    const pending = await store().listApprovals(['pending']);
    return {
      approvals: pending
        .filter((approval) => Date.parse(approval.validUntil) > now)
        .sort(
          (a, b) =>
            a.requestedAt.localeCompare(b.requestedAt) ||
            a.recommendationId.localeCompare(b.recommendationId),
        )
        .map((approval) => view(approval, now)),
    };
  };

  /**
   * Records the decision with a conditional transition out of `pending`, so of two people deciding
   * at once exactly one wins; the job applies it on its next run. One whose horizon has ended is
   * refused (409 Expired) even before the job marks it expired: it would no longer be applied.
   */
  const decideStaffingMove = async (
    approvalId: string,
    decision: 'approve' | 'reject',
    body: ReasonBody,
    actor: string,
  ): Promise<StaffingDecisionResult> => {
    const allocation = store();
    // The store has no read by id: decided and lapsed approvals are kept (30 days), so a 409 can say what became of it.
    const approval = (await allocation.listApprovals(ApprovalStatus.options)).find(
      (candidate) => candidate.recommendationId === approvalId,
    );
    if (approval === undefined)
      throw OpsRequestError.notFound(`no staffing approval "${approvalId}" (see GET /allocation/approvals)`);
    const recommendation = approval.recommendation;
    const summary = staffingSummary(recommendation);
    if (approval.status !== 'pending') {
      const last = approval.history.at(-1);
      throw OpsRequestError.conflict(
        `staffing approval ${approvalId} (${summary}) is no longer pending: ${approval.status}${last === undefined ? '' : ` by ${last.by} at ${last.at} (${last.reason})`}`,
        approval.status === 'expired' ? 'Expired' : 'AlreadyDecided',
      );
    }
    const now = clock.now();
    if (Date.parse(approval.validUntil) <= now) {
      throw OpsRequestError.conflict(
        `staffing approval ${approvalId} (${summary}) expired at ${approval.validUntil}: its horizon has passed, and the next allocation run plans afresh`,
        'Expired',
      );
    }
    const transitioned = await allocation.transitionApproval(
      approvalId,
      'pending',
      decision === 'approve' ? 'approved' : 'rejected',
      { by: actor, reason: body.reason, at: now },
    );
    if (transitioned === 'conflict') {
      throw OpsRequestError.conflict(
        `staffing approval ${approvalId} (${summary}) was decided by someone else, or expired, meanwhile; reload the list`,
        'AlreadyDecided',
      );
    }
    const record = auditRecord({
      itemId: allocationAuditId(recommendation.runId),
      kind: decision === 'approve' ? 'HUMAN_APPROVED' : 'HUMAN_REJECTED',
      at: now,
      actor,
      details: {
        source: 'allocation',
        approvalId,
        reason: body.reason,
        recommendationKind: recommendation.kind,
        summary,
        approvalReason: recommendation.approvalReason ?? null,
        validUntil: approval.validUntil,
      },
      policyVersion: recommendation.policyVersion,
    });
    // Several recommendations of one run may be decided in the same millisecond: one key each.
    await deps.audit.append({ ...record, recordKey: `${record.recordKey}#${approvalId}` });
    emitMetric(telemetry.metrics, METRICS.humanActions, 1, {
      action: decision === 'approve' ? 'approveStaffingMove' : 'rejectStaffingMove',
    });
    telemetry.logger.info('staffing approval decided', { approvalId, decision, actor });
    return {
      approvalId,
      decision,
      kind: recommendation.kind,
      summary,
      actor,
      at: new Date(now).toISOString(),
      outcome: outcomeOf(recommendation, decision, approval.validUntil),
    };
  };

  return {
    listStaffingApprovals,
    approveStaffingMove: (approvalId: string, body: ReasonBody, actor: string) =>
      decideStaffingMove(approvalId, 'approve', body, actor),
    rejectStaffingMove: (approvalId: string, body: ReasonBody, actor: string) =>
      decideStaffingMove(approvalId, 'reject', body, actor),
  };
}

export type StaffingApprovalOperations = ReturnType<typeof createStaffingApprovalOperations>;

function outcomeOf(
  recommendation: StaffingRecommended,
  decision: 'approve' | 'reject',
  validUntil: string,
): string {
  if (decision === 'reject') {
    return recommendation.kind === 'move'
      ? `nothing changes: ${recommendation.agentId} stays in ${recommendation.fromQueue}`
      : `nothing changes: "${recommendation.category}" stays with people`;
  }
  return recommendation.kind === 'move'
    ? `the next allocation run moves ${recommendation.agentId} to ${recommendation.toQueue} under your name, if they are still in ${recommendation.fromQueue} and it runs before ${validUntil}`
    : `the next allocation run automates "${recommendation.category}" as a new decision-policy version until ${validUntil}`;
}
