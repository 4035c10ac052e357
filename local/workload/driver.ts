import type { Timer } from '../../lambdas/shared/ports';
import type { LocalEvent, RecordedEvent } from '../event-router';
import type { LocalRuntime } from '../runtime';
import {
  automationSeconds,
  createdDetail,
  handlingSeconds,
  type PlannedAgent,
  type PlannedItem,
  type PlannedStatus,
  type WorkloadPlan,
} from './plan';

/**
 * Drives a WorkloadPlan through a running local runtime, playing every system around Flowtune:
 * the producers (WorkItemCreated, duplicates, malformed events, cancellations), the workforce
 * system (AgentStatusChanged, including a stale replay), and the agents themselves, who react
 * to WorkItemRouted by working for their (scaled) handling time and then sending
 * WorkItemCompleted — sometimes twice, sometimes at once (racing the completion wait), never for
 * the items planned not to complete. Times are simulated; the driver waits on the runtime's clock
 * (scaled wall time, or virtual time).
 */

export interface DriverOptions {
  readonly runtime: LocalRuntime;
  readonly plan: WorkloadPlan;
  /** Told whenever something was sent or settled. */
  readonly onProgress?: (progress: DriverProgress) => void;
  /** Settlement poll interval, in the runtime clock's (simulated) ms. @default 60_000 */
  readonly pollMs?: number;
  /** Runs at each settlement poll, e.g. an operator redriving dead letters. */
  readonly onPoll?: () => Promise<void>;
}

export interface DriverProgress {
  /** Planned items (valid and malformed). */
  readonly total: number;
  readonly created: number;
  /** Items whose process reached a final or explicit exception state (or were rejected). */
  readonly settled: number;
  /** Simulated seconds since the start. */
  readonly simulatedSeconds: number;
}

/** What the driver sent and saw, for the ledger and the report. */
export interface DriverLog {
  /** Simulated epoch ms of the start. */
  readonly startedAt: number;
  /** Simulated epoch ms of each item's WorkItemCreated (absent: never sent). */
  readonly createdAt: ReadonlyMap<string, number>;
  /** The id each malformed item's WorkItemRejected must carry, and the event id it was sent under. */
  readonly malformedSent: ReadonlyMap<string, { readonly sentId: string; readonly eventId: string }>;
  readonly counts: Readonly<Record<DriverCount, number>>;
  /** Errors the driver met while sending (each one is a failed PutEvents or a refused action). */
  readonly errors: readonly string[];
}

export type DriverCount =
  | 'createdSent'
  | 'duplicateCreatedSent'
  | 'malformedSent'
  | 'completionsSent'
  | 'duplicateCompletionsSent'
  | 'earlyCompletionsSent'
  | 'strayCompletionsSent'
  | 'cancellationsSent'
  | 'cancellationsRetried'
  | 'statusChangesSent'
  | 'staleStatusReplaysSent'
  | 'farFutureStatusesSent'
  | 'cancellationsAtOnceSent'
  | 'resendsAfterRejectSent'
  | 'routedSeen'
  | 'abandonedOnReroute';

interface RoutedDetail {
  readonly id: string;
  readonly attempt: number;
  readonly assignee: { readonly agentId: string; readonly kind: string };
  readonly routedAt: string;
}

const EXCEPTION_STATE = 'Wait For Exception Resolution';

function routedDetail(event: LocalEvent): RoutedDetail | undefined {
  const detail = event.detail as Partial<RoutedDetail> | undefined;
  if (
    typeof detail?.id !== 'string' ||
    typeof detail.attempt !== 'number' ||
    typeof detail.assignee?.agentId !== 'string' ||
    typeof detail.routedAt !== 'string'
  )
    return undefined;
  return detail as RoutedDetail;
}

