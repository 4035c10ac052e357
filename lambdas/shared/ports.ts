import type { z } from 'zod';
import type { OUTBOUND_EVENTS, OutboundDetailType } from '../../domain/events';
import type {
  AgentKind,
  AgentState,
  DecisionPath,
  HandlingFeatures,
  HandlingStats,
} from '../../domain/model';
import type { Policy } from '../../domain/policy';
import type { CompletionResult, DispatchMessage, ProcessInput } from '../../domain/process';
import type { Stage } from '../../lib/definitions/tables';

/**
 * The effects the handlers need, as interfaces. Each has a DynamoDB / EventBridge / Step
 * Functions / SQS implementation for Lambda and an in-memory one for tests; the local runtime
 * plugs in DynamoDB Local and its own event router, token registry and dispatch loop. The
 * conditions written in each method's documentation are the contract: both implementations
 * enforce them, and test/handlers/port-contract.ts checks both against the same cases.
 */

/** Injected time source (epoch ms), so tests and the simulator control the clock. */
export interface Clock {
  now(): number;
}

/** A pending timer of a TimerClock. `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/**
 * A clock that owns waiting too: every timer and sleep runs in its time, so whoever waits on it
 * (the local runtime, its jobs, the workload) waits in one time, wall or virtual. A Lambda gets
 * `systemClock` (wall time); the local runtime a scaled wall clock or a virtual one
 * (local/virtual-clock.ts) that jumps from timer to timer whenever nothing is in flight.
 */
export interface TimerClock extends Clock {
  /**
   * Runs `callback` once, `ms` of this clock's time from now (0 or less: as soon as possible, never
   * synchronously). A promise the callback returns counts as work in flight until it settles.
   */
  setTimer(ms: number, callback: () => unknown): Timer;
  /** Resolves `ms` of this clock's time from now, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Counts `work` as in flight until it settles: a virtual clock does not move meanwhile. A wall
   * clock has nothing to hold and returns `work` itself.
   */
  track<T>(work: Promise<T>): Promise<T>;
}

/** A TimerClock on wall time, where `ms` of the clock last `ms / scale` wall ms (1: plain wall time). */
export function wallTimerClock(now: () => number, scale = 1): TimerClock {
  const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(handle);
        resolve();
      };
      const handle = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms / scale),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  return {
    now,
    setTimer: (ms, callback) => {
      const handle = setTimeout(() => void callback(), Math.max(0, ms / scale));
      return { cancel: () => clearTimeout(handle) };
    },
    sleep,
    track: (work) => work,
  };
}

/** Wall time: what a deployed Lambda runs on. */
export const systemClock: TimerClock = wallTimerClock(() => Date.now());

// ---------------------------------------------------------------------------------------------
// Features table
// ---------------------------------------------------------------------------------------------

/** What an AgentStatusChanged tells us; the store adds activeCount and idleSince. */
export interface AgentProfile {
  readonly agentId: string;
  readonly kind: AgentKind;
  readonly status: AgentState['status'];
  readonly capacity: number;
  readonly skills: readonly { readonly skill: string; readonly proficiency: number }[];
  readonly shiftEndsAt?: number;
  /** When the producer observed the change (ms); older changes than the stored one are ignored. */
  readonly changedAt: number;
}

export type PutAgentOutcome = 'created' | 'updated' | 'stale';

/** Capacity claim: one slot of `agentId` for `itemId`, consuming the item's assignment wait. */
export interface CapacityClaim {
  readonly agentId: string;
  readonly itemId: string;
  /** The Wait For Assignment token that must still be on the instance. */
  readonly taskToken: string;
  readonly at: number;
}

export type ClaimOutcome =
  | { readonly outcome: 'claimed' }
  /** A condition failed: the agent is full/unavailable, or the item is no longer waiting with this token. */
  | { readonly outcome: 'conflict'; readonly reason: 'agent' | 'instance' | 'both' };

/** Which running statistics an observation feeds. */
export type StatsKey =
  | { readonly scope: 'global' }
  | { readonly scope: 'category'; readonly category: string }
  | { readonly scope: 'category-agent'; readonly category: string; readonly agentId: string };

