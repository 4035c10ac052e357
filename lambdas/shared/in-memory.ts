import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { OutboundDetailType } from '../../domain/events';
import type { HandlingFeatures, HandlingStats } from '../../domain/model';
import { DEFAULT_POLICY, Policy } from '../../domain/policy';
import type { CompletionResult, ProcessInput } from '../../domain/process';
import type { Stage } from '../../lib/definitions/tables';
import { applyAgentProfile, isStaleProfile, type StoredAgentState } from './agent-profile';
import { InvalidStoredPolicyError } from './errors';
import { validateOutbound } from './outbound-events';
import { PolicyStore } from './policy-store';
import {
  type AgentProfile,
  type AppendOptions,
  type AssignQueueOutcome,
  ATTEMPT_FACTS,
  type AuditLog,
  type AuditRecord,
  type CapacityClaim,
  type ClaimOutcome,
  type Clock,
  type DispatchTrigger,
  type EnqueueRequest,
  type EventPublisher,
  type ExecutionControl,
  type ExecutionSummary,
  type FeatureStore,
  type InstanceRecord,
  type InstanceStore,
  type InstanceWrite,
  MAX_AUDIT_KEY_SEQUENCE,
  type OutboundDetail,
  type PutAgentOutcome,
  type QueueAssignment,
  type ResumeOutcome,
  type ScoredInstance,
  type StartOutcome,
  type StatsKey,
  SUPERSEDED_ENQUEUE_MARGIN_MS,
  sameAuditRecord,
  stagesBlockingPark,
  systemClock,
  TERMINAL_STAGES,
  type TickMessage,
  type WaitKind,
} from './ports';
import {
  bareInstance,
  instanceExpiresAt,
  sequencedRecordKey,
  statsSortKey,
  toHandlingFeatures,
} from './table-layout';
import { InMemoryTuningStore } from './tuning-store';

/**
 * In-memory implementations of every port, for handler tests and the simulator. They are
 * faithful where it matters: every conditional write checks the same condition as its DynamoDB
 * twin (test/handlers/port-contract.ts runs both through the same cases), records are copied
 * in and out so callers cannot mutate stored state, task tokens expire and resume once.
 */

/** The three tables, shared by the stores so a claim can touch an agent and an instance atomically. */
export class InMemoryTables {
  readonly agents = new Map<string, StoredAgentState>();
  readonly stats = new Map<string, { readonly stats: HandlingStats; readonly version: number }>();
  /** Each agent's queue (on the agent's record in DynamoDB; apart here so profile writes cannot drop it). */
  readonly queueAssignments = new Map<string, QueueAssignment>();
  /** Raw, as DynamoDB would hold it: may be invalid on purpose in tests. */
  activePolicy: unknown;
  readonly instances = new Map<string, InstanceRecord>();
  readonly audit = new Map<string, AuditRecord>();
}

const copy = <T>(value: T): T => structuredClone(value);
const isTerminal = (stage: Stage): boolean => TERMINAL_STAGES.includes(stage);
const conflict = (current: InstanceRecord | undefined): InstanceWrite => ({
  ok: false,
  current: current === undefined ? undefined : copy(current),
});

/** Builds an object without the named keys (DynamoDB REMOVE). */
function without<T extends object, K extends keyof T>(record: T, ...keys: K[]): Omit<T, K> {
  const out = { ...record };
  for (const key of keys) delete out[key];
  return out;
}

export class InMemoryFeatureStore implements FeatureStore {
  constructor(
    private readonly tables: InMemoryTables,
    /** Stamps updatedAt, as the DynamoDB store's injected clock does. */
    private readonly clock: Clock = systemClock,
  ) {}

  async getAgent(agentId: string) {
    const agent = this.tables.agents.get(agentId);
    return agent === undefined ? undefined : copy(agent);
  }

  async listAgents() {
    return [...this.tables.agents.values()].sort((a, b) => a.agentId.localeCompare(b.agentId)).map(copy);
  }

  async putAgentProfile(profile: AgentProfile): Promise<PutAgentOutcome> {
    const previous = this.tables.agents.get(profile.agentId);
    if (isStaleProfile(previous, profile)) return 'stale';
    this.tables.agents.set(profile.agentId, applyAgentProfile(previous, profile, this.clock.now()));
    return previous === undefined ? 'created' : 'updated';
  }