export class WorkloadDriver {
  private readonly runtime: LocalRuntime;
  private readonly plan: WorkloadPlan;
  private readonly options: DriverOptions;
  private readonly items: ReadonlyMap<string, PlannedItem>;
  private readonly agents: ReadonlyMap<string, PlannedAgent>;
  private readonly timers = new Set<Timer>();
  /** Each item's pending completion timer (cancelled when the item is re-routed or cancelled). */
  private readonly working = new Map<string, { readonly attempt: number; readonly timer: Timer }>();
  private readonly createdAt = new Map<string, number>();
  private readonly malformedSent = new Map<string, { sentId: string; eventId: string }>();
  private readonly cancelledItems = new Set<string>();
  private readonly rejectedIds = new Set<string>();
  private readonly cancelRetries = new Map<string, number>();
  /** Malformed items already sent again corrected (once each). */
  private readonly resent = new Set<string>();
  private readonly errors: string[] = [];
  private readonly counts: Record<DriverCount, number> = {
    createdSent: 0,
    duplicateCreatedSent: 0,
    malformedSent: 0,
    completionsSent: 0,
    duplicateCompletionsSent: 0,
    earlyCompletionsSent: 0,
    strayCompletionsSent: 0,
    cancellationsSent: 0,
    cancellationsRetried: 0,
    statusChangesSent: 0,
    staleStatusReplaysSent: 0,
    farFutureStatusesSent: 0,
    cancellationsAtOnceSent: 0,
    resendsAfterRejectSent: 0,
    routedSeen: 0,
    abandonedOnReroute: 0,
  };
  /** changedAt (simulated ms) of every status sent, by agent, for the stale replays. */
  private readonly statusTimes = new Map<string, Map<number, number>>();
  private inFlight = 0;
  private startedAt = 0;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(options: DriverOptions) {
    this.options = options;
    this.runtime = options.runtime;
    this.plan = options.plan;
    this.items = new Map(options.plan.items.map((item) => [item.itemId, item]));
    this.agents = new Map(options.plan.agents.map((agent) => [agent.agentId, agent]));
  }

  /** Simulated now. */
  private now(): number {
    return this.runtime.clock.now();
  }

  /** Runs `action` at simulated offset `atSeconds` from the start (at once when past). */
  private at(atSimulatedMs: number, action: () => Promise<void>): Timer {
    this.inFlight += 1;
    // On the runtime's clock: scaled wall time, or virtual time that waits for the work in flight.
    const timer = this.runtime.clock.setTimer(atSimulatedMs - this.now(), () => {
      this.timers.delete(timer);
      if (this.stopped) {
        this.inFlight -= 1;
        return;
      }
      return action()
        .catch((error: unknown) => {
          this.errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        })
        .finally(() => {
          this.inFlight -= 1;
        });
    });
    this.timers.add(timer);
    return timer;
  }

  private cancelTimer(timer: Timer): void {
    if (this.timers.delete(timer)) {
      timer.cancel();
      this.inFlight -= 1;
    }
  }

  /** Schedules the whole plan and starts reacting to WorkItemRouted. */
  start(): void {
    this.startedAt = this.now();
    this.unsubscribe = this.runtime.router.onEvent((recorded) => this.observe(recorded));
    for (const status of this.plan.statuses) {
      this.at(this.startedAt + status.at * 1000, () => this.sendStatus(status));
    }
    for (const item of this.plan.items) {
      this.at(this.startedAt + item.arrivalAt * 1000, () => this.create(item));
    }
    // Completions for items nobody created, spread over the first half.
    this.plan.strayCompletions.forEach((itemId, index) => {
      const at =
        ((index + 1) / (this.plan.strayCompletions.length + 1)) * this.plan.options.horizonSeconds * 500;
      this.at(this.startedAt + at, async () => {
        await this.runtime.putEvent(
          'WorkItemCompleted',
          {
            schemaVersion: '1',
            id: itemId,
            outcome: 'resolved',
            handledBy: 'agent-unknown',
            completedAt: new Date(this.now()).toISOString(),
          },
          'helpdesk',
        );
        this.counts.strayCompletionsSent += 1;
      });
    });
  }

  private async sendStatus(status: PlannedStatus): Promise<void> {
    const agent = this.agents.get(status.agentId);
    if (agent === undefined) return;
    const sentTimes = this.statusTimes.get(agent.agentId) ?? new Map<number, number>();
    this.statusTimes.set(agent.agentId, sentTimes);
    const replayed = status.staleReplayOf === undefined ? undefined : sentTimes.get(status.staleReplayOf);
    const changedAt = replayed ?? this.now();
    if (status.staleReplayOf === undefined && status.farFuture !== true) sentTimes.set(status.at, changedAt);
    await this.runtime.putEvent(
      'AgentStatusChanged',
      {
        schemaVersion: '1',
        agentId: agent.agentId,
        status: status.status,
        capacity: agent.capacity,
        skills: agent.skills,
        // Shifts outlast the run: the plan's horizon plus eight hours to finish the tail.
        shiftEndsAt: new Date(
          this.startedAt + (this.plan.options.horizonSeconds + 8 * 3_600) * 1000,
        ).toISOString(),
        // A workforce system with a broken clock: refused, and it must not freeze the agent.
        changedAt: status.farFuture === true ? '9999-12-31T00:00:00.000Z' : new Date(changedAt).toISOString(),
        kind: 'person',
      },
      'workforce',
    );
    if (status.farFuture === true) this.counts.farFutureStatusesSent += 1;
    else if (status.staleReplayOf === undefined) this.counts.statusChangesSent += 1;
    else this.counts.staleStatusReplaysSent += 1;
  }

