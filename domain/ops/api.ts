import { z } from 'zod';
import { AgentId, ItemId } from '../events';
import { MAX_PROPOSED_VERSION_LENGTH, Policy, PolicyVersion } from '../policy';
import { Experiment, ExperimentGuardrails, ExperimentStoppingRule } from '../tuning/experiments';

/**
 * The operations API contract, in one place: its routes and the zod schemas of its request
 * bodies. The Lambda routes and validates with it, the CDK construct builds the REST resources
 * and the API Gateway request models (JSON Schema draft 4, generated from these schemas) from it,
 * and the CLI and the local server speak it.
 */

/** Why a person acts: kept in the audit record and shown to the next person. */
export const Reason = z
  .string()
  .trim()
  .min(3, 'must say why, in at least 3 characters')
  .max(1000, 'must be at most 1000 characters');

export const ReasonBody = z.object({ reason: Reason }).strict();
export type ReasonBody = z.infer<typeof ReasonBody>;

export const OverrideBody = z.object({ agentId: AgentId, reason: Reason }).strict();
export type OverrideBody = z.infer<typeof OverrideBody>;

/** A policy document a person puts forward (a proposal, an experiment's candidate). */
export const ProposedPolicy = Policy.refine(
  (policy) => policy.version.length <= MAX_PROPOSED_VERSION_LENGTH,
  {
    message: `a proposed version has at most ${MAX_PROPOSED_VERSION_LENGTH} characters (automatic changes append a suffix)`,
    path: ['version'],
  },
);

export const PolicyProposalBody = z
  .object({
    policy: ProposedPolicy,
    rationale: z.string().trim().min(3, 'must say why, in at least 3 characters').max(2000),
  })
  .strict();
export type PolicyProposalBody = z.infer<typeof PolicyProposalBody>;

/** An experiment's id: the `experimentId` of the Experiment document. */
export const ExperimentId = Experiment.shape.experimentId;

/** Bounds of an A/B experiment's treatment share (the candidate decides this fraction of new items). */
export const MIN_SPLIT = 0.01;
export const MAX_SPLIT = 0.5;

/**
 * POST /experiments: a candidate policy (the Policy schema, as a proposal's), the kind, the split
 * (A/B only), its own guardrails and stopping rule over the configured ones, and why.
 */
export const ExperimentStartBody = z
  .object({
    candidate: ProposedPolicy,
    kind: z.enum(['ab', 'shadow'], 'must be "ab" or "shadow"'),
    /** Fraction of new items the candidate decides (A/B; a shadow experiment decides none). */
    split: z
      .number()
      .min(MIN_SPLIT, `must be at least ${MIN_SPLIT}`)
      .max(MAX_SPLIT, `must be at most ${MAX_SPLIT} (the candidate never decides most items)`)
      .optional(),
    guardrails: ExperimentGuardrails.optional(),
    stopping: ExperimentStoppingRule.optional(),
    /** @default `exp-<start time>` */
    experimentId: ExperimentId.optional(),
    reason: Reason,
  })
  .strict()
  .superRefine((body, context) => {
    if (body.kind === 'ab' && body.split === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['split'],
        message: `an A/B experiment needs its split (${MIN_SPLIT}-${MAX_SPLIT})`,
      });
    }
    if (body.kind === 'shadow' && body.split !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['split'],
        message: 'a shadow experiment has no split: the candidate decides no item',
      });
    }
    const { minDecidedPerArm, maxDecidedPerArm } = body.stopping ?? {};
    if (
      minDecidedPerArm !== undefined &&
      maxDecidedPerArm !== undefined &&
      minDecidedPerArm > maxDecidedPerArm
    ) {
      context.addIssue({
        code: 'custom',
        path: ['stopping', 'maxDecidedPerArm'],
        message: `must be at least minDecidedPerArm (${minDecidedPerArm})`,
      });
    }
  });
export type ExperimentStartBody = z.infer<typeof ExperimentStartBody>;

/** Request bodies by model name (the API Gateway model of each is generated from it). */
export const REQUEST_BODIES = {
  Reason: ReasonBody,
  Override: OverrideBody,
  PolicyProposal: PolicyProposalBody,
  ExperimentStart: ExperimentStartBody,
} as const;
export type RequestBodyName = keyof typeof REQUEST_BODIES;

/**
 * The JSON Schema (draft 4, what API Gateway models accept) of a request body, generated from its
 * zod schema so the gateway's validation and the Lambda's can never disagree.
 */
export function requestBodyJsonSchema(name: RequestBodyName): Record<string, unknown> {
  return z.toJSONSchema(REQUEST_BODIES[name], { io: 'input', unrepresentable: 'any', target: 'draft-04' });
}

/** What the schedule sends the ops function every minute: take a backlog snapshot. */
export const BacklogSnapshotRequest = z.object({ kind: z.literal('backlog-snapshot') });
export const BACKLOG_SNAPSHOT_REQUEST: z.infer<typeof BacklogSnapshotRequest> = { kind: 'backlog-snapshot' };