  /** Test and seeding helper: stores an agent as is, activeCount included. */
  seedAgent(agent: StoredAgentState): void {
    this.tables.agents.set(agent.agentId, copy(agent));
  }

  async claimCapacity(claim: CapacityClaim): Promise<ClaimOutcome> {
    const agent = this.tables.agents.get(claim.agentId);
    const instance = this.tables.instances.get(claim.itemId);
    const agentOk = agent !== undefined && agent.status === 'available' && agent.activeCount < agent.capacity;
    const instanceOk =
      instance !== undefined &&
      instance.stage === 'WAITING_ASSIGNMENT' &&
      instance.taskToken === claim.taskToken;
    if (!agentOk || !instanceOk) {
      return {
        outcome: 'conflict',
        reason: !agentOk && !instanceOk ? 'both' : agentOk ? 'instance' : 'agent',
      };
    }
    this.tables.agents.set(claim.agentId, {
      ...agent,
      activeCount: agent.activeCount + 1,
      updatedAt: claim.at,
    });
    this.tables.instances.set(claim.itemId, {
      ...without(instance, 'taskToken', 'waitingFor'),
      stage: 'ASSIGNED',
      stageEnteredAt: claim.at,
      assignee: claim.agentId,
      capacityHeldBy: claim.agentId,
      lastAssignmentToken: claim.taskToken,
      assignedAt: claim.at,
    });
    return { outcome: 'claimed' };
  }

  async releaseCapacity(release: {
    itemId: string;
    agentId: string;
    at: number;
  }): Promise<'released' | 'not-held'> {
    const instance = this.tables.instances.get(release.itemId);
    if (instance?.capacityHeldBy !== release.agentId) return 'not-held';
    this.tables.instances.set(release.itemId, without(instance, 'capacityHeldBy'));
    this.decrement(release.agentId, release.at);
    return 'released';
  }

  async revertClaim(claim: CapacityClaim): Promise<'reverted' | 'not-claimed'> {
    const instance = this.tables.instances.get(claim.itemId);
    if (
      instance?.stage !== 'ASSIGNED' ||
      instance.lastAssignmentToken !== claim.taskToken ||
      instance.capacityHeldBy !== claim.agentId
    ) {
      return 'not-claimed';
    }
    this.tables.instances.set(claim.itemId, {
      ...without(instance, 'assignee', 'capacityHeldBy', 'lastAssignmentToken', 'assignedAt'),
      stage: 'WAITING_ASSIGNMENT',
      stageEnteredAt: instance.enqueuedAt ?? claim.at,
      taskToken: claim.taskToken,
      waitingFor: 'assignment',
    });
    this.decrement(claim.agentId, claim.at);
    return 'reverted';
  }

  /** activeCount − 1, never below 0; idleSince restarts when an available agent becomes free. */
  private decrement(agentId: string, at: number): void {
    const agent = this.tables.agents.get(agentId);
    if (agent === undefined || agent.activeCount <= 0) return;
    const activeCount = agent.activeCount - 1;
    const idleSince = activeCount === 0 && agent.status === 'available' ? at : agent.idleSince;
    this.tables.agents.set(agentId, { ...agent, activeCount, idleSince, updatedAt: at });
  }

  async readHandlingFeatures(): Promise<HandlingFeatures> {
    const features = { global: { count: 0, mean: 0, m2: 0 }, byCategory: {}, byCategoryAgent: {} };
    return toHandlingFeatures(
      [...this.tables.stats.entries()].map(([sk, entry]) => ({ sk, ...entry.stats })),
      features,
    );
  }

  async updateHandlingStats(
    key: StatsKey,
    update: (current: HandlingStats | undefined) => HandlingStats,
  ): Promise<void> {
    const sk = statsSortKey(key);
    const current = this.tables.stats.get(sk);
    const next = update(current === undefined ? undefined : copy(current.stats));
    this.tables.stats.set(sk, {
      stats: { count: next.count, mean: next.mean, m2: next.m2 },
      version: (current?.version ?? 0) + 1,
    });
  }

  /** The version of a statistics record (for tests of optimistic concurrency). */
  statsVersion(key: StatsKey): number | undefined {
    return this.tables.stats.get(statsSortKey(key))?.version;
  }