/** The queue an agent works (resource allocation), kept on the agent's Features record. */
export interface QueueAssignment {
  readonly agentId: string;
  readonly queueId: string;
  /** When it was set (ms). */
  readonly assignedAt: number;
  /** `flowtune:allocation`, or the person who set or approved it. */
  readonly assignedBy: string;
  /** The StaffingRecommended that moved the agent here, when one did. */
  readonly recommendationId?: string;
}

export type AssignQueueOutcome = 'assigned' | 'conflict' | 'unknown-agent';

export interface FeatureStore {
  getAgent(agentId: string): Promise<AgentState | undefined>;
  listAgents(): Promise<AgentState[]>;
  /**
   * Writes an agent's profile, preserving activeCount (0 for a new agent). idleSince becomes
   * `changedAt` when the agent turns available from another status (or is new); otherwise it is
   * kept. Condition: no stored change newer than or equal to `changedAt` (else 'stale').
   */
  putAgentProfile(profile: AgentProfile): Promise<PutAgentOutcome>;
  /**
   * In ONE transaction: agent.activeCount += 1 if status = available and activeCount < capacity;
   * the instance moves WAITING_ASSIGNMENT → ASSIGNED (assignee, capacityHeldBy, lastAssignmentToken
   * set; taskToken and waitingFor removed) if it is WAITING_ASSIGNMENT with this taskToken.
   * Either both happen or neither, so capacity can never be exceeded and an item never goes twice.
   */
  claimCapacity(claim: CapacityClaim): Promise<ClaimOutcome>;
  /**
   * In one transaction: agent.activeCount −= 1 (floored: skipped when already 0) and the
   * instance's capacityHeldBy removed, only if capacityHeldBy = agentId. Retries and races
   * therefore release at most once per claim.
   */
  releaseCapacity(release: {
    readonly itemId: string;
    readonly agentId: string;
    readonly at: number;
  }): Promise<'released' | 'not-held'>;
  /**
   * Undoes a claim whose resume failed transiently: activeCount −= 1 and the instance back to
   * WAITING_ASSIGNMENT with the token, only if it is still ASSIGNED by exactly this claim.
   */
  revertClaim(claim: CapacityClaim): Promise<'reverted' | 'not-claimed'>;
  readHandlingFeatures(): Promise<HandlingFeatures>;
  /**
   * Read-modify-write of one statistics record with optimistic concurrency on its version:
   * `update` may run several times under contention; it must be pure.
   */
  updateHandlingStats(
    key: StatsKey,
    update: (current: HandlingStats | undefined) => HandlingStats,
  ): Promise<void>;
  /** The active decision policy; DEFAULT_POLICY when none is stored. Throws InvalidStoredPolicyError. */
  getActivePolicy(): Promise<Policy>;
  putActivePolicy(policy: Policy): Promise<void>;
  /** Every agent's queue, sorted by agentId; agents without a queue are absent. */
  listQueueAssignments(): Promise<QueueAssignment[]>;
  /**
   * Sets the agent's queue, leaving its profile, activeCount and idleSince as they are (and a
   * later profile update leaves the queue). Conditions: the agent exists ('unknown-agent'), and
   * its queue is still `expectedQueueId` — none when undefined — so a move planned from a stale
   * view, or racing an operator's, never lands ('conflict').
   */
  assignQueue(assignment: QueueAssignment, expectedQueueId: string | undefined): Promise<AssignQueueOutcome>;
}

// ---------------------------------------------------------------------------------------------
// Instances table
// ---------------------------------------------------------------------------------------------

export type WaitKind = 'assignment' | 'completion' | 'human-review' | 'exception';

/** Stages after which no wait can start again. */
export const TERMINAL_STAGES: readonly Stage[] = ['COMPLETED', 'CANCELLED', 'REJECTED'];

/** Stages that block a park of this kind. */
export function stagesBlockingPark(waitingFor: Exclude<WaitKind, 'assignment'>): readonly Stage[] {
  return waitingFor === 'exception' ? ['CANCELLED'] : TERMINAL_STAGES;
}

export interface SkillRequirement {
  readonly skill: string;
  readonly minProficiency: number;
}

