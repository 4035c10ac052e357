import { randomUUID } from 'node:crypto';
import type {
  PutEventsRequestEntry,
  PutEventsResponse,
  PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent } from 'aws-lambda';
import { FLOWTUNE_SOURCE } from '../domain/events';
import { systemClock, type Timer, type TimerClock } from '../lambdas/shared/ports';
import {
  type FunctionName,
  type QueueName,
  RULES,
  type RuleDefinition,
  type RuleTarget,
} from '../lib/definitions';
import { compileEventPattern } from './event-pattern';
import { LOCAL_ACCOUNT, LOCAL_EVENT_BUS_NAME, LOCAL_REGION, localEventBusArn } from './local-names';
import type { LocalQueue } from './local-queue';

/**
 * The local event bus: `putEvents` takes the same entries as EventBridge's PutEvents, records
 * the accepted events (see `history`: every event counted, Flowtune's own events all kept, the
 * newest of the others), matches each against the RULES patterns (the very objects the CDK rules
 * are built from) and delivers it asynchronously to each matching rule's target: a local queue
 * (the event JSON as the message body, as an SQS target receives it) or a function registered by
 * name (invoked with the EventBridge event, retried like a Lambda async invocation). A target
 * that still fails is kept in `deliveryFailures`, the local stand-in of the rule's DLQ.
 */

export type LocalEvent = EventBridgeEvent<string, unknown>;
/** A function target: the real handler, adapted to take the EventBridge event. */
export type EventTargetHandler = (event: LocalEvent) => Promise<unknown> | unknown;

export interface RecordedEvent {
  /** Arrival order on this bus, from 1 (gaps where events were not kept). */
  readonly sequence: number;
  readonly event: LocalEvent;
  /** Ids of the rules it matched (none for outbound and unrouted events). */
  readonly matchedRules: readonly string[];
  readonly receivedAt: number;
}

export interface RejectedEntry {
  readonly entry: PutEventsRequestEntry;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface DeliveryFailure {
  readonly ruleId: string;
  readonly target: RuleTarget;
  readonly event: LocalEvent;
  readonly error: string;
  readonly attempts: number;
  readonly at: number;
}

/** What the router keeps of the events it accepts; counts are always kept in full. */
export interface EventHistoryOptions {
  /**
   * Sources whose every event is kept: Flowtune's outbound events, which the workload ledger, the
   * soak and the tests read after the run (one routing decision per item is checked on them).
   *
   * @default [FLOWTUNE_SOURCE]
   */
  readonly keepSources?: readonly string[];
  /**
   * Newest events of the other sources (the producers' inbound events) kept, and newest refused
   * entries. A 10,000-item soak accepts some 30,000 inbound events; keeping them all only costs memory.
   *
   * @default 1_000
   */
  readonly recent?: number;
}

/** How many events the bus took and refused, by detail-type, whatever `history` kept. */
export interface EventCounts {
  readonly accepted: number;
  readonly rejected: number;
  /** Accepted events no longer in `events` (older than the `recent` ones of sources not kept). */
  readonly dropped: number;
  readonly byDetailType: Readonly<Record<string, number>>;
}

export interface EventRouterOptions {
  /** @default every rule in RULES */
  readonly rules?: readonly RuleDefinition[];
  /** Queue targets by QUEUES name. */
  readonly queues?: Partial<Record<QueueName, Pick<LocalQueue, 'send'>>>;
  /** @default LOCAL_EVENT_BUS_NAME */
  readonly busName?: string;
  /** Clock for event times (epoch ms). @default clock.now */
  readonly now?: () => number;
  /** Clock of deliveries and their retry delays (in its ms); a delivery counts as work in flight on it. @default systemClock */
  readonly clock?: TimerClock;
  /** Invocations of a function target before it is a delivery failure (Lambda async: 1 + 2 retries). @default 3 */
  readonly functionMaxAttempts?: number;
  /** First retry delay, doubled each time. @default 10 */
  readonly retryDelayMs?: number;
  /** What `events` and `rejectedEntries` keep. @default all of Flowtune's events, the newest 1,000 others */
  readonly history?: EventHistoryOptions;
}

/** Default of `EventHistoryOptions.recent`. */
export const DEFAULT_RECENT_EVENTS = 1_000;

/** PutEvents accepts at most this many entries per call. */
export const MAX_PUT_EVENTS_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

/** A whole PutEvents request EventBridge would refuse (too many entries, too large). */
export class PutEventsValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationException';
  }
}