  private async create(item: PlannedItem): Promise<void> {
    const createdAt = this.now();
    const detail = createdDetail(this.plan, item, createdAt);
    const eventId = await this.runtime.putEvent('WorkItemCreated', detail, item.source);
    this.createdAt.set(item.itemId, createdAt);
    if (item.fate === 'malformed') {
      this.malformedSent.set(item.itemId, { sentId: String(detail.id), eventId });
      this.counts.malformedSent += 1;
    } else {
      this.counts.createdSent += 1;
    }
    if (item.duplicateAfter !== undefined) {
      this.at(createdAt + item.duplicateAfter * 1000, async () => {
        await this.runtime.putEvent('WorkItemCreated', detail, item.source);
        this.counts.duplicateCreatedSent += 1;
      });
    }
    if (item.cancelAfter === 0) {
      // In the same instant: the cancellation overtakes its creation (still in the intake queue).
      this.counts.cancellationsAtOnceSent += 1;
      await this.cancel(item);
    } else if (item.cancelAfter !== undefined) {
      this.at(createdAt + item.cancelAfter * 1000, () => this.cancel(item));
    }
  }

  private async cancel(item: PlannedItem, retry = false): Promise<void> {
    this.cancelledItems.add(item.itemId);
    const work = this.working.get(item.itemId);
    if (work) {
      this.cancelTimer(work.timer);
      this.working.delete(item.itemId);
    }
    await this.runtime.putEvent(
      'WorkItemCancelled',
      {
        schemaVersion: '1',
        id: item.itemId,
        reason: 'the customer withdrew the request',
        cancelledAt: new Date(this.now()).toISOString(),
      },
      item.source,
    );
    if (!retry) this.counts.cancellationsSent += 1;
  }

  /** The executing systems' side: an agent (or the automation) is told to do the item. */
  private observe(recorded: RecordedEvent): void {
    const event = recorded.event;
    if (event.source !== 'flowtune') return;
    if (event['detail-type'] === 'WorkItemRejected') {
      const { id, detailType } = event.detail as { id?: unknown; detailType?: unknown };
      if (typeof id !== 'string') return;
      this.rejectedIds.add(id);
      const item = this.items.get(id);
      // The producer fixes the field the rejection named and sends the item again: a new attempt.
      if (detailType === 'WorkItemCreated' && item?.resendAfterReject === true && !this.resent.has(id)) {
        this.resent.add(id);
        this.at(this.now() + 60_000, async () => {
          const { defect: _defect, ...corrected } = item;
          await this.runtime.putEvent(
            'WorkItemCreated',
            createdDetail(this.plan, corrected, this.now()),
            item.source,
          );
          this.counts.resendsAfterRejectSent += 1;
        });
      }
      // A cancellation that overtook the item's registration is refused as "unknown item": the
      // producer tries again a simulated minute later, as an integration reading WorkItemRejected would.
      if (detailType === 'WorkItemCancelled' && item !== undefined && (this.cancelRetries.get(id) ?? 0) < 5) {
        this.cancelRetries.set(id, (this.cancelRetries.get(id) ?? 0) + 1);
        this.counts.cancellationsRetried += 1;
        this.at(this.now() + 60_000, () => this.cancel(item, true));
      }
      return;
    }
    if (event['detail-type'] !== 'WorkItemRouted') return;
    const routed = routedDetail(event);
    const item = routed === undefined ? undefined : this.items.get(routed.id);
    if (routed === undefined || item === undefined) return;
    this.counts.routedSeen += 1;
    const previous = this.working.get(item.itemId);
    if (previous !== undefined) {
      if (previous.attempt >= routed.attempt) return;
      // Re-routed: the executing system takes the item away from the agent who was too slow.
      this.cancelTimer(previous.timer);
      this.working.delete(item.itemId);
      this.counts.abandonedOnReroute += 1;
    }
    if (item.fate === 'never-completes' || this.cancelledItems.has(item.itemId)) return;

    const routedAt = Date.parse(routed.routedAt);
    const agent = this.agents.get(routed.assignee.agentId);
    const seconds =
      routed.assignee.kind === 'automation' || agent === undefined
        ? automationSeconds(this.plan, item)
        : handlingSeconds(this.plan, item, agent, routed.attempt);
    const early = item.earlyCompletion && routed.attempt === 1;
    const finishAt = early ? this.now() : routedAt + seconds * 1000;
    const timer = this.at(finishAt, async () => {
      this.working.delete(item.itemId);
      if (this.cancelledItems.has(item.itemId)) return;
      await this.complete(item, routed, early);
    });
    this.working.set(item.itemId, { attempt: routed.attempt, timer });
  }