  async getActivePolicy(): Promise<Policy> {
    if (this.tables.activePolicy === undefined) return DEFAULT_POLICY;
    const parsed = Policy.safeParse(this.tables.activePolicy);
    if (!parsed.success) throw InvalidStoredPolicyError.from(parsed.error);
    return parsed.data;
  }

  async putActivePolicy(policy: Policy): Promise<void> {
    this.tables.activePolicy = copy(Policy.parse(policy));
  }

  async listQueueAssignments(): Promise<QueueAssignment[]> {
    return [...this.tables.queueAssignments.values()]
      .filter((assignment) => this.tables.agents.has(assignment.agentId))
      .sort((a, b) => a.agentId.localeCompare(b.agentId))
      .map(copy);
  }

  async assignQueue(
    assignment: QueueAssignment,
    expectedQueueId: string | undefined,
  ): Promise<AssignQueueOutcome> {
    if (!this.tables.agents.has(assignment.agentId)) return 'unknown-agent';
    if (this.tables.queueAssignments.get(assignment.agentId)?.queueId !== expectedQueueId) return 'conflict';
    this.tables.queueAssignments.set(assignment.agentId, copy(assignment));
    return 'assigned';
  }
}

export class InMemoryInstanceStore implements InstanceStore {
  constructor(private readonly tables: InMemoryTables) {}

  async get(itemId: string) {
    const record = this.tables.instances.get(itemId);
    return record === undefined ? undefined : copy(record);
  }

  async listByStage(stage: Stage, limit?: number) {
    const matching = [...this.tables.instances.values()]
      .filter((record) => record.stage === stage)
      .sort((a, b) => a.stageEnteredAt - b.stageEnteredAt);
    return (limit === undefined ? matching : matching.slice(0, limit)).map(copy);
  }

  /** Test and seeding helper: stores an instance as is. */
  seed(record: InstanceRecord): void {
    this.tables.instances.set(record.itemId, copy(record));
  }

  async recordScored(scored: ScoredInstance): Promise<InstanceWrite> {
    const found = this.tables.instances.get(scored.itemId);
    const attempt = scored.instanceAttempt ?? 1;
    const stored = found?.instanceAttempt ?? 1;
    // A later execution of this item id starts afresh; an earlier one may not overwrite a later.
    const current =
      found !== undefined && stored < attempt
        ? { ...without(found, ...ATTEMPT_FACTS), stage: 'SCORED' as const, excludedAgents: [] }
        : found;
    if (
      current !== undefined &&
      current === found &&
      (stored !== attempt || isTerminal(current.stage) || current.cancellation !== undefined)
    ) {
      return conflict(current);
    }
    this.tables.instances.set(scored.itemId, {
      excludedAgents: [],
      ...(current === undefined ? {} : without(current, 'awaitingCreationSince')),
      instanceAttempt: attempt,
      itemId: scored.itemId,
      stage: 'SCORED',
      stageEnteredAt: scored.at,
      category: scored.category,
      priority: scored.priority,
      requiredSkills: copy(scored.requiredSkills),
      createdAt: scored.createdAt,
      slaDueAt: scored.slaDueAt,
      attempt: scored.attempt,
      path: scored.path,
      predictedHandlingSeconds: scored.predictedHandlingSeconds,
      modelVersion: scored.modelVersion,
      policyVersion: scored.policyVersion,
      ...(scored.confidence === undefined ? {} : { confidence: scored.confidence }),
      ...(scored.tenant === undefined ? {} : { tenant: scored.tenant }),
      expiresAt: instanceExpiresAt(scored.at),
    });
    return { ok: true };
  }

  async enqueue(request: EnqueueRequest): Promise<InstanceWrite> {
    const current = this.tables.instances.get(request.itemId);
    if (
      current !== undefined &&
      (isTerminal(current.stage) ||
        current.cancellation !== undefined ||
        current.lastAssignmentToken === request.taskToken ||
        (current.enqueuedAt ?? Number.NEGATIVE_INFINITY) > request.enqueuedAt + SUPERSEDED_ENQUEUE_MARGIN_MS)
    ) {
      return conflict(current);
    }
    const base = current === undefined ? {} : without(current, 'assignee');
    this.tables.instances.set(request.itemId, {
      ...base,
      itemId: request.itemId,
      stage: 'WAITING_ASSIGNMENT',
      stageEnteredAt: request.enqueuedAt,
      category: request.category,
      priority: request.priority,
      requiredSkills: copy(request.requiredSkills),
      createdAt: request.createdAt,
      slaDueAt: request.slaDueAt,
      attempt: request.attempt,
      excludedAgents: [...request.excludedAgents],
      ...(request.customerTier === undefined ? {} : { customerTier: request.customerTier }),
      enqueuedAt: request.enqueuedAt,
      taskToken: request.taskToken,
      waitingFor: 'assignment',
      expiresAt: instanceExpiresAt(request.at),
    });
    return { ok: true };
  }

