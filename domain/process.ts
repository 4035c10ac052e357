import { z } from 'zod';
import { AgentId, ExperimentArm, Explanation, IsoTimestamp, ItemId, WorkItemCompleted } from './events';
import { SlaPlan, WaitBound } from './policy/sla-clock';

/**
 * The contract between the process-instance state machine and its tasks: the execution input
 * and what each task returns into the state. The ASL, the handlers and the tests read these.
 */

/** Execution input, written by the intake Lambda (execution name = itemId). */
export const ProcessInput = z.object({
  itemId: ItemId,
  detailType: z.literal('WorkItemCreated'),
  source: z.string(),
  eventId: z.string(),
  receivedAt: IsoTimestamp,
  /** The raw detail as received; the Validate step parses it. */
  detail: z.unknown(),
  /** Epoch seconds (a string, for DynamoDB N) at which this item's audit records expire (TTL). */
  auditExpiresAt: z.string().regex(/^\d+$/),
  /** Routing attempt state; a re-route replaces it (attempt + 1, every agent who timed out excluded). */
  routing: z.object({
    attempt: z.literal(1),
    excludedAgents: z.array(z.string()).length(0),
  }),
});
export type ProcessInput = z.infer<typeof ProcessInput>;

/**
 * Most executions (instance attempts) one item id may have. A creation after the item's last
 * execution ended (a corrected resend after a rejection, or a new request under an old id) starts
 * the next attempt; past this the creation is refused.
 */
export const MAX_INSTANCE_ATTEMPTS = 50;

/** Step Functions' limit on an execution name. */
const MAX_EXECUTION_NAME = 80;

/**
 * The execution name of an item's `attempt`-th instance: the item id for the first, then
 * `<id>.<attempt>` (an item id has no '.', so the suffix cannot be confused with the id). An id
 * too long for the suffix is shortened and a hash of the whole id keeps names distinct.
 *
 * @example
 * executionName('HD-1', 1); // 'HD-1'
 * executionName('HD-1', 2); // 'HD-1.2'
 */
