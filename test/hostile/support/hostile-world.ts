import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { EventEnvelope } from '../../../domain/events';
import { DEFAULT_POLICY } from '../../../domain/policy';
import { PROJECT_ROOT } from '../../../lib/definitions';
import type { DynamoDbLocal } from '../../../local/dynamodb-local';
import { ACTOR_HEADER, type OpsServer, startOpsServer } from '../../../local/ops-server';
import { type LocalRuntime, startLocalRuntime } from '../../../local/runtime';
import { VirtualClock } from '../../../local/virtual-clock';
import { type RawAuditRecord, readAuditTable } from '../../../local/workload/ledger';
import { VIRTUAL_EPOCH } from '../../../local/workload/session';

/**
 * A whole local runtime on held virtual time, driven by a hostile producer and operators, and
 * audited afterwards from its own tables: every event it was sent is answered by a record, every
 * execution ended or waits on something that can resume it, no item is held by an agent who is
 * gone, every agent's count of held items matches the items that hold a slot, nothing was
 * dead-lettered. The time is virtual, so a run does the same on a busy machine as on an idle one.
 */

export const WAIT_FOR_COMPLETION = 'Wait For Completion';

/** Simulated ms between two producer steps. */
const STEP_MS = 2_000;

export function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

export interface SentEvent {
  readonly eventId: string;
  readonly detailType: string;
  readonly what: string;
}

export interface Accounting {
  /** Sent events no audit record answers (by its id in the key or in details.eventId). */
  readonly unanswered: readonly SentEvent[];
  /** Running executions with no open wait: nothing could ever resume them. */
  readonly stranded: readonly string[];
  /** Items in progress for an agent who is offline, with their holder. */
  readonly heldByOffline: readonly string[];
  /** Agents whose activeCount differs from the items holding one of their slots, or exceeds capacity. */
  readonly countMismatches: readonly string[];
  /** Dead letters and failed deliveries. */
  readonly failures: readonly string[];
  /** Item ids created validly that have no instance record. */
  readonly lostItems: readonly string[];
}

export class HostileWorld {
  readonly sent: SentEvent[] = [];
  /** Item ids a valid creation was sent for. */
  readonly createdIds = new Set<string>();

  private constructor(
    readonly runtime: LocalRuntime,
    readonly clock: VirtualClock,
    readonly ops: OpsServer,
  ) {}

