import type { OverrideBody, PolicyProposalBody, ReasonBody } from '../../domain/ops/api';
import {
  type BacklogEntry,
  type BottleneckView,
  bottleneckView,
  LIVE_STAGES,
  type LiveStage,
} from '../../domain/ops/bottleneck';
import {
  type Alternative,
  APPEAL_ERROR,
  HUMAN_ACTIONS,
  HUMAN_AUDIT_KINDS,
  type HumanAction,
  type HumanAuditKind,
  overrideAssignment,
  overrideCandidates,
  overrideObstacle,
  planHumanAction,
  type WaitState,
} from '../../domain/ops/human-tasks';
import { METRICS } from '../../domain/ops/metrics';
import {
  approvalObstacle,
  type PolicyProposal,
  policyChanges,
  proposalObstacle,
} from '../../domain/ops/policy-proposal';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { diffPolicies } from '../../domain/policy/diff';
import { emitMetric } from '../shared/metrics-names';
import type { Telemetry } from '../shared/observability';
import { activePolicyOrDefault } from '../shared/policy';
import {
  PolicyConflictError,
  type PolicyStore,
  PolicyVersionTakenError,
  UnknownPolicyVersionError,
} from '../shared/policy-store';
import type {
  AuditLog,
  AuditRecord,
  Clock,
  ExecutionControl,
  FeatureStore,
  InstanceRecord,
  InstanceStore,
} from '../shared/ports';
import { auditExpiresAt } from '../shared/table-layout';
import { createStaffingApprovalOperations, type StaffingApprovalDeps } from './allocation-approvals';
import { OpsRequestError } from './errors';
import { createExperimentOperations, type ExperimentDeps } from './experiments';
import type { OpsStore, TrailRecord } from './ports';
import { createTuningApprovalOperations, type TuningApprovalDeps } from './tuning-approvals';

/** What the ops API reads and writes of the tuning store: approvals and experiments. */
export type OpsTuningStore = NonNullable<TuningApprovalDeps['tuning']> &
  NonNullable<ExperimentDeps['tuning']>;

export interface OpsDeps {
  readonly features: FeatureStore;
  /** The one way the active policy changes: approvals and rollbacks go through it. */
  readonly policies: PolicyStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly executions: ExecutionControl;
  readonly store: OpsStore;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  /** The tuning loop's approval requests and experiments. @default none: the tuning approval and experiment routes answer 404 */
  readonly tuning?: OpsTuningStore;
  /** The allocation job's approvals. @default none: the staffing approval routes answer 404 */
  readonly allocation?: StaffingApprovalDeps['allocation'];
  /** Most items read per stage for the bottleneck view. @default 20_000 */
  readonly maxItemsPerStage?: number;
}

/** One audit record as the API shows it: JSON-string attributes parsed. */
export type TrailEntry = Record<string, unknown> & {
  readonly kind: string;
  readonly at: string;
  readonly actor: string;
};

export interface ItemStatus {
  readonly itemId: string;
  readonly stage: string;
  readonly since?: string;
  readonly secondsInStage?: number;
  readonly waitingFor?: string;
  readonly assignee?: string;
  readonly queue?: string;
  readonly priority?: number;
  readonly createdAt?: string;
  readonly slaDueAt?: string;
  readonly overdue?: boolean;
  readonly attempt?: number;
  readonly path?: string;
  readonly policyVersion?: string;
  readonly modelVersion?: string;
  /** What a person can do now (POST /items/{itemId}/<action>). */
  readonly actions: readonly HumanAction[];
  readonly trail: readonly TrailEntry[];
}

export interface HumanTask {
  readonly itemId: string;
  readonly kind: 'review' | 'exception';
  readonly waitingSince: string;
  readonly waitingSeconds: number;
  readonly queue: string;
  readonly priority: number;
  readonly slaDueAt?: string;
  readonly overdue: boolean;
  /** What the process handed the person: item, scores, the automated decision and its reason, or the error. */
  readonly context: Record<string, unknown>;
  /** Agents who could take it now, for an override. */
  readonly alternatives: readonly Alternative[];
  /** Human actions already taken on the item (e.g. an appeal that re-opened it). */
  readonly history: readonly TrailEntry[];
  readonly actions: readonly HumanAction[];
}

export interface ActionResult {
  readonly itemId: string;
  readonly action: HumanAction;
  /** What the process does next. */
  readonly outcome: string;
  readonly actor: string;
  readonly at: string;
  readonly agentId?: string;
}