/** One live item as stored on the Instances table. Times are epoch ms unless said otherwise. */
export interface InstanceRecord {
  readonly itemId: string;
  readonly stage: Stage;
  readonly stageEnteredAt: number;
  readonly category: string;
  readonly priority: number;
  readonly requiredSkills: readonly SkillRequirement[];
  readonly createdAt: number;
  readonly slaDueAt: number;
  readonly attempt: number;
  readonly excludedAgents: readonly string[];
  /** The customer's tier, for the routing cost (absent on items enqueued before it was kept). */
  readonly customerTier?: string;
  readonly enqueuedAt?: number;
  readonly assignee?: string;
  readonly taskToken?: string;
  readonly waitingFor?: WaitKind;
  /** A completion that arrived before the execution parked for it. */
  readonly earlyCompletion?: CompletionResult;
  /**
   * Set on a bare record that keeps a finish event (completion or cancellation) which arrived
   * before its item was registered, possibly before its creation left the intake queue; Score
   * clears it. Still set long after (UNCLAIMED_FINISH_MS), the creation never came: the
   * dispatcher's round refuses the finish event and forgets the record (answerUnclaimedFinishes).
   */
  readonly awaitingCreationSince?: number;
  /** Epoch seconds (TTL). */
  readonly expiresAt: number;
  readonly path?: DecisionPath;
  readonly predictedHandlingSeconds?: number;
  readonly modelVersion?: string;
  readonly policyVersion?: string;
  /** The agent whose slot this item holds; cleared by the (single) release. */
  readonly capacityHeldBy?: string;
  /** The assignment token the last claim consumed: a redelivered enqueue of it is ignored. */
  readonly lastAssignmentToken?: string;
  readonly assignedAt?: number;
  /** Set when a completion resumed (or was handed to) the execution: later ones are duplicates. */
  readonly completionReceivedAt?: number;
  /**
   * A completion taken for a wait whose resume is not yet confirmed. Taking it and recording it
   * here is one write, so a resume that fails (and whose undo fails too) is not lost: whoever
   * finds it next (the completion's redelivery, a duplicate, a retried or later park) re-sends it.
   */
  readonly pendingHandover?: PendingHandover;
  /** The scoring model's confidence in its prediction (the tuning loop's confidence-drift input). */
  readonly confidence?: number;
  readonly cancellation?: { readonly reason: string; readonly cancelledAt: string };
  readonly outcomeRecordedAt?: number;
  readonly tenant?: string;
  /** Which execution of this item id the record belongs to (absent: the first). */
  readonly instanceAttempt?: number;
}

/** What one instance attempt leaves on the record and the next attempt must not inherit. */
export const ATTEMPT_FACTS = [
  'assignee',
  'taskToken',
  'waitingFor',
  'earlyCompletion',
  'awaitingCreationSince',
  'enqueuedAt',
  'customerTier',
  'lastAssignmentToken',
  'assignedAt',
  'completionReceivedAt',
  'pendingHandover',
  'cancellation',
  'outcomeRecordedAt',
] as const satisfies readonly (keyof InstanceRecord)[];

/** A completion on its way to a wait: the token it was taken for and the completion itself. */
export interface PendingHandover {
  readonly taskToken: string;
  readonly completion: CompletionResult;
  readonly since: number;
  /** The event whose delivery took the token (absent when a park took an early completion). */
  readonly eventId?: string;
}

/** What the Score step knows about an item. */
export interface ScoredInstance {
  readonly itemId: string;
  readonly category: string;
  readonly priority: number;
  readonly requiredSkills: readonly SkillRequirement[];
  readonly createdAt: number;
  readonly slaDueAt: number;
  readonly attempt: number;
  /**
   * Which execution of this item id (1 for the first): a later one replaces the record of an
   * earlier, ended one (see recordScored). @default 1
   */
  readonly instanceAttempt?: number;
  readonly path: DecisionPath;
  readonly predictedHandlingSeconds: number;
  readonly modelVersion: string;
  readonly policyVersion: string;
  /** The model's confidence in its prediction, 0..1. */
  readonly confidence?: number;
  readonly tenant?: string;
  readonly at: number;
}

/**
 * An enqueue whose wait began this long before the item's latest enqueued wait belongs to a wait
 * that is over (each new Wait For Assignment has a later entered time): it is refused, so a
 * redelivered or redriven old message cannot overwrite the live wait's token or re-open an
 * assigned item. The margin absorbs clock skew between Step Functions and the ops API, which
 * stamps enqueuedAt on an override; waits of one item closer together than this are not told apart.
 */