  async storeTaskToken(park: {
    itemId: string;
    taskToken: string;
    waitingFor: Exclude<WaitKind, 'assignment'>;
    stage: Stage;
    assignee?: string;
    attempt: number;
    at: number;
  }): Promise<InstanceWrite> {
    const current = this.tables.instances.get(park.itemId);
    if (
      (current !== undefined && stagesBlockingPark(park.waitingFor).includes(current.stage)) ||
      current?.cancellation !== undefined ||
      (park.waitingFor === 'completion' &&
        (current?.earlyCompletion !== undefined || current?.pendingHandover !== undefined))
    ) {
      return conflict(current);
    }
    this.tables.instances.set(park.itemId, {
      ...(current ?? bareInstance(park.itemId, park.at)),
      stage: park.stage,
      stageEnteredAt: park.at,
      taskToken: park.taskToken,
      waitingFor: park.waitingFor,
      attempt: park.attempt,
      ...(park.assignee === undefined ? {} : { assignee: park.assignee }),
    });
    return { ok: true };
  }

  async consumeEarlyCompletion(
    itemId: string,
    at: number,
    taskToken: string,
  ): Promise<CompletionResult | undefined> {
    const current = this.tables.instances.get(itemId);
    if (current?.earlyCompletion === undefined) return undefined;
    this.tables.instances.set(itemId, {
      ...without(current, 'earlyCompletion'),
      completionReceivedAt: at,
      pendingHandover: { taskToken, completion: copy(current.earlyCompletion), since: at },
      stage: 'IN_PROGRESS',
      stageEnteredAt: at,
    });
    return copy(current.earlyCompletion);
  }

  async takeCompletionToken(
    itemId: string,
    taskToken: string,
    at: number,
    completion: CompletionResult,
    eventId?: string,
  ): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (current?.taskToken !== taskToken || current.waitingFor !== 'completion') return conflict(current);
    this.tables.instances.set(itemId, {
      ...without(current, 'taskToken', 'waitingFor'),
      completionReceivedAt: at,
      pendingHandover: {
        taskToken,
        completion: copy(completion),
        since: at,
        ...(eventId === undefined ? {} : { eventId }),
      },
    });
    return { ok: true };
  }

  async confirmHandover(itemId: string, taskToken: string): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (current?.pendingHandover?.taskToken !== taskToken) return conflict(current);
    this.tables.instances.set(itemId, without(current, 'pendingHandover'));
    return { ok: true };
  }

  async storeEarlyCompletion(
    itemId: string,
    completion: CompletionResult,
    options?: { replacesReceived?: boolean },
  ): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (
      current === undefined ||
      isTerminal(current.stage) ||
      current.earlyCompletion !== undefined ||
      (current.completionReceivedAt !== undefined && options?.replacesReceived !== true) ||
      (current.taskToken !== undefined && current.waitingFor === 'completion')
    ) {
      return conflict(current);
    }
    this.tables.instances.set(itemId, {
      ...without(current, 'completionReceivedAt', 'pendingHandover'),
      earlyCompletion: copy(completion),
    });
    return { ok: true };
  }

  async recordBeforeRegistration(
    itemId: string,
    at: number,
    early: { completion: CompletionResult } | { cancellation: { reason: string; cancelledAt: string } },
  ): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (current !== undefined) return conflict(current);
    const bare = { ...bareInstance(itemId, at), awaitingCreationSince: at };
    this.tables.instances.set(
      itemId,
      'completion' in early
        ? { ...bare, earlyCompletion: copy(early.completion) }
        : { ...bare, cancellation: { ...early.cancellation } },
    );
    return { ok: true };
  }

  async forgetUnclaimedFinish(itemId: string, since: number): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (
      current?.stage !== 'VALIDATING' ||
      current.awaitingCreationSince !== since ||
      current.taskToken !== undefined
    ) {
      return conflict(current);
    }
    this.tables.instances.delete(itemId);
    return { ok: true };
  }

  async markCancelled(
    itemId: string,
    cancellation: { reason: string; cancelledAt: string },
    expectedToken: string | undefined,
    at: number,
  ): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (current === undefined || isTerminal(current.stage) || current.taskToken !== expectedToken) {
      return conflict(current);
    }
    this.tables.instances.set(itemId, {
      ...without(current, 'taskToken', 'waitingFor'),
      stage: 'CANCELLED',
      stageEnteredAt: at,
      cancellation: { ...cancellation },
    });
    return { ok: true };
  }

  async markRejected(itemId: string, expectedToken: string, at: number): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (current === undefined || isTerminal(current.stage) || current.taskToken !== expectedToken) {
      return conflict(current);
    }
    this.tables.instances.set(itemId, {
      ...without(current, 'taskToken', 'waitingFor'),
      stage: 'REJECTED',
      stageEnteredAt: at,
    });
    return { ok: true };
  }

  async markOutcomeRecorded(itemId: string, at: number, expiresAt: number): Promise<InstanceWrite> {
    const current = this.tables.instances.get(itemId);
    if (current === undefined || current.outcomeRecordedAt !== undefined) return conflict(current);
    this.tables.instances.set(itemId, {
      ...without(current, 'taskToken', 'waitingFor', 'pendingHandover'),
      stage: 'COMPLETED',
      stageEnteredAt: at,
      outcomeRecordedAt: at,
      expiresAt,
    });
    return { ok: true };
  }
}