/** Terminal stages of an item that has no instance any more but left an audit trail. */
const TERMINAL_KINDS: Readonly<Record<string, string>> = {
  REJECTED: 'REJECTED',
  HUMAN_REJECTED: 'REJECTED',
  CANCELLED: 'CANCELLED',
  COMPLETED: 'COMPLETED',
};

const JSON_ATTRIBUTES = ['details', 'inputs', 'explanation'];

const OUTCOMES: Readonly<Record<string, string>> = {
  approve: 'routed: it joins the waiting set for the dispatcher',
  reject: 'rejected: WorkItemRejected is emitted and the process ends',
  requeue: 'requeued: it joins the waiting set for the dispatcher',
  close: 'closed: the process ends',
};

/**
 * The operations behind the API, over ports: item status with its audit trail, the bottleneck
 * view, pending human tasks, approve / reject / override / appeal, and policy proposals. Each
 * throws OpsRequestError for what the caller can fix; every human action is an audit record with
 * its actor.
 */
export function createOpsOperations(deps: OpsDeps) {
  const { features, instances, executions, store, clock, telemetry, policies } = deps;
  const maxPerStage = deps.maxItemsPerStage ?? 20_000;

  const record = async (input: {
    readonly itemId: string;
    readonly kind: HumanAuditKind;
    readonly at: number;
    readonly actor: string;
    readonly details: unknown;
    readonly policyVersion?: string;
    readonly modelVersion?: string;
    readonly attempt?: number;
  }): Promise<void> => {
    const iso = new Date(input.at).toISOString();
    const widened: Omit<AuditRecord, 'kind'> & { kind: string } = {
      itemId: input.itemId,
      recordKey: `${iso}#${input.kind}`,
      kind: input.kind,
      at: iso,
      actor: input.actor,
      details: JSON.stringify(input.details),
      ...(input.policyVersion === undefined ? {} : { policyVersion: input.policyVersion }),
      ...(input.modelVersion === undefined ? {} : { modelVersion: input.modelVersion }),
      ...(input.attempt === undefined ? {} : { attempt: input.attempt }),
      expiresAt: auditExpiresAt(input.at),
    };
    // Human kinds are not in AUDIT_KINDS yet (lambdas/shared/ports.ts); the Audit table keeps any kind.
    await deps.audit.append(widened as AuditRecord);
  };

  const requireInstance = async (itemId: string): Promise<InstanceRecord> => {
    const instance = await instances.get(itemId);
    if (instance === undefined) {
      throw OpsRequestError.notFound(
        `no live work item "${itemId}" (never created, rejected at intake, or expired)`,
      );
    }
    return instance;
  };

  const availableActions = (instance: InstanceRecord): HumanAction[] =>
    HUMAN_ACTIONS.filter(
      (action) => planHumanAction(waitState(instance), action, { actor: '-', reason: '-' }).kind !== 'refuse',
    );

  const countAction = (action: HumanAction) =>
    emitMetric(telemetry.metrics, METRICS.humanActions, 1, { action });

  const itemStatus = async (itemId: string): Promise<ItemStatus> => {
    const [instance, trail] = await Promise.all([instances.get(itemId), store.trail(itemId)]);
    if (instance === undefined && trail.length === 0) {
      throw OpsRequestError.notFound(`no work item "${itemId}" is known: no instance and no audit record`);
    }
    const entries = trail.map(toTrailEntry);
    if (instance === undefined) {
      const last = [...trail].reverse().find((entry) => TERMINAL_KINDS[entry.kind] !== undefined);
      return {
        itemId,
        stage: last === undefined ? 'UNKNOWN' : (TERMINAL_KINDS[last.kind] as string),
        actions: [],
        trail: entries,
      };
    }
    const now = clock.now();
    return {
      itemId,
      stage: instance.stage,
      since: iso(instance.stageEnteredAt),
      secondsInStage: Math.max(0, Math.floor((now - instance.stageEnteredAt) / 1000)),
      ...(instance.waitingFor === undefined ? {} : { waitingFor: instance.waitingFor }),
      ...(instance.assignee === undefined ? {} : { assignee: instance.assignee }),
      ...(instance.category === '' ? {} : { queue: instance.category }),
      priority: instance.priority,
      ...(instance.createdAt > 0 ? { createdAt: iso(instance.createdAt) } : {}),
      ...(instance.slaDueAt > 0
        ? { slaDueAt: iso(instance.slaDueAt), overdue: instance.slaDueAt < now }
        : {}),
      attempt: instance.attempt,
      ...(instance.path === undefined ? {} : { path: instance.path }),
      ...(instance.policyVersion === undefined ? {} : { policyVersion: instance.policyVersion }),
      ...(instance.modelVersion === undefined ? {} : { modelVersion: instance.modelVersion }),
      actions: availableActions(instance),
      trail: entries,
    };
  };

  const readBacklog = async (): Promise<{ entries: BacklogEntry[]; truncated: LiveStage[] }> => {
    const pages = await Promise.all(LIVE_STAGES.map((stage) => store.readStage(stage, maxPerStage)));
    return {
      entries: pages.flatMap((page) => page.entries),
      truncated: LIVE_STAGES.filter((_, index) => pages[index]?.truncated === true),
    };
  };

  const bottlenecks = async (): Promise<BottleneckView> => {
    const { entries, truncated } = await readBacklog();
    return bottleneckView(entries, clock.now(), { truncatedStages: truncated });
  };

  const tasks = async (
    limit: number,
  ): Promise<{ readonly tasks: readonly HumanTask[]; readonly more: boolean }> => {
    const [review, exception, agents] = await Promise.all([
      instances.listByStage('HUMAN_REVIEW', limit + 1),
      instances.listByStage('EXCEPTION', limit + 1),
      features.listAgents(),
    ]);
    // The index is eventually consistent: keep only records that still hold a person's wait.
    const waiting = [...review, ...exception]
      .filter((instance) => instance.taskToken !== undefined)
      .sort((a, b) => a.stageEnteredAt - b.stageEnteredAt);
    const now = clock.now();
    const page = waiting.slice(0, limit);
    const built = await Promise.all(
      page.map(async (instance): Promise<HumanTask> => {
        const trail = (await store.trail(instance.itemId)).map(toTrailEntry);
        const isReview = instance.stage === 'HUMAN_REVIEW';
        const requested = [...trail]
          .reverse()
          .find((entry) => entry.kind === (isReview ? 'HUMAN_REVIEW_REQUESTED' : 'EXCEPTION'));
        const context = contextOf(requested);
        return {
          itemId: instance.itemId,
          kind: isReview ? 'review' : 'exception',
          waitingSince: iso(instance.stageEnteredAt),
          waitingSeconds: Math.max(0, Math.floor((now - instance.stageEnteredAt) / 1000)),
          queue: instance.category,
          priority: instance.priority,
          ...(instance.slaDueAt > 0 ? { slaDueAt: iso(instance.slaDueAt) } : {}),
          overdue: instance.slaDueAt > 0 && instance.slaDueAt < now,
          context,
          alternatives:
            instance.path === undefined
              ? []
              : overrideCandidates(
                  { requiredSkills: instance.requiredSkills, excludedAgents: instance.excludedAgents },
                  agents,
                  now,
                ),
          history: trail.filter((entry) =>
            (Object.values(HUMAN_AUDIT_KINDS) as string[]).includes(entry.kind),
          ),
          actions: availableActions(instance),
        };
      }),
    );
    return { tasks: built, more: waiting.length > limit };
  };

  /** approve or reject: resume the person's wait with the decision. */
  const decide = async (
    itemId: string,
    action: 'approve' | 'reject',
    body: ReasonBody,
    actor: string,
  ): Promise<ActionResult> => {
    const instance = await requireInstance(itemId);
    const plan = planHumanAction(waitState(instance), action, { actor, reason: body.reason });
    if (plan.kind === 'refuse') throw OpsRequestError.conflict(plan.reason, 'ActionNotAllowed');
    if (plan.kind !== 'resume')
      throw OpsRequestError.conflict(`${action} does not apply here`, 'ActionNotAllowed');
    const sent = await executions.sendTaskSuccess(plan.taskToken, plan.output);
    if (sent === 'stale') throw staleWait(itemId);
    const now = clock.now();
    // A rejection ends the item's stage here, not when the execution gets round to it: off the task
    // list and the bottleneck view at once, and no later override or approval can take it.
    if (plan.output.action === 'reject') await instances.markRejected(itemId, plan.taskToken, now);
    await record({
      itemId,
      kind: HUMAN_AUDIT_KINDS[action],
      at: now,
      actor,
      attempt: instance.attempt,
      details: { waitingFor: instance.waitingFor, resumedWith: plan.output.action, reason: body.reason },
      ...versions(instance),
    });
    countAction(action);
    telemetry.logger.info('human decision applied', { itemId, action, actor });
    return {
      itemId,
      action,
      outcome: OUTCOMES[plan.output.action] ?? plan.output.action,
      actor,
      at: iso(now),
    };
  };

  const override = async (itemId: string, body: OverrideBody, actor: string): Promise<ActionResult> => {
    const instance = await requireInstance(itemId);
    const plan = planHumanAction(waitState(instance), 'override', { actor, reason: body.reason });
    if (plan.kind === 'refuse') throw OpsRequestError.conflict(plan.reason, 'ActionNotAllowed');
    if (plan.kind !== 'override')
      throw OpsRequestError.conflict('override does not apply here', 'ActionNotAllowed');
    const now = clock.now();
    const agent = await features.getAgent(body.agentId);
    const obstacle = overrideObstacle(agent, instance, body.agentId, now);
    if (agent === undefined) throw OpsRequestError.notFound(obstacle ?? `no agent "${body.agentId}"`);
    if (obstacle !== undefined) throw OpsRequestError.conflict(obstacle, 'AgentUnavailable');

    const token = plan.taskToken;
    const personsWait =
      plan.from === 'assignment'
        ? undefined
        : instance.stage === 'HUMAN_REVIEW'
          ? 'HUMAN_REVIEW'
          : 'EXCEPTION';
    if (personsWait !== undefined) {
      const begun = await store.beginOverride({ itemId, taskToken: token, fromStage: personsWait, at: now });
      if (!begun)
        throw OpsRequestError.conflict(
          'the item changed while the override began (someone else acted); reload it',
        );
    }
    // The dispatcher's own conditional claim: capacity can never be exceeded, an item never goes twice.
    const claim = { agentId: agent.agentId, itemId, taskToken: token, at: now };
    const claimed = await features.claimCapacity(claim);
    if (claimed.outcome === 'conflict') {
      const restored =
        personsWait !== undefined &&
        (await store.abortOverride({ itemId, taskToken: token, toStage: personsWait, at: now }));
      if (claimed.reason === 'agent' && (personsWait === undefined || restored)) {
        throw OpsRequestError.conflict(
          `agent ${agent.agentId} could not take the item (full or unavailable at this moment); nothing changed`,
          'AgentUnavailable',
        );
      }
      throw OpsRequestError.conflict('the dispatcher assigned the item meanwhile; see its status');
    }

    const assignment = overrideAssignment({
      agent,
      actor,
      reason: body.reason,
      now,
      ...(instance.predictedHandlingSeconds === undefined
        ? {}
        : { predictedHandlingSeconds: instance.predictedHandlingSeconds }),
      ...versions(instance),
    });
    const output =
      plan.from === 'assignment'
        ? assignment
        : { action: 'override' as const, actor, reason: body.reason, agentId: agent.agentId, assignment };
    let sent: 'sent' | 'stale';
    try {
      sent = await executions.sendTaskSuccess(token, output);
    } catch (error) {
      // Unknown whether the execution got it: undo the claim; the dispatcher sees the item again.
      await features.revertClaim(claim);
      throw error;
    }
    if (sent === 'stale') {
      await features.releaseCapacity({ itemId, agentId: agent.agentId, at: now });
      throw staleWait(itemId);
    }
    await record({
      itemId,
      kind: HUMAN_AUDIT_KINDS.override,
      at: now,
      actor,
      attempt: instance.attempt,
      details: {
        agentId: agent.agentId,
        from: plan.from,
        previousAssignee: instance.assignee ?? null,
        reason: body.reason,
        explanation: assignment.explanation,
      },
      ...versions(instance),
    });
    countAction('override');
    telemetry.logger.info('override applied', { itemId, agentId: agent.agentId, actor });
    return {
      itemId,
      action: 'override',
      outcome: `assigned to ${agent.agentId}: WorkItemRouted is emitted with the override as its explanation`,
      actor,
      at: iso(now),
      agentId: agent.agentId,
    };
  };

  const appeal = async (itemId: string, body: ReasonBody, actor: string): Promise<ActionResult> => {
    const instance = await requireInstance(itemId);
    const plan = planHumanAction(waitState(instance), 'appeal', { actor, reason: body.reason });
    if (plan.kind === 'refuse') throw OpsRequestError.conflict(plan.reason, 'ActionNotAllowed');
    if (plan.kind !== 'appeal')
      throw OpsRequestError.conflict('appeal does not apply here', 'ActionNotAllowed');
    const sent = await executions.sendTaskFailure(plan.taskToken, APPEAL_ERROR, `${actor}: ${body.reason}`);
    if (sent === 'stale') throw staleWait(itemId);
    const now = clock.now();
    await record({
      itemId,
      kind: HUMAN_AUDIT_KINDS.appeal,
      at: now,
      actor,
      attempt: instance.attempt,
      details: { from: plan.from, previousAssignee: instance.assignee ?? null, reason: body.reason },
      ...versions(instance),
    });
    countAction('appeal');
    return {
      itemId,
      action: 'appeal',
      outcome: 're-opened: its slot is released and it waits at human review',
      actor,
      at: iso(now),
    };
  };

  const activePolicy = (): Promise<Policy> => activePolicyOrDefault(features, telemetry);

  const listPolicyProposals = async () => {
    const [active, proposals] = await Promise.all([activePolicy(), store.listProposals()]);
    return { active, proposals };
  };

  const proposePolicy = async (body: PolicyProposalBody, actor: string): Promise<PolicyProposal> => {
    const [active, existing] = await Promise.all([activePolicy(), store.listProposals()]);
    const obstacle = proposalObstacle(
      body.policy,
      active,
      existing.map((proposal) => proposal.version),
    );
    if (obstacle !== undefined) throw OpsRequestError.conflict(obstacle, 'ProposalNotAccepted');
    const now = clock.now();
    const proposal: PolicyProposal = {
      version: body.policy.version,
      policy: body.policy,
      rationale: body.rationale,
      proposedBy: actor,
      proposedAt: iso(now),
      status: 'proposed',
      changes: policyChanges(active, body.policy),
      baseVersion: active.version,
    };
    if ((await store.createProposal(proposal)) === 'exists') {
      throw OpsRequestError.conflict(
        `a proposal of version "${proposal.version}" already exists`,
        'ProposalNotAccepted',
      );
    }
    await record({
      itemId: policyAuditId(proposal.version),
      kind: HUMAN_AUDIT_KINDS.proposePolicy,
      at: now,
      actor,
      details: { rationale: body.rationale, changes: proposal.changes, activeVersion: active.version },
      policyVersion: proposal.version,
    });
    emitMetric(telemetry.metrics, METRICS.policyProposals, 1);
    return proposal;
  };

  const approvePolicy = async (version: string, body: ReasonBody, actor: string) => {
    const proposal = await store.getProposal(version);
    if (proposal === undefined) throw OpsRequestError.notFound(`no policy proposal of version "${version}"`);
    const obstacle = approvalObstacle(proposal, actor);
    if (obstacle !== undefined) throw OpsRequestError.conflict(obstacle, 'ApprovalNotAllowed');
    const baseVersion = proposal.baseVersion ?? (await activePolicy()).version;
    const now = clock.now();
    // Through the policy store: activated only if the version it was proposed against is still
    // active (a tuning change in between is never overwritten); a retry of the same approval finds
    // it already active, and the conditional mark below decides who approved.
    const result = await guardPolicyChange(() =>
      policies.change({
        policy: proposal.policy,
        baseVersion,
        kind: 'approved',
        reason: `${proposal.rationale} (proposed by ${proposal.proposedBy}; approved: ${body.reason})`,
        actor,
        approvedBy: actor,
      }),
    );
    const marked = await store.markApproved(version, {
      approvedBy: actor,
      approvedAt: iso(now),
      approvalReason: body.reason,
    });
    if (!marked) throw OpsRequestError.conflict(`proposal ${version} was approved by someone else meanwhile`);
    await record({
      itemId: policyAuditId(version),
      kind: HUMAN_AUDIT_KINDS.approvePolicy,
      at: now,
      actor,
      details: { reason: body.reason, previousVersion: baseVersion, proposedBy: proposal.proposedBy },
      policyVersion: version,
    });
    return {
      version,
      status: 'approved' as const,
      active: true,
      previousVersion: result.previousVersion,
      approvedBy: actor,
    };
  };

  const policyHistory = async () => {
    const [active, history, versions] = await Promise.all([
      activePolicy(),
      policies.history(),
      policies.versions(),
    ]);
    return {
      active,
      history,
      versions: versions.map(({ policy: _policy, ...summary }) => summary),
    };
  };

  const storedPolicy = async (version: string): Promise<Policy> => {
    if (version === DEFAULT_POLICY.version) return DEFAULT_POLICY;
    const record = await policies.version(version);
    if (record === undefined) {
      throw OpsRequestError.notFound(
        `no stored policy version "${version}"; \`flowtune ops policies history\` lists them`,
      );
    }
    return record.policy;
  };

  const policyVersion = async (version: string) => {
    const record = await policies.version(version);
    if (record !== undefined) return record;
    if (version === DEFAULT_POLICY.version) return { version, policy: DEFAULT_POLICY, kind: 'manual' };
    throw OpsRequestError.notFound(
      `no stored policy version "${version}"; \`flowtune ops policies history\` lists them`,
    );
  };

  const policyDiff = async (from: string, to: string) => {
    const [a, b] = await Promise.all([storedPolicy(from), storedPolicy(to)]);
    return { from, to, changes: diffPolicies(a, b) };
  };

  const rollbackPolicy = async (version: string, body: ReasonBody, actor: string) => {
    const result = await guardPolicyChange(() =>
      policies.rollbackTo({ version, actor, reason: body.reason }),
    );
    return {
      version: result.version,
      previousVersion: result.previousVersion,
      outcome: result.outcome,
      changes: result.event.changes,
      actor,
    };
  };

  return {
    itemStatus,
    bottlenecks,
    readBacklog,
    tasks,
    approve: (itemId: string, body: ReasonBody, actor: string) => decide(itemId, 'approve', body, actor),
    reject: (itemId: string, body: ReasonBody, actor: string) => decide(itemId, 'reject', body, actor),
    override,
    appeal,
    listPolicyProposals,
    proposePolicy,
    approvePolicy,
    policyHistory,
    policyVersion,
    policyDiff,
    rollbackPolicy,
    ...createTuningApprovalOperations(deps),
    ...createStaffingApprovalOperations(deps),
    ...createExperimentOperations(deps),
  };
}

