import type { ReasonBody } from '../../domain/ops/api';
import { METRICS } from '../../domain/ops/metrics';
import { APPROVAL_WAIT_SECONDS, type ApprovalDecision } from '../../domain/tuning';
import { emitMetric } from '../shared/metrics-names';
import type { Telemetry } from '../shared/observability';
import type { AuditLog, Clock, ExecutionControl } from '../shared/ports';
import { auditRecord } from '../shared/table-layout';
import type { ApprovalRequest, TuningStore } from '../shared/tuning-store';
import { OpsRequestError } from './errors';

/**
 * The operations API's side of the tuning loop's approvals: a high-impact change (a promotion to
 * another routing strategy, a large weight move) waits in the tuning workflow's "Wait For
 * Approval" with a task token the approval function stored; these operations list the waiting
 * changes and resume the wait with a person's decision (SendTaskSuccess with an ApprovalDecision).
 * The workflow then applies or drops the change itself.
 */

export interface TuningApprovalDeps {
  /** Where the approval requests are; absent where no tuning loop runs (its routes then answer 404). */
  readonly tuning?: Pick<
    TuningStore,
    'listPendingApprovals' | 'getApprovalRequest' | 'resolveApprovalRequest'
  >;
  readonly executions: ExecutionControl;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
}

/** A held change as a person sees it (never with its task token). */
export interface TuningApprovalView {
  readonly approvalId: string;
  readonly executionId: string;
  readonly requestedAt: string;
  readonly waitingSeconds: number;
  /** When the wait expires and the change is dropped, rejected. */
  readonly expiresAt: string;
  readonly kind: ApprovalRequest['proposal']['kind'];
  /** The version that would become active, and the one active when it was proposed. */
  readonly version: string;
  readonly previousVersion: string;
  readonly changes: readonly string[];
  readonly reason: string;
  /** Why a person must decide (the guardrail the change crosses). */
  readonly approvalReasons: readonly string[];
  readonly experimentId?: string;
  readonly evidence: Readonly<Record<string, number | string>>;
}

export interface TuningDecisionResult {
  readonly approvalId: string;
  readonly decision: ApprovalDecision['decision'];
  readonly version: string;
  readonly actor: string;
  readonly at: string;
  /** What the tuning workflow does next. */
  readonly outcome: string;
}

/** Audit trail key of a policy version's decisions (as the policy proposals use). */
const policyAuditId = (version: string) => `policy#${version}`;

export function createTuningApprovalOperations(deps: TuningApprovalDeps) {
  const { clock, telemetry } = deps;

  const store = () => {
    if (deps.tuning === undefined)
      throw OpsRequestError.notFound('no tuning loop runs behind this API: there are no tuning approvals');
    return deps.tuning;
  };

  const expiresAt = (request: ApprovalRequest) =>
    Date.parse(request.requestedAt) + APPROVAL_WAIT_SECONDS * 1000;

  const view = (request: ApprovalRequest, now: number): TuningApprovalView => {
    const { proposal } = request;
    return {
      approvalId: request.approvalId,
      executionId: request.executionId,
      requestedAt: request.requestedAt,
      waitingSeconds: Math.max(0, Math.floor((now - Date.parse(request.requestedAt)) / 1000)),
      expiresAt: new Date(expiresAt(request)).toISOString(),
      kind: proposal.kind,
      version: proposal.policy.version,
      previousVersion: proposal.previousVersion,
      changes: proposal.changes,
      reason: proposal.reason,
      approvalReasons: proposal.approvalReasons,
      ...(proposal.experimentId === undefined ? {} : { experimentId: proposal.experimentId }),
      evidence: proposal.evidence,
    };
  };

  /** Pending changes whose wait has not expired, oldest first. */
  const listTuningApprovals = async (): Promise<{ readonly approvals: readonly TuningApprovalView[] }> => {
    const now = clock.now();
    const pending = await store().listPendingApprovals();
    return {
      approvals: pending
        .filter((request) => expiresAt(request) > now)
        .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt))
        .map((request) => view(request, now)),
    };
  };

  /**
   * Resumes the wait with the decision, then marks the request resolved. Resuming first means a
   * failed resume leaves the request pending for a retry; a wait that already ended (someone else
   * decided, or it expired) is refused with 409 and nothing is recorded as decided by this caller.
   */
  const decideTuningChange = async (
    approvalId: string,
    decision: ApprovalDecision['decision'],
    body: ReasonBody,
    actor: string,
  ): Promise<TuningDecisionResult> => {
    const tuning = store();
    const request = await tuning.getApprovalRequest(approvalId);
    if (request === undefined) throw OpsRequestError.notFound(`no tuning approval "${approvalId}"`);
    const version = request.proposal.policy.version;
    if (request.status !== 'pending') {
      throw OpsRequestError.conflict(
        `tuning approval ${approvalId} (${version}) was already ${request.status} by ${request.resolvedBy ?? 'someone'}`,
        'AlreadyDecided',
      );
    }
    const now = clock.now();
    const payload: ApprovalDecision = { decision, actor, reason: body.reason };
    const resumed = await deps.executions.sendTaskSuccess(request.taskToken, payload);
    if (resumed === 'stale') {
      throw OpsRequestError.conflict(
        `the tuning workflow no longer waits for approval ${approvalId}: it expired (after ${APPROVAL_WAIT_SECONDS / 3600} h, rejected) or someone else decided; reload the list`,
        'WaitEnded',
      );
    }
    const status = decision === 'approve' ? 'approved' : 'rejected';
    const resolved = await tuning.resolveApprovalRequest(approvalId, {
      status,
      by: actor,
      reason: body.reason,
      at: now,
    });
    if (resolved === 'not-pending') {
      // Another decision was recorded between the read and the resume; the workflow took whichever
      // answer reached it first, and the stored resolution says whose.
      telemetry.logger.warn('tuning approval resolved by someone else meanwhile', { approvalId });
    }
    await deps.audit.append(
      auditRecord({
        itemId: policyAuditId(version),
        kind: decision === 'approve' ? 'POLICY_APPROVED' : 'POLICY_REJECTED',
        at: now,
        actor,
        details: {
          source: 'tuning',
          approvalId,
          executionId: request.executionId,
          reason: body.reason,
          changeKind: request.proposal.kind,
          previousVersion: request.proposal.previousVersion,
          approvalReasons: request.proposal.approvalReasons,
          ...(request.proposal.experimentId === undefined
            ? {}
            : { experimentId: request.proposal.experimentId }),
        },
        policyVersion: version,
      }),
    );
    emitMetric(telemetry.metrics, METRICS.humanActions, 1, {
      action: decision === 'approve' ? 'approveTuningChange' : 'rejectTuningChange',
    });
    return {
      approvalId,
      decision,
      version,
      actor,
      at: new Date(now).toISOString(),
      outcome:
        decision === 'approve'
          ? `the tuning workflow activates ${version} (if ${request.proposal.previousVersion} is still active) and emits PolicyChanged`
          : `nothing changes: ${request.proposal.previousVersion} stays active${request.proposal.experimentId === undefined ? '' : ` and experiment ${request.proposal.experimentId} ends rejected`}`,
    };
  };

  return {
    listTuningApprovals,
    approveTuningChange: (approvalId: string, body: ReasonBody, actor: string) =>
      decideTuningChange(approvalId, 'approve', body, actor),
    rejectTuningChange: (approvalId: string, body: ReasonBody, actor: string) =>
      decideTuningChange(approvalId, 'reject', body, actor),
  };
}

export type TuningApprovalOperations = ReturnType<typeof createTuningApprovalOperations>;