/** The one policy version format, shared with the Policy schema so a proposal's version is always routable. */
export { PolicyVersion };

/**
 * A stored policy version as the history shows it: an operator's (`v2`), the tuning loop's
 * (`default-1+t7`) or the allocation job's (`default-1+a202611200915`).
 */
export const StoredPolicyVersion = z
  .string()
  .regex(/^[A-Za-z0-9._+:#-]{1,160}$/, 'must be 1-160 characters of letters, digits or "._+:#-"');

/** GET /policies/diff?from=A&to=B */
export const PolicyDiffQuery = z.object({ from: StoredPolicyVersion, to: StoredPolicyVersion });

/** A held tuning change: the name of the tuning execution that waits for it. */
export const TuningApprovalId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,80}$/, 'must be 1-80 characters of letters, digits, ".", "_" or "-"');

/**
 * A staffing move or offload the allocation job left for a person: its recommendation id (the
 * `recommendationId` of StaffingRecommended, e.g. `alloc-1763629200000-3`).
 */
export const StaffingApprovalId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 characters of letters, digits, ".", "_", ":" or "-"');

/**
 * Path parameters and their schemas. `approvalId` is a tuning approval's by default; the staffing
 * routes parse theirs with StaffingApprovalId.
 */
export const PATH_PARAMETERS = {
  itemId: ItemId,
  version: PolicyVersion,
  policyVersion: StoredPolicyVersion,
  approvalId: TuningApprovalId,
  experimentId: ExperimentId,
} as const;
export type PathParameterName = keyof typeof PATH_PARAMETERS;

export const TasksQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export type OpsOperation =
  | 'itemStatus'
  | 'bottlenecks'
  | 'tasks'
  | 'approve'
  | 'reject'
  | 'override'
  | 'appeal'
  | 'listPolicyProposals'
  | 'proposePolicy'
  | 'approvePolicy'
  | 'policyHistory'
  | 'policyVersion'
  | 'policyDiff'
  | 'rollbackPolicy'
  | 'listTuningApprovals'
  | 'approveTuningChange'
  | 'rejectTuningChange'
  | 'listStaffingApprovals'
  | 'approveStaffingMove'
  | 'rejectStaffingMove'
  | 'listExperiments'
  | 'startExperiment'
  | 'experimentStatus'
  | 'stopExperiment';

export interface OpsRoute {
  readonly operation: OpsOperation;
  readonly method: 'GET' | 'POST';
  /** API Gateway resource path, `{name}` for a path parameter. */
  readonly resource: string;
  readonly summary: string;
  readonly body?: RequestBodyName;
  /** Optional query-string parameters. */
  readonly query?: readonly string[];
}