export type OpsOperations = ReturnType<typeof createOpsOperations>;

/** A policy-store refusal as the 409 / 404 the person can act on. */
async function guardPolicyChange<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (error instanceof PolicyConflictError) throw OpsRequestError.conflict(error.message, 'PolicyConflict');
    if (error instanceof PolicyVersionTakenError) {
      throw OpsRequestError.conflict(error.message, 'PolicyVersionTaken');
    }
    if (error instanceof UnknownPolicyVersionError) throw OpsRequestError.notFound(error.message);
    throw error;
  }
}

/** Audit trail key of a policy version's decisions. */
export function policyAuditId(version: string): string {
  return `policy#${version}`;
}

function waitState(instance: InstanceRecord): WaitState {
  return {
    stage: instance.stage,
    scored: instance.path !== undefined,
    ...(instance.waitingFor === undefined ? {} : { waitingFor: instance.waitingFor }),
    ...(instance.taskToken === undefined ? {} : { taskToken: instance.taskToken }),
  };
}

function versions(instance: InstanceRecord): { policyVersion?: string; modelVersion?: string } {
  return {
    ...(instance.policyVersion === undefined ? {} : { policyVersion: instance.policyVersion }),
    ...(instance.modelVersion === undefined ? {} : { modelVersion: instance.modelVersion }),
  };
}

function staleWait(itemId: string): OpsRequestError {
  return OpsRequestError.conflict(
    `the wait of item ${itemId} ended before this action reached it (someone else acted, or it timed out); reload it`,
    'WaitEnded',
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A trail record with its JSON-string attributes parsed; task tokens are never shown. */
function toTrailEntry(record: TrailRecord): TrailEntry {
  const entry: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'itemId' || key === 'expiresAt' || /token/i.test(key)) continue;
    entry[key] = JSON_ATTRIBUTES.includes(key) && typeof value === 'string' ? parseJson(value) : value;
  }
  return { ...entry, kind: record.kind, at: record.at, actor: record.actor };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The context a park recorded for a person (details.context), or the whole details. */
function contextOf(entry: TrailEntry | undefined): Record<string, unknown> {
  const details = entry?.details;
  if (typeof details !== 'object' || details === null) return {};
  const context = (details as { context?: unknown }).context;
  const base = typeof context === 'object' && context !== null ? (context as Record<string, unknown>) : {};
  return { ...base, ...(typeof entry?.reason === 'string' ? { reason: entry.reason } : {}) };
}