export const SUPERSEDED_ENQUEUE_MARGIN_MS = 60_000;

/** An item joining the dispatcher's waiting set (from a DispatchMessage of kind 'enqueue'). */
export interface EnqueueRequest {
  readonly itemId: string;
  readonly taskToken: string;
  readonly category: string;
  readonly priority: number;
  readonly requiredSkills: readonly SkillRequirement[];
  readonly createdAt: number;
  readonly slaDueAt: number;
  readonly attempt: number;
  readonly excludedAgents: readonly string[];
  readonly customerTier?: string;
  readonly enqueuedAt: number;
  readonly at: number;
}

/** Why a conditional instance write did not happen, with the record as it stands. */
export type InstanceConflict = { readonly ok: false; readonly current: InstanceRecord | undefined };
export type InstanceWrite = { readonly ok: true } | InstanceConflict;

export interface InstanceStore {
  get(itemId: string): Promise<InstanceRecord | undefined>;
  /** Items in a stage, oldest stageEnteredAt first (the byStage index). */
  listByStage(stage: Stage, limit?: number): Promise<InstanceRecord[]>;
  /**
   * Upserts the scoring facts and moves the item to SCORED, clearing awaitingCreationSince.
   * Condition: the item is new, or of the same instance attempt, not in a terminal stage and
   * carrying no cancellation (one kept before registration: the caller cancels instead). Fields it
   * does not name (earlyCompletion, capacityHeldBy...) are kept. For a later instance attempt than
   * the stored one (a new execution after the last one ended) the record starts afresh: every
   * fact of the earlier attempt's waits, completion and outcome is removed.
   */
  recordScored(scored: ScoredInstance): Promise<InstanceWrite>;
  /**
   * Upserts the item into WAITING_ASSIGNMENT with the token (waitingFor 'assignment'), removing
   * any previous assignee. Condition: not terminal, the token is not the one the last claim
   * consumed (a redelivered enqueue), and no later wait has been enqueued since: the stored
   * enqueuedAt is not after `request.enqueuedAt + SUPERSEDED_ENQUEUE_MARGIN_MS` (an old enqueue
   * redriven from the DLQ after a re-route). Re-sending the same pending token is a harmless overwrite.
   */
  enqueue(request: EnqueueRequest): Promise<InstanceWrite>;
  /**
   * Stores a wait's token (park), creating a bare record when there is none (an exception can be
   * raised before Score wrote one). Condition: the stage is not terminal (for an exception wait:
   * not CANCELLED, since a finished item can still fail afterwards); when waiting for completion,
   * no earlyCompletion and no pendingHandover is present (deliver it instead).
   */
  storeTaskToken(park: {
    readonly itemId: string;
    readonly taskToken: string;
    readonly waitingFor: Exclude<WaitKind, 'assignment'>;
    readonly stage: Stage;
    readonly assignee?: string;
    readonly attempt: number;
    readonly at: number;
  }): Promise<InstanceWrite>;
  /**
   * Takes a stored early completion for the wait holding `taskToken` (removing it, setting
   * completionReceivedAt, stage IN_PROGRESS and a pendingHandover for that token) if one is
   * present; undefined otherwise. At most one caller gets it.
   */
  consumeEarlyCompletion(
    itemId: string,
    at: number,
    taskToken: string,
  ): Promise<CompletionResult | undefined>;
  /**
   * Clears the completion wait's token so exactly one completion resumes it, and records the
   * completion as a pendingHandover for that token in the same write. Condition: taskToken =
   * token and waitingFor = 'completion'. Sets completionReceivedAt; `eventId` names the delivery
   * that took it, so a concurrent duplicate can tell the taker's hand-over from a stalled one.
   */
  takeCompletionToken(
    itemId: string,
    taskToken: string,
    at: number,
    completion: CompletionResult,
    eventId?: string,
  ): Promise<InstanceWrite>;
  /**
   * The resume of a pendingHandover was confirmed: removes it. Condition: the pending handover
   * is for `taskToken` (a conflict means someone else already settled it; nothing to do).
   */
  confirmHandover(itemId: string, taskToken: string): Promise<InstanceWrite>;
  /**
   * Keeps a completion for a wait that has not started. Condition: the item exists, is not
   * terminal, has no earlyCompletion and no completionReceivedAt (unless `replacesReceived`, used
   * when the resume it was taken for found the wait gone; it also removes the pendingHandover),
   * and no completion wait holds a token.
   */
  storeEarlyCompletion(
    itemId: string,
    completion: CompletionResult,
    options?: { readonly replacesReceived?: boolean },
  ): Promise<InstanceWrite>;
  /**
   * Keeps a completion or cancellation that overtook the item's registration (its creation may
   * still wait in the intake queue, or Score has not written the record yet): creates a bare
   * VALIDATING record carrying it, with awaitingCreationSince = `at`. Score then upserts around an
   * early completion, and turns a kept cancellation into CANCELLED (recordScored refuses a record
   * carrying one), so the first wait fails at once. Condition: no record exists.
   */
  recordBeforeRegistration(
    itemId: string,
    at: number,
    early:
      | { readonly completion: CompletionResult }
      | { readonly cancellation: { readonly reason: string; readonly cancelledAt: string } },
  ): Promise<InstanceWrite>;
  /**
   * Deletes a bare record kept for a creation that never came, once its finish event has been
   * refused. Condition: stage VALIDATING, awaitingCreationSince = `since`, no task token (a wait
   * would mean the item did start after all).
   */
  forgetUnclaimedFinish(itemId: string, since: number): Promise<InstanceWrite>;
  /**
   * Marks the item CANCELLED and removes its token. Condition: not terminal, and the stored token
   * equals `expectedToken` (or no token is stored when it is undefined).
   */
  markCancelled(
    itemId: string,
    cancellation: { readonly reason: string; readonly cancelledAt: string },
    expectedToken: string | undefined,
    at: number,
  ): Promise<InstanceWrite>;
  /**
   * A person rejected the item in its wait: REJECTED, token removed, so it leaves the task list and
   * the bottleneck view and no later action can take it. Condition: not terminal, and the stored
   * token equals `expectedToken` (the wait the rejection resumed).
   */
  markRejected(itemId: string, expectedToken: string, at: number): Promise<InstanceWrite>;
  /** Moves the item to COMPLETED once. Condition: outcomeRecordedAt is not set. */
  markOutcomeRecorded(itemId: string, at: number, expiresAt: number): Promise<InstanceWrite>;
}