export function executionName(itemId: string, attempt: number): string {
  if (attempt <= 1) return itemId;
  const suffix = `.${attempt}`;
  if (itemId.length + suffix.length <= MAX_EXECUTION_NAME) return `${itemId}${suffix}`;
  const hash = fnv1a(itemId).toString(16).padStart(8, '0');
  return `${itemId.slice(0, MAX_EXECUTION_NAME - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/** The instance attempt an execution name stands for (1 for a name without a suffix). */
export function instanceAttemptOf(name: string): number {
  const match = /\.(\d+)$/.exec(name);
  return match === null ? 1 : Number(match[1]);
}

/** 32-bit FNV-1a: a short, stable hash (not a security measure). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Returned by the Validate step into `$.validation`. */
export type ValidationResult =
  | {
      readonly ok: true;
      /** The parsed item with defaults applied and `customerId` replaced by a keyed pseudonym. */
      readonly item: ValidatedItem;
      /** Epoch seconds (as a string, for DynamoDB N) at which this item's audit records expire (TTL). */
      readonly auditExpiresAt: string;
    }
  | {
      readonly ok: false;
      readonly auditExpiresAt: string;
      readonly field: string;
      readonly reason: string;
      readonly issues: readonly { readonly field: string; readonly reason: string }[];
    };

export interface ValidatedItem {
  readonly id: string;
  readonly kind: string;
  readonly channel: string;
  readonly category: string;
  readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
  readonly priority: number;
  readonly customerTier: string;
  readonly createdAt: string;
  /** Absolute SLA due time, resolved from slaDueAt or the SLA class. */
  readonly slaDueAt: string;
  readonly customerRef?: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly tenant?: string;
}

/** Returned by the Score step into `$.scoring`. */
export interface ScoringResult {
  readonly score: {
    readonly modelVersion: string;
    readonly predictedHandlingSeconds: number;
    readonly slaBreachRisk: number;
    readonly escalationRisk: number;
    readonly effectivePriority: number;
    readonly confidence: number;
    readonly secondsToDue: number;
  };
  readonly decision: { readonly path: 'automation' | 'routing' | 'human-review'; readonly reason: string };
  readonly policyVersion: string;
  /** The item's deadlines under the policy's SLA clock; every later wait is planned from them. */
  readonly sla: SlaPlan;
  /**
   * The current bound of each wait (TimeoutSecondsPath `$.scoring.waits.<wait>.seconds`). Score
   * plans the first assignment and review waits; Plan Wait replaces each before a later wait
   * (`completion` before every completion wait).
   */
  readonly waits: {
    readonly assignment: WaitBound;
    readonly review: WaitBound;
    readonly completion?: WaitBound;
  };
}

/**
 * What the Plan Wait task is asked (the waits after the first, and the re-route decision). Pure:
 * it reads the item's SLA plan from the state and the clock, nothing else.
 */
export const PlanWaitRequest = z.discriminatedUnion('wait', [
  z.object({ wait: z.literal('assignment'), sla: SlaPlan }),
  z.object({ wait: z.literal('review'), sla: SlaPlan }),
  z.object({ wait: z.literal('completion'), sla: SlaPlan, attempt: z.number().int().min(1) }),
  z.object({
    wait: z.literal('reroute'),
    sla: SlaPlan,
    routing: z.object({ attempt: z.number().int().min(1), excludedAgents: z.array(z.string()) }),
    agentId: AgentId,
  }),
]);
export type PlanWaitRequest = z.infer<typeof PlanWaitRequest>;

/** Plan Wait's answer: a wait's bound, or for `reroute` the decision and the next routing state. */
export const RerouteResult = z.object({
  reroute: z.boolean(),
  routing: z.object({ attempt: z.number().int().min(2), excludedAgents: z.array(AgentId) }),
  reason: z.string(),
});
export type RerouteResult = z.infer<typeof RerouteResult>;
export { SlaPlan, WaitBound };

/** Sent by the dispatcher with SendTaskSuccess into `$.assignment`. */
export const AssignmentResult = z.object({
  agentId: AgentId,
  agentKind: z.enum(['person', 'team', 'automation']),
  predictedHandlingSeconds: z.number(),
  explanation: Explanation,
  policyVersion: z.string(),
  modelVersion: z.string(),
  experimentArm: ExperimentArm,
  routedAt: IsoTimestamp,
});
export type AssignmentResult = z.infer<typeof AssignmentResult>;

/** Sent by the completion handler with SendTaskSuccess into `$.completion`. */
export const CompletionResult = WorkItemCompleted;
export type CompletionResult = z.infer<typeof CompletionResult>;

const Actor = z.string().min(1);
const Reason = z.string().min(1);

/** A person's override: the assignment already claimed (the dispatcher's conditional claim) for the named agent. */
const Override = z.object({
  action: z.literal('override'),
  actor: Actor,
  reason: Reason,
  agentId: AgentId,
  assignment: AssignmentResult,
});

/**
 * What a person sends to Human Review (`$.review`): approve, reject, or override with the
 * assignment already claimed (through the dispatcher's conditional claim) for the named agent.
 */
export const ReviewDecision = z.discriminatedUnion('action', [
  z.object({ action: z.literal('approve'), actor: Actor, reason: Reason }),
  z.object({ action: z.literal('reject'), actor: Actor, reason: Reason }),
  Override,
]);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/**
 * What a person sends to Wait For Exception Resolution (`$.resolution`): close it, requeue a
 * scored item, or override with an assignment claimed for the named agent.
 */
export const ExceptionDecision = z.discriminatedUnion('action', [
  z.object({ action: z.literal('close'), actor: Actor, reason: Reason }),
  z.object({ action: z.literal('requeue'), actor: Actor, reason: Reason }),
  Override,
]);
export type ExceptionDecision = z.infer<typeof ExceptionDecision>;

/** What the state machine sends to the dispatch FIFO queue (Wait For Assignment) and ticks. */
export const DispatchMessage = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('enqueue'),
    taskToken: z.string().min(1),
    itemId: ItemId,
    category: z.string(),
    requiredSkills: z.array(z.object({ skill: z.string(), minProficiency: z.number() })),
    priority: z.number(),
    createdAt: IsoTimestamp,
    slaDueAt: IsoTimestamp,
    attempt: z.number().int().min(1),
    excludedAgents: z.array(z.string()),
    /** Weighs into the routing cost per the policy (absent in messages sent before it was added). */
    customerTier: z.string().optional(),
    enqueuedAt: IsoTimestamp,
  }),
  z.object({ kind: z.literal('tick'), reason: z.string(), at: IsoTimestamp }),
]);
export type DispatchMessage = z.infer<typeof DispatchMessage>;

/** Payload of the park Lambda (.waitForTaskToken): store the token for the awaited event. */
export const ParkRequest = z.object({
  waitingFor: z.enum(['completion', 'human-review', 'exception']),
  taskToken: z.string().min(1),
  itemId: ItemId,
  attempt: z.number().int().min(1),
  agentId: AgentId.optional(),
  /** Context shown to the person who resolves a review or exception. */
  context: z.record(z.string(), z.unknown()).default({}),
});
export type ParkRequest = z.infer<typeof ParkRequest>;