  private async complete(item: PlannedItem, routed: RoutedDetail, early: boolean): Promise<void> {
    const completedAt = this.now();
    const detail = {
      schemaVersion: '1',
      id: item.itemId,
      outcome: item.kind === 'order' ? 'converted' : 'resolved',
      handledBy: routed.assignee.agentId,
      startedAt: routed.routedAt,
      completedAt: new Date(completedAt).toISOString(),
      quality: {
        reopened: item.index % 31 === 0,
        firstTimeResolution: item.index % 9 !== 0,
        rework: item.index % 23 === 0,
      },
    };
    await this.runtime.putEvent('WorkItemCompleted', detail, item.source);
    this.counts.completionsSent += 1;
    if (early) this.counts.earlyCompletionsSent += 1;
    if (item.duplicateCompletionAfter !== undefined) {
      this.at(completedAt + item.duplicateCompletionAfter * 1000, async () => {
        await this.runtime.putEvent('WorkItemCompleted', detail, item.source);
        this.counts.duplicateCompletionsSent += 1;
      });
    }
  }

  /** Whether the item's process is over, or parked where only a person can move it. */
  isSettled(item: PlannedItem, exceptionExecutions: ReadonlySet<string>): boolean {
    if (item.fate === 'malformed') {
      const sent = this.malformedSent.get(item.itemId);
      return sent !== undefined && this.rejectedIds.has(sent.sentId);
    }
    if (!this.createdAt.has(item.itemId) || !this.runtime.runner.hasExecution(item.itemId)) return false;
    const execution = this.runtime.runner.describeExecution(item.itemId);
    return execution.status !== 'RUNNING' || exceptionExecutions.has(execution.executionArn);
  }

  /** Executions parked in the human exception queue. */
  exceptionExecutions(): Set<string> {
    return new Set(
      this.runtime.tokens.pending({ stateName: EXCEPTION_STATE }).map((wait) => wait.executionArn),
    );
  }

  progress(): DriverProgress {
    const exceptions = this.exceptionExecutions();
    let settled = 0;
    for (const item of this.plan.items) if (this.isSettled(item, exceptions)) settled += 1;
    return {
      total: this.plan.items.length,
      created: this.createdAt.size,
      settled,
      simulatedSeconds: (this.now() - this.startedAt) / 1000,
    };
  }

  /**
   * Resolves once everything planned was sent, no agent is still working, and every item is
   * settled; or `timeoutMs` of the runtime clock's (simulated) time after the last planned
   * arrival, or `wallGuardMs` of wall time in all (then `complete` is false: the ledger shows
   * what did not settle). Polls on the runtime's clock, so on virtual time each look falls at
   * the same simulated instant in every run.
   */
  async finished(
    timeoutMs: number,
    wallGuardMs = 30 * 60_000,
  ): Promise<{ readonly complete: boolean; readonly progress: DriverProgress }> {
    const deadline = this.startedAt + this.plan.options.horizonSeconds * 1000 + timeoutMs;
    const wallDeadline = Date.now() + wallGuardMs;
    const pollMs = this.options.pollMs ?? 60_000;
    const clock = this.runtime.clock;
    for (;;) {
      await this.options.onPoll?.();
      const progress = this.progress();
      this.options.onProgress?.(progress);
      if (this.inFlight === 0 && progress.settled === progress.total) {
        await this.runtime.idle();
        return { complete: true, progress: this.progress() };
      }
      if (this.now() > deadline || Date.now() > wallDeadline) return { complete: false, progress };
      let guard: NodeJS.Timeout | undefined;
      await Promise.race([
        clock.sleep(pollMs),
        new Promise((resolve) => {
          guard = setTimeout(resolve, Math.max(0, wallDeadline - Date.now()));
        }),
      ]);
      clearTimeout(guard);
    }
  }

  /** Stops sending; pending timers are dropped. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.timers) timer.cancel();
    this.inFlight -= this.timers.size;
    this.timers.clear();
  }

  log(): DriverLog {
    return {
      startedAt: this.startedAt,
      createdAt: this.createdAt,
      malformedSent: this.malformedSent,
      counts: { ...this.counts },
      errors: [...this.errors],
    };
  }
}