// ---------------------------------------------------------------------------------------------
// Audit table
// ---------------------------------------------------------------------------------------------

export const AUDIT_KINDS = [
  'RECEIVED',
  'REJECTED',
  'DUPLICATE',
  'SCORED',
  'ASSIGNED',
  'ASSIGNMENT_STALE',
  'ASSIGNMENT_RECOVERED',
  'ALLOCATION_RUN',
  'STAFFING_RECOMMENDED',
  'ROUTED',
  'REROUTED',
  'ESCALATED',
  'HUMAN_REVIEW_REQUESTED',
  'COMPLETION_WAIT',
  'COMPLETION_RECEIVED',
  'EARLY_COMPLETION',
  'COMPLETED',
  'CANCELLED',
  'LATE_COMPLETION',
  'DUPLICATE_COMPLETION',
  'DUPLICATE_CANCELLATION',
  'LATE_CANCELLATION',
  'AGENT_STATUS_CHANGED',
  /** An agent status change no newer than the stored one (a replay or an overtaken change): kept, not applied. */
  'AGENT_STATUS_STALE',
  /** The assignee went offline while the item waited for its completion: the wait was ended for a re-route. */
  'RELEASED_AGENT_OFFLINE',
  'EXCEPTION',
  'HUMAN_APPROVED',
  'HUMAN_REJECTED',
  'OVERRIDDEN',
  'APPEALED',
  'POLICY_PROPOSED',
  'POLICY_APPROVED',
  'POLICY_REJECTED',
  /** A change of the active policy (or a decision that kept it), through lambdas/shared/policy-store.ts. */
  'POLICY_CHANGED',
  'SHADOW_DECISION',
  /** A person started or stopped an experiment through the ops API (trail `experiment#<id>`). */
  'EXPERIMENT_STARTED',
  'EXPERIMENT_STOPPED',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** One append-only decision record; (itemId, recordKey) makes a retried write idempotent. */
export interface AuditRecord {
  readonly itemId: string;
  /** `<ISO time>#<KIND>[#attempt]`. */
  readonly recordKey: string;
  readonly kind: AuditKind;
  /** ISO time of the fact recorded. */
  readonly at: string;
  /** `flowtune:<function>` or a person. */
  readonly actor: string;
  /** Pseudonymised inputs, as a JSON string. */
  readonly inputs?: string;
  /** Decision details, as a JSON string. */
  readonly details?: string;
  readonly policyVersion?: string;
  readonly modelVersion?: string;
  readonly attempt?: number;
  /** Epoch seconds (TTL). */
  readonly expiresAt: number;
}

/**
 * How many records may share one base key before append gives up; far above what one second of
 * one item's events produces once keys carry the event id.
 */
export const MAX_AUDIT_KEY_SEQUENCE = 100;

/** True when two audit records say the same thing (a retried write), whatever their key order. */
export function sameAuditRecord(stored: Readonly<Record<string, unknown>>, record: AuditRecord): boolean {
  const fields = new Set([...Object.keys(stored), ...Object.keys(record)]);
  for (const field of fields) {
    if (field === 'recordKey') continue;
    if (
      JSON.stringify(stored[field]) !== JSON.stringify((record as unknown as Record<string, unknown>)[field])
    ) {
      return false;
    }
  }
  return true;
}

export interface AppendOptions {
  /**
   * The key alone names the fact (a task's record keyed by its item, attempt and the fact's own
   * time, whose retry may word the details differently): a taken key means "already recorded".
   * @default false
   */
  readonly keyIdentifiesFact?: boolean;
}

export interface AuditLog {
  /**
   * Appends a record. Writing the same record again (a retry) is a no-op ('exists'); a different
   * record whose key is taken is appended under the next sequenced key (`<key>#s2`, `#s3`…), never
   * dropped, unless `keyIdentifiesFact`.
   */
  append(record: AuditRecord, options?: AppendOptions): Promise<'appended' | 'exists'>;
  /** The item's trail in time order. */
  listForItem(itemId: string): Promise<AuditRecord[]>;
}

// ---------------------------------------------------------------------------------------------
// EventBridge, Step Functions, SQS
// ---------------------------------------------------------------------------------------------

/** Detail accepted for an outbound detail-type (what its zod schema takes as input). */
export type OutboundDetail<K extends OutboundDetailType> = z.input<(typeof OUTBOUND_EVENTS)[K]>;

export interface EventPublisher {
  /** Validates the detail with its OUTBOUND_EVENTS schema, then puts it on the bus with source `flowtune`. */
  publish<K extends OutboundDetailType>(detailType: K, detail: OutboundDetail<K>): Promise<void>;
}

/**
 * started: a new execution; redelivered: the same name and input is already running (a
 * redelivery of the very event that started it: Step Functions answers with the original);
 * duplicate: an execution of that name exists with another input, or has finished.
 */
export type StartOutcome = 'started' | 'redelivered' | 'duplicate';
export type ResumeOutcome = 'sent' | 'stale';

/** What the intake needs to know of an existing execution: is it over, and which event started it. */
export interface ExecutionSummary {
  readonly status: 'running' | 'ended';
  /** The input's eventId and (pseudonymised) detail: tell a redelivered or duplicate event from a new one. */
  readonly eventId?: string;
  readonly detail?: unknown;
}

export interface ExecutionControl {
  /** Starts a process-instance execution (see StartOutcome for an existing one of that name). */
  startExecution(name: string, input: ProcessInput): Promise<StartOutcome>;
  /** The execution of that name, or undefined when there is none. */
  describeExecution(name: string): Promise<ExecutionSummary | undefined>;
  /** 'stale' when the token's task no longer exists, timed out, or the token is invalid. */
  sendTaskSuccess(taskToken: string, output: unknown): Promise<ResumeOutcome>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<ResumeOutcome>;
}

export interface DispatchTrigger {
  /** Asks for a dispatch round (a `tick` DispatchMessage on the FIFO dispatch queue). */
  tick(reason: string, at: number): Promise<void>;
}

export type TickMessage = Extract<DispatchMessage, { kind: 'tick' }>;