  /**
   * A runtime on a held virtual clock with a policy that routes automatically (or, with
   * `humanReview`, sends every item to a person first), and its ops server.
   */
  static async start(
    dynamoDb: DynamoDbLocal,
    options: { humanReview?: boolean } = {},
  ): Promise<HostileWorld> {
    const clock = new VirtualClock({ start: VIRTUAL_EPOCH });
    clock.hold();
    const runtime = await startLocalRuntime({ dynamoDb, clock, dispatchTickMs: false, retryIntervalMs: 10 });
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: options.humanReview === true ? 'hostile-review-1' : 'hostile-auto-1',
      minConfidence: options.humanReview === true ? 1 : 0,
      maxAutoRisk: options.humanReview === true ? 0 : 1,
    });
    const ops = await startOpsServer(runtime);
    return new HostileWorld(runtime, clock, ops);
  }

  async stop(): Promise<void> {
    await this.ops.close();
    await this.runtime.stop();
    this.clock.stop();
  }

  /** One ops API request over HTTP, as an operator (the actor header names them). */
  async call(
    method: string,
    path: string,
    body?: unknown,
    actor = 'hostile-operator',
  ): Promise<{ status: number; json: unknown }> {
    const answer = this.clock.track(
      fetch(`${this.ops.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', [ACTOR_HEADER]: actor },
        ...(body === undefined || method === 'GET' ? {} : { body: JSON.stringify(body) }),
      }),
    );
    const response = await answer;
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the assertion message
    }
    return { status: response.status, json };
  }

  iso(offsetMs = 0): string {
    return new Date(this.clock.now() + offsetMs).toISOString();
  }

  /** Sends one event, records its id, and lets the runtime take it (a step of virtual time). */
  async send(detailType: string, detail: unknown, what: string, source = 'hostile'): Promise<string> {
    const eventId = await this.runtime.putEvent(detailType, detail, source);
    this.sent.push({ eventId, detailType, what });
    await this.clock.advanceBy(STEP_MS);
    return eventId;
  }

  agentStatus(agentId: string, status: 'available' | 'offline', overrides: Record<string, unknown> = {}) {
    return this.send(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        agentId,
        status,
        capacity: 2,
        changedAt: this.iso(),
        shiftEndsAt: this.iso(30 * 24 * 3_600_000),
        ...overrides,
      },
      `${agentId} ${status}`,
      'workforce',
    );
  }

  workItem(itemId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...fixtureDetail('work-item-created'), id: itemId, createdAt: this.iso(), ...overrides };
  }

  /**
   * The workforce: every open completion wait whose assignee is available is completed by that
   * assignee (an offline agent's work is left for the runtime to release).
   */
  async workOpenItems(): Promise<number> {
    let completed = 0;
    for (const wait of this.runtime.tokens.pending({ stateName: WAIT_FOR_COMPLETION })) {
      const execution = this.runtime.executions().find((entry) => entry.executionArn === wait.executionArn);
      const itemId = itemIdOf(execution?.input);
      if (itemId === undefined) continue;
      const instance = await this.runtime.instance(itemId);
      if (instance?.assignee === undefined || instance.taskToken !== wait.token) continue;
      const agent = await this.runtime.ports.features.getAgent(instance.assignee);
      if (agent?.status === 'offline') continue;
      await this.send(
        'WorkItemCompleted',
        { id: itemId, outcome: 'resolved', handledBy: instance.assignee, completedAt: this.iso() },
        `${itemId} completed by ${instance.assignee}`,
        'helpdesk',
      );
      completed += 1;
    }
    return completed;
  }

  /** Works the open items round by round, then lets `days` of virtual time pass so every timer fires. */
  async settle(days = 4): Promise<void> {
    for (let round = 0; round < 12; round++) {
      const completed = await this.workOpenItems();
      await this.clock.advanceBy(10 * 60_000);
      if (completed === 0 && this.runtime.tokens.pending({ stateName: WAIT_FOR_COMPLETION }).length === 0)
        break;
    }
    for (let hour = 0; hour < days * 24; hour += 6) {
      await this.clock.advanceBy(6 * 3_600_000);
      await this.workOpenItems();
    }
    await this.runtime.idle();
  }

  /** What the runtime's own tables and registries say after the run. */
  async accounting(): Promise<Accounting> {
    const { runtime } = this;
    const audit = await readAuditTable(runtime);
    const answeredIds = new Set<string>();
    for (const trail of audit.values()) {
      for (const record of trail) {
        const eventId = parseDetails(record.details).eventId;
        if (typeof eventId === 'string') answeredIds.add(eventId);
        const last = record.recordKey.split('#').at(-1);
        if (last !== undefined) answeredIds.add(last);
      }
    }
    const unanswered = this.sent.filter((event) => !answeredIds.has(event.eventId.replaceAll('#', '_')));

    const openWaits = runtime.tokens.pending();
    const stranded = runtime
      .executions({ status: 'RUNNING' })
      .filter((execution) => !openWaits.some((wait) => wait.executionArn === execution.executionArn))
      .map((execution) => `${execution.name}`);

    const agents = await runtime.ports.features.listAgents();
    const offline = new Set(
      agents.filter((agent) => agent.status === 'offline').map((agent) => agent.agentId),
    );
    const held = new Map<string, number>();
    const heldByOffline: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await runtime.documentClient.send(
        new ScanCommand({ TableName: runtime.tables.instancesTable, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) {
        const holder = item.capacityHeldBy;
        if (typeof holder === 'string') held.set(holder, (held.get(holder) ?? 0) + 1);
        if (item.stage === 'IN_PROGRESS' && typeof item.assignee === 'string' && offline.has(item.assignee)) {
          heldByOffline.push(`${String(item.itemId)} held by ${item.assignee}`);
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    const countMismatches = agents
      .filter(
        (agent) =>
          agent.activeCount !== (held.get(agent.agentId) ?? 0) ||
          agent.activeCount < 0 ||
          agent.activeCount > agent.capacity,
      )
      .map(
        (agent) =>
          `${agent.agentId}: activeCount ${agent.activeCount}, slots held ${held.get(agent.agentId) ?? 0}, capacity ${agent.capacity}`,
      );

    const lostItems: string[] = [];
    for (const itemId of this.createdIds)
      if ((await runtime.instance(itemId)) === undefined) lostItems.push(itemId);

    return {
      unanswered,
      stranded,
      heldByOffline,
      countMismatches,
      failures: runtime.failures().map((failure) => `${failure.where} ${failure.id}: ${failure.error}`),
      lostItems,
    };
  }
}

/** One item's audit trail as stored (every attribute), in record-key order. */
export async function readTrail(runtime: LocalRuntime, itemId: string): Promise<RawAuditRecord[]> {
  return (await readAuditTable(runtime)).get(itemId) ?? [];
}

/** The item id an execution was started for (its input is the work item event). */
function itemIdOf(input: unknown): string | undefined {
  const found = findId(input, 0);
  return found;
}

function findId(value: unknown, depth: number): string | undefined {
  if (depth > 3 || typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.itemId === 'string') return record.itemId;
  for (const key of ['detail', 'item', 'workItem']) {
    const nested = record[key];
    if (typeof nested === 'object' && nested !== null) {
      const id = (nested as Record<string, unknown>).id;
      if (typeof id === 'string') return id;
      const deeper = findId(nested, depth + 1);
      if (deeper !== undefined) return deeper;
    }
  }
  return typeof record.id === 'string' ? record.id : undefined;
}

function parseDetails(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