export class InMemoryAuditLog implements AuditLog {
  private failures: Error[] = [];

  constructor(private readonly tables: InMemoryTables) {}

  /** Makes the next append throw, as a throttled or unreachable table would. */
  failNextAppend(error: Error = new Error('injected audit failure')): void {
    this.failures.push(error);
  }

  async append(record: AuditRecord, options: AppendOptions = {}): Promise<'appended' | 'exists'> {
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    for (let sequence = 1; sequence <= MAX_AUDIT_KEY_SEQUENCE; sequence++) {
      const recordKey = sequence === 1 ? record.recordKey : sequencedRecordKey(record.recordKey, sequence);
      const key = `${record.itemId}\u0000${recordKey}`;
      const stored = this.tables.audit.get(key);
      if (stored === undefined) {
        this.tables.audit.set(key, copy({ ...record, recordKey }));
        return 'appended';
      }
      if (options.keyIdentifiesFact === true) return 'exists';
      if (sameAuditRecord(stored as unknown as Record<string, unknown>, record)) return 'exists';
    }
    throw new Error(
      `audit key ${record.itemId} / ${record.recordKey} is taken ${MAX_AUDIT_KEY_SEQUENCE} times over`,
    );
  }

  async listForItem(itemId: string): Promise<AuditRecord[]> {
    return [...this.tables.audit.values()]
      .filter((record) => record.itemId === itemId)
      .sort((a, b) => a.recordKey.localeCompare(b.recordKey))
      .map(copy);
  }

  /** Every record, for assertions across items. */
  all(): AuditRecord[] {
    return [...this.tables.audit.values()].map(copy);
  }
}

export interface PublishedEvent {
  readonly source: 'flowtune';
  readonly detailType: OutboundDetailType;
  readonly detail: unknown;
}

export class InMemoryEventPublisher implements EventPublisher {
  readonly published: PublishedEvent[] = [];

  async publish<K extends OutboundDetailType>(detailType: K, detail: OutboundDetail<K>): Promise<void> {
    const validated = validateOutbound(detailType, detail);
    this.published.push({ source: 'flowtune', detailType, detail: copy(validated) });
  }
}

export type TokenState =
  | { readonly state: 'pending' }
  | { readonly state: 'succeeded'; readonly output: unknown }
  | { readonly state: 'failed'; readonly error: string; readonly cause: string }
  | { readonly state: 'timed-out' };

/**
 * Executions and task tokens as Step Functions keeps them: a name starts once, a token resumes
 * once, and a resumed, failed or expired token is 'stale'.
 */
export class InMemoryExecutionControl implements ExecutionControl {
  readonly executions = new Map<string, ProcessInput>();
  /** Names of executions that have ended (succeeded, failed...): a start of one is a duplicate. */
  readonly ended = new Set<string>();
  readonly tokens = new Map<string, TokenState>();
  private startFailures: Error[] = [];
  private resumeFailures: Error[] = [];
  private lostReplies: Error[] = [];