export const OPS_ROUTES = [
  {
    operation: 'itemStatus',
    method: 'GET',
    resource: '/items/{itemId}',
    summary: 'Item status: stage, wait, assignee, times, the actions open to a person, and the audit trail.',
  },
  {
    operation: 'bottlenecks',
    method: 'GET',
    resource: '/bottlenecks',
    summary: 'Items and oldest age per stage, overall and per queue, with headlines.',
  },
  {
    operation: 'tasks',
    method: 'GET',
    resource: '/tasks',
    summary: 'Pending human tasks (review, exceptions) with their full context and alternatives.',
    query: ['limit'],
  },
  {
    operation: 'approve',
    method: 'POST',
    resource: '/items/{itemId}/approve',
    summary: 'Approve the automated decision in review (or requeue an exception).',
    body: 'Reason',
  },
  {
    operation: 'reject',
    method: 'POST',
    resource: '/items/{itemId}/reject',
    summary: 'Reject the item in review (or close an exception).',
    body: 'Reason',
  },
  {
    operation: 'override',
    method: 'POST',
    resource: '/items/{itemId}/override',
    summary: 'Assign the item to a named agent, taking its capacity through the conditional claim.',
    body: 'Override',
  },
  {
    operation: 'appeal',
    method: 'POST',
    resource: '/items/{itemId}/appeal',
    summary: 'Re-open the decision on a routed item: it goes back to human review.',
    body: 'Reason',
  },
  {
    operation: 'listPolicyProposals',
    method: 'GET',
    resource: '/policies/proposals',
    summary: 'Proposed and approved policy versions.',
  },
  {
    operation: 'proposePolicy',
    method: 'POST',
    resource: '/policies/proposals',
    summary: 'Propose a policy version (validated by the Policy schema); another person approves it.',
    body: 'PolicyProposal',
  },
  {
    operation: 'approvePolicy',
    method: 'POST',
    resource: '/policies/proposals/{version}/approve',
    summary:
      'Approve a proposal (not your own): it becomes the active policy, if the active one is still the version it was proposed against.',
    body: 'Reason',
  },
  {
    operation: 'policyHistory',
    method: 'GET',
    resource: '/policies/history',
    summary:
      'The active policy, every change (who, why, from which version, what changed) and every stored version.',
  },
  {
    operation: 'policyVersion',
    method: 'GET',
    resource: '/policies/versions/{policyVersion}',
    summary: 'One stored (immutable) policy version with who created it and why.',
  },
  {
    operation: 'policyDiff',
    method: 'GET',
    resource: '/policies/diff',
    summary: 'Field-by-field difference between two stored policy versions.',
    query: ['from', 'to'],
  },
  {
    operation: 'rollbackPolicy',
    method: 'POST',
    resource: '/policies/versions/{policyVersion}/rollback',
    summary:
      'Make a stored version active again, if the active one is still the one you saw; audited and announced (PolicyChanged).',
    body: 'Reason',
  },
  {
    operation: 'listTuningApprovals',
    method: 'GET',
    resource: '/tuning/approvals',
    summary:
      'High-impact policy changes the tuning loop holds for a person (e.g. a promotion to another routing strategy), with their evidence.',
  },
  {
    operation: 'approveTuningChange',
    method: 'POST',
    resource: '/tuning/approvals/{approvalId}/approve',
    summary: 'Approve a held tuning change: the tuning workflow activates it as a new policy version.',
    body: 'Reason',
  },
  {
    operation: 'rejectTuningChange',
    method: 'POST',
    resource: '/tuning/approvals/{approvalId}/reject',
    summary: 'Reject a held tuning change: nothing changes but the experiment, which ends rejected.',
    body: 'Reason',
  },
  {
    operation: 'listStaffingApprovals',
    method: 'GET',
    resource: '/allocation/approvals',
    summary:
      'Staffing moves and offloads the allocation job left for a person, with the guardrail that held each, the forecast and the staffing need behind it, and when it expires.',
  },
  {
    operation: 'approveStaffingMove',
    method: 'POST',
    resource: '/allocation/approvals/{approvalId}/approve',
    summary: 'Approve a held staffing move or offload: the next allocation run applies it under your name.',
    body: 'Reason',
  },
  {
    operation: 'rejectStaffingMove',
    method: 'POST',
    resource: '/allocation/approvals/{approvalId}/reject',
    summary: 'Reject a held staffing move or offload: nothing changes.',
    body: 'Reason',
  },
  {
    operation: 'listExperiments',
    method: 'GET',
    resource: '/experiments',
    summary:
      'The current experiment and the past ones: kind, candidate and control versions, split, status, who started it.',
  },
  {
    operation: 'startExperiment',
    method: 'POST',
    resource: '/experiments',
    summary:
      'Start an A/B or shadow experiment of a candidate policy (validated by the Policy schema) with its split, guardrails and stopping rule; 409 while another one runs.',
    body: 'ExperimentStart',
  },
  {
    operation: 'experimentStatus',
    method: 'GET',
    resource: '/experiments/{experimentId}',
    summary:
      "An experiment's arms and their KPIs, the sequential tests' evidence, and what happens next (promote when, roll back when, ends at).",
  },
  {
    operation: 'stopExperiment',
    method: 'POST',
    resource: '/experiments/{experimentId}/stop',
    summary: 'Stop a running experiment: the control stays, nothing is promoted; audited under your name.',
    body: 'Reason',
  },
] as const satisfies readonly OpsRoute[];

/**
 * The route whose resource template matches a concrete path, with the path parameters.
 *
 * @example
 * matchRoute('POST', '/items/HD-1/approve'); // { route: approve route, pathParameters: { itemId: 'HD-1' } }
 */
export function matchRoute(
  method: string,
  path: string,
): { readonly route: OpsRoute; readonly pathParameters: Record<string, string> } | undefined {
  const segments = path.replace(/\/+$/, '').split('/').filter(Boolean);
  for (const route of OPS_ROUTES as readonly OpsRoute[]) {
    if (route.method !== method) continue;
    const template = route.resource.split('/').filter(Boolean);
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = template.every((part, index) => {
      const segment = segments[index] as string;
      const parameter = /^\{(\w+)\}$/.exec(part)?.[1];
      if (parameter === undefined) return part === segment;
      pathParameters[parameter] = decodedSegment(segment);
      return true;
    });
    if (matches) return { route, pathParameters };
  }
  return undefined;
}

/**
 * A path segment percent-decoded, or as sent when its encoding is malformed (`%E0%A4%A`): the
 * parameter's schema then refuses it with a 400 naming the parameter, where decodeURIComponent
 * would throw (a 500).
 */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** True when some route has this resource template but another method (a 405, not a 404). */
export function resourceExists(path: string): boolean {
  return ['GET', 'POST'].some((method) => matchRoute(method, path) !== undefined);
}

/** Error body of every 4xx and 5xx answer: never a stack trace. */
export interface OpsErrorBody {
  readonly error: string;
  readonly message: string;
  /** The offending field, for a 400. */
  readonly field?: string;
  readonly requestId?: string;
}