/** EventBridge's event `time`: ISO 8601 to the second. */
const eventTime = (epochMs: number): string => `${new Date(epochMs).toISOString().slice(0, 19)}Z`;

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text));
  return (
    (entry.Time ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

export class LocalEventRouter {
  /** Entries refused with a per-entry error (FailedEntryCount > 0): the newest `history.recent`. */
  readonly rejectedEntries: RejectedEntry[] = [];
  /** Targets that failed for good: the local stand-in of a rule's DLQ (all of them, never trimmed). */
  readonly deliveryFailures: DeliveryFailure[] = [];

  /** Every event of a kept source, in arrival order. */
  private readonly keptEvents: RecordedEvent[] = [];
  /** The newest events of the other sources, in arrival order. */
  private readonly recentEvents: RecordedEvent[] = [];
  private readonly keepSources: ReadonlySet<string>;
  private readonly recentLimit: number;
  private readonly countsByDetailType = new Map<string, number>();
  private accepted = 0;
  private rejected = 0;
  private dropped = 0;

  private readonly rules: readonly {
    readonly rule: RuleDefinition;
    readonly matches: (event: unknown) => boolean;
  }[];
  private readonly queues: Partial<Record<QueueName, Pick<LocalQueue, 'send'>>>;
  private readonly functions = new Map<FunctionName, EventTargetHandler>();
  private readonly listeners = new Set<(recorded: RecordedEvent) => void>();
  private readonly timers = new Set<Timer>();
  private readonly timerClock: TimerClock;
  private activeDeliveries = 0;
  private readonly busName: string;
  private readonly now: () => number;
  private readonly functionMaxAttempts: number;
  private readonly retryDelayMs: number;
  private pendingDeliveries = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(options: EventRouterOptions = {}) {
    // Compiling up front makes a malformed rule pattern fail at start-up, naming the rule.
    this.rules = (options.rules ?? Object.values(RULES)).map((rule) => {
      try {
        return { rule, matches: compileEventPattern(rule.pattern) };
      } catch (error) {
        throw new Error(`Rule ${rule.id}: ${describeError(error)}`);
      }
    });
    this.queues = options.queues ?? {};
    this.busName = options.busName ?? LOCAL_EVENT_BUS_NAME;
    this.timerClock = options.clock ?? systemClock;
    this.now = options.now ?? (() => this.timerClock.now());
    this.functionMaxAttempts = Math.max(1, options.functionMaxAttempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 10;
    this.keepSources = new Set(options.history?.keepSources ?? [FLOWTUNE_SOURCE]);
    this.recentLimit = options.history?.recent ?? DEFAULT_RECENT_EVENTS;
    if (!(Number.isInteger(this.recentLimit) && this.recentLimit >= 0)) {
      throw new RangeError(`history.recent must be a whole number >= 0, got ${this.recentLimit}`);
    }
  }

  /**
   * The accepted events still kept, in arrival order: every event of the kept sources (Flowtune's
   * own by default) and the newest `history.recent` of the others.
   */
  get events(): readonly RecordedEvent[] {
    // Two runs already in order: the sort merges them in linear time.
    return [...this.keptEvents, ...this.recentEvents].sort((a, b) => a.sequence - b.sequence);
  }

  /** Every event accepted and refused, counted in full however few are kept. */
  counts(): EventCounts {
    return {
      accepted: this.accepted,
      rejected: this.rejected,
      dropped: this.dropped,
      byDetailType: Object.fromEntries(this.countsByDetailType),
    };
  }

  /** Makes `handler` the target of every rule whose target is this function. */
  registerFunction(name: FunctionName, handler: EventTargetHandler): void {
    this.functions.set(name, handler);
  }

  /**
   * EventBridge PutEvents: validates each entry, records and routes the accepted ones, and answers
   * with one result per entry (EventId, or ErrorCode / ErrorMessage) and FailedEntryCount.
   *
   * @example
   * await router.putEvents([{ Source: 'helpdesk', DetailType: 'WorkItemCreated', Detail: JSON.stringify(detail) }]);
   */
  async putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResponse> {
    this.checkRequest(entries);
    const results: PutEventsResultEntry[] = entries.map((entry) => this.accept(entry));
    return {
      FailedEntryCount: results.filter((result) => result.ErrorCode !== undefined).length,
      Entries: results,
    };
  }

  /** Calls `listener` for every event accepted from now on; returns the unsubscribe function. */
  onEvent(listener: (recorded: RecordedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first event (already recorded or still to come) that satisfies `predicate`. */
  waitForEvent(predicate: (event: LocalEvent) => boolean, timeoutMs = 10_000): Promise<LocalEvent> {
    // Searches what is kept: an item's outbound events always are, an inbound one only if recent.
    const seen = this.events.find((recorded) => predicate(recorded.event));
    if (seen) return Promise.resolve(seen.event);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`no matching event within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onEvent((recorded) => {
        if (!predicate(recorded.event)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(recorded.event);
      });
    });
  }

  /** True while a delivery (or a retry of one) is pending. */
  get busy(): boolean {
    return this.pendingDeliveries > 0;
  }

  /** True while a delivery runs (a retry waiting for its delay does not count: it waits on the clock). */
  get delivering(): boolean {
    return this.activeDeliveries > 0;
  }

  /** Resolves once every delivery started so far has finished (or failed for good). */
  idle(): Promise<void> {
    if (this.pendingDeliveries === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new events and cancels pending retries. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    this.pendingDeliveries = 0;
    this.settleIdle();
  }

  /**
   * The event EventBridge would make of `entry` (a fresh id, the entry's time or now), or why it
   * would refuse the entry; nothing is recorded. The local inbound bus uses it to accept exactly
   * what this bus accepts.
   */
  eventFrom(
    entry: PutEventsRequestEntry,
  ): { readonly event: LocalEvent } | { readonly errorCode: string; readonly errorMessage: string } {
    const refuse = (errorCode: string, errorMessage: string) => ({ errorCode, errorMessage });
    const bus = entry.EventBusName;
    if (bus !== undefined && bus !== this.busName && bus !== localEventBusArn(this.busName)) {
      return refuse(
        'InvalidArgument',
        `Event bus ${bus} does not exist locally; the local bus is ${this.busName}.`,
      );
    }
    if (!entry.Source)
      return refuse(
        'InvalidArgument',
        'Parameter Source is not valid. Reason: Source is a required argument.',
      );
    if (!entry.DetailType) {
      return refuse(
        'InvalidArgument',
        'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
      );
    }
    if (entry.Detail === undefined)
      return refuse(
        'InvalidArgument',
        'Parameter Detail is not valid. Reason: Detail is a required argument.',
      );
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return refuse('MalformedDetail', 'Detail is malformed.');
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return refuse('MalformedDetail', 'Detail is malformed: it must be a JSON object.');
    }
    return {
      event: {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: LOCAL_ACCOUNT,
        time: eventTime(entry.Time?.getTime() ?? this.now()),
        region: LOCAL_REGION,
        resources: [...(entry.Resources ?? [])],
        detail,
      },
    };
  }

  /** Refuses a whole request as EventBridge would (entry count, size). */
  checkRequest(entries: readonly PutEventsRequestEntry[]): void {
    if (this.stopped) throw new Error('the local event router is stopped');
    if (entries.length === 0 || entries.length > MAX_PUT_EVENTS_ENTRIES) {
      throw new PutEventsValidationError(
        `PutEvents takes 1 to ${MAX_PUT_EVENTS_ENTRIES} entries; got ${entries.length}. Split the batch.`,
      );
    }
    const size = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (size > MAX_REQUEST_BYTES) {
      throw new PutEventsValidationError(
        `PutEvents request is ${size} bytes; the limit is ${MAX_REQUEST_BYTES}.`,
      );
    }
  }

  private accept(entry: PutEventsRequestEntry): PutEventsResultEntry {
    const made = this.eventFrom(entry);
    if (!('event' in made)) {
      this.rejected += 1;
      this.rejectedEntries.push({ entry, errorCode: made.errorCode, errorMessage: made.errorMessage });
      if (this.rejectedEntries.length > this.recentLimit) this.rejectedEntries.shift();
      return { ErrorCode: made.errorCode, ErrorMessage: made.errorMessage };
    }
    const { event } = made;
    const receivedAt = this.now();
    const matched = this.rules.filter(({ matches }) => matches(event)).map(({ rule }) => rule);
    this.accepted += 1;
    const recorded: RecordedEvent = {
      sequence: this.accepted,
      event,
      matchedRules: matched.map((rule) => rule.id),
      receivedAt,
    };
    this.record(recorded);
    for (const listener of this.listeners) listener(recorded);
    for (const rule of matched) this.schedule(() => this.deliver(rule, event, 1), 0);
    return { EventId: event.id };
  }

  private record(recorded: RecordedEvent): void {
    const detailType = recorded.event['detail-type'];
    this.countsByDetailType.set(detailType, (this.countsByDetailType.get(detailType) ?? 0) + 1);
    if (this.keepSources.has(recorded.event.source)) {
      this.keptEvents.push(recorded);
      return;
    }
    this.recentEvents.push(recorded);
    if (this.recentEvents.length > this.recentLimit) {
      this.recentEvents.shift();
      this.dropped += 1;
    }
  }

  private schedule(task: () => Promise<void>, delayMs: number): void {
    this.pendingDeliveries += 1;
    const timer = this.timerClock.setTimer(delayMs, () => {
      this.timers.delete(timer);
      this.activeDeliveries += 1;
      return task().finally(() => {
        this.activeDeliveries -= 1;
        this.pendingDeliveries = Math.max(0, this.pendingDeliveries - 1);
        if (this.pendingDeliveries === 0) this.settleIdle();
      });
    });
    this.timers.add(timer);
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async deliver(rule: RuleDefinition, event: LocalEvent, attempt: number): Promise<void> {
    const target = rule.target;
    const fail = (error: string, attempts: number) =>
      this.deliveryFailures.push({ ruleId: rule.id, target, event, error, attempts, at: this.now() });
    if (target.kind === 'queue') {
      const queue = this.queues[target.queue];
      if (!queue) return void fail(`no local queue "${target.queue}" was given to the router`, attempt);
      try {
        queue.send({ body: JSON.stringify(event) });
      } catch (error) {
        fail(describeError(error), attempt);
      }
      return;
    }
    const handler = this.functions.get(target.fn);
    if (!handler) return void fail(`no handler registered for function "${target.fn}"`, attempt);
    try {
      // Each invocation gets its own copy, as each Lambda invocation deserialises its own event.
      await handler(structuredClone(event));
    } catch (error) {
      if (attempt >= this.functionMaxAttempts || this.stopped)
        return void fail(describeError(error), attempt);
      this.schedule(() => this.deliver(rule, event, attempt + 1), this.retryDelayMs * 2 ** (attempt - 1));
    }
  }
}