  /** Issues a pending token, as a `.waitForTaskToken` state does on entry. */
  issueToken(label = 'task'): string {
    const token = `${label}-${randomUUID()}`;
    this.tokens.set(token, { state: 'pending' });
    return token;
  }

  /** The wait's timeout fired (or the execution stopped): the token is gone. */
  expireToken(token: string): void {
    this.tokens.set(token, { state: 'timed-out' });
  }

  failNextStart(error: Error): void {
    this.startFailures.push(error);
  }

  failNextResume(error: Error): void {
    this.resumeFailures.push(error);
  }

  tokenState(token: string): TokenState | undefined {
    return this.tokens.get(token);
  }

  async startExecution(name: string, input: ProcessInput): Promise<StartOutcome> {
    const failure = this.startFailures.shift();
    if (failure !== undefined) throw failure;
    const existing = this.executions.get(name);
    if (existing !== undefined) {
      return !this.ended.has(name) && isDeepStrictEqual(existing, input) ? 'redelivered' : 'duplicate';
    }
    this.executions.set(name, copy(input));
    return 'started';
  }

  /** The execution of that name ended (as its last state would end it). */
  endExecution(name: string): void {
    this.ended.add(name);
  }

  async describeExecution(name: string): Promise<ExecutionSummary | undefined> {
    const input = this.executions.get(name);
    if (input === undefined) return undefined;
    return {
      status: this.ended.has(name) ? 'ended' : 'running',
      eventId: input.eventId,
      detail: copy(input.detail),
    };
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<ResumeOutcome> {
    return this.resume(taskToken, { state: 'succeeded', output: copy(output) });
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<ResumeOutcome> {
    return this.resume(taskToken, { state: 'failed', error, cause });
  }

  /** The next resume takes effect, but its caller sees `error` (a reply lost on the way back). */
  loseNextResumeReply(error: Error): void {
    this.lostReplies.push(error);
  }

  private resume(taskToken: string, next: TokenState): ResumeOutcome {
    const failure = this.resumeFailures.shift();
    if (failure !== undefined) throw failure;
    if (this.tokens.get(taskToken)?.state !== 'pending') return 'stale';
    this.tokens.set(taskToken, next);
    const lostReply = this.lostReplies.shift();
    if (lostReply !== undefined) throw lostReply;
    return 'sent';
  }
}

export class InMemoryDispatchTrigger implements DispatchTrigger {
  readonly ticks: TickMessage[] = [];

  constructor(private readonly onTick?: (tick: TickMessage) => void) {}

  async tick(reason: string, at: number): Promise<void> {
    const message: TickMessage = { kind: 'tick', reason, at: new Date(at).toISOString() };
    this.ticks.push(message);
    this.onTick?.(message);
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  set(at: number): void {
    this.current = at;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface InMemoryPorts {
  readonly tables: InMemoryTables;
  readonly features: InMemoryFeatureStore;
  readonly instances: InMemoryInstanceStore;
  readonly audit: InMemoryAuditLog;
  readonly events: InMemoryEventPublisher;
  readonly executions: InMemoryExecutionControl;
  readonly dispatch: InMemoryDispatchTrigger;
  readonly clock: ManualClock;
  /** The policy store over these tables (versions in their own in-memory tuning store). */
  readonly policies: PolicyStore;
}

/**
 * One consistent in-memory world.
 *
 * @example
 * const ports = createInMemoryPorts(Date.parse('2026-11-20T09:00:00Z'));
 * const handler = createScoreHandler(ports);
 */
export function createInMemoryPorts(now = Date.parse('2026-11-20T09:00:00.000Z')): InMemoryPorts {
  const tables = new InMemoryTables();
  const clock = new ManualClock(now);
  const features = new InMemoryFeatureStore(tables, clock);
  const audit = new InMemoryAuditLog(tables);
  const events = new InMemoryEventPublisher();
  return {
    tables,
    features,
    instances: new InMemoryInstanceStore(tables),
    audit,
    events,
    executions: new InMemoryExecutionControl(),
    dispatch: new InMemoryDispatchTrigger(),
    clock,
    policies: new PolicyStore({ versions: new InMemoryTuningStore(tables), features, audit, events, clock }),
  };
}
