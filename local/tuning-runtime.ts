import { randomUUID } from 'node:crypto';
import type { DynamoDbTuningStore } from '../lambdas/shared/dynamodb-tuning-store';
import type { InvocationContext } from '../lambdas/shared/observability';
import type { PolicyStore } from '../lambdas/shared/policy-store';
import type { FeatureStore, InstanceStore, Timer, TimerClock } from '../lambdas/shared/ports';
import { createApplyHandler } from '../lambdas/tuning/apply/handler';
import { createApprovalHandler } from '../lambdas/tuning/approval/handler';
import { createCycleHandler } from '../lambdas/tuning/cycle/handler';
import { createObserveHandler } from '../lambdas/tuning/observe/handler';
import { readDefinition, substitute } from '../lib/definitions';
import {
  TUNING_FUNCTIONS,
  TUNING_RULES,
  TUNING_STATE_MACHINE,
  type TuningFunctionName,
} from '../lib/definitions/tuning';
import { AslRunner, type ExecutionDescription, type ExecutionStatus, type LocalFunction } from './asl-runner';
import { compileEventPattern } from './event-pattern';
import type { LocalEvent, LocalEventRouter } from './event-router';
import { LOCAL_EVENT_BUS_NAME, localFunctionArn } from './local-names';
import type { TaskTokenRegistry } from './task-tokens';
import { every } from './virtual-clock';

/**
 * The tuning loop in the local runtime, wired from lib/definitions/tuning.ts as the Tuning
 * construct wires it on AWS: the observation rule (TUNING_RULES) delivers matching bus events to
 * the observe function, and the Tuning state machine (statemachines/tuning.asl.json, run by its
 * own AslRunner) runs over the real cycle, approval and apply handlers, started on a timer in
 * place of the TUNING_SCHEDULE rule. Everything reads and writes the runtime's DynamoDB Local
 * tables through the same DynamoDB ports the deployed functions use.
 */

/** Invocations and failures of one function. */
export interface TuningFunctionStats {
  invocations: number;
  errors: number;
}

/** An observation the observe function failed to take, after the retries (the rule's DLQ). */
export interface ObservationDeliveryFailure {
  readonly event: LocalEvent;
  readonly error: string;
  readonly attempts: number;
}

export interface LocalTuning {
  /** Runs the Tuning state machine; its task tokens live in the runtime's registry. */
  readonly runner: AslRunner;
  /** The loop's storage: observation buckets, detector state, experiment, versions, approvals. */
  readonly store: DynamoDbTuningStore;
  readonly functionStats: Readonly<Record<TuningFunctionName, TuningFunctionStats>>;
  /** Observations the observe function failed to take for good. */
  readonly deliveryFailures: readonly ObservationDeliveryFailure[];
  /** Ticks skipped because the previous cycle was still running. */
  readonly skippedTicks: number;
  /** Starts one tuning execution now, as the schedule does, and returns its name. */
  startCycle(): string;
  /** The tuning executions so far (the schedule's and `startCycle`'s). */
  executions(filter?: { readonly status?: ExecutionStatus }): ExecutionDescription[];
  waitForExecution(name: string, timeoutMs?: number): Promise<ExecutionDescription>;
  /** True while an observation is being delivered (or waits for a retry). */
  readonly busy: boolean;
  /** True while an observation is being taken (one waiting to be retried waits on the clock). */
  readonly delivering: boolean;
  /** Resolves once every observation delivered so far has been taken (or failed for good). */
  idle(): Promise<void>;
  /** Stops the timer and aborts running tuning executions; idempotent. */
  stop(): Promise<void>;
}

export interface LocalTuningOptions {
  readonly router: LocalEventRouter;
  /** The tuning store on the runtime's Features table (the dispatcher reads experiments from it too). */
  readonly store: DynamoDbTuningStore;
  /** The one way the active policy changes (the apply task goes through it). */
  readonly policies: PolicyStore;
  readonly features: FeatureStore;
  readonly instances: InstanceStore;
  readonly tokens: TaskTokenRegistry;
  /** The runtime's clock: observation deliveries, their retries and the schedule wait on it. */
  readonly clock: TimerClock;
  readonly timeScale: number;
  /** Run the state machine's timers on `clock` (a virtual clock) rather than scaled wall time. */
  readonly runnerOnClock?: boolean;
  readonly retryIntervalMs: number;
  /** Clock ms between scheduled cycles; `false`: only `startCycle()` starts one. */
  readonly tickMs: number | false;
  readonly executionHistoryLimit?: number;
}

/** Delivery attempts of one observation, as Lambda's asynchronous invocation makes (1 + 2 retries). */
const OBSERVE_MAX_ATTEMPTS = 3;
const OBSERVE_RETRY_DELAY_MS = 10;

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * Starts the tuning loop of a local runtime (the runtime calls this; see LocalRuntime.tuning).
 *
 * @example
 * const tuning = startLocalTuning({ router, store, features, instances, tokens, clock, timeScale: 1, retryIntervalMs: 100, tickMs: false });
 * const name = tuning.startCycle();
 * await tuning.waitForExecution(name); // { status: 'SUCCEEDED', ... }
 */
export function startLocalTuning(options: LocalTuningOptions): LocalTuning {
  const { clock, store } = options;
  const functionStats = Object.fromEntries(
    (Object.keys(TUNING_FUNCTIONS) as TuningFunctionName[]).map((name) => [
      name,
      { invocations: 0, errors: 0 },
    ]),
  ) as Record<TuningFunctionName, TuningFunctionStats>;
  const handlers: Record<
    TuningFunctionName,
    (event: unknown, context?: InvocationContext) => Promise<unknown>
  > = {
    tuningObserve: createObserveHandler({ tuning: store, instances: options.instances, clock }),
    tuningCycle: createCycleHandler({ tuning: store, features: options.features, clock }),
    tuningApproval: createApprovalHandler({ tuning: store, clock }),
    tuningApply: createApplyHandler({ tuning: store, policies: options.policies, clock }),
  };
  const invoke = async (name: TuningFunctionName, event: unknown): Promise<unknown> => {
    const stats = functionStats[name];
    stats.invocations += 1;
    try {
      return await handlers[name](event, {
        awsRequestId: randomUUID(),
        functionName: `flowtune-local-${TUNING_FUNCTIONS[name].id}`,
      });
    } catch (error) {
      stats.errors += 1;
      throw error;
    }
  };

  // The state machine, its function placeholders bound from the definitions.
  const functions: Record<string, LocalFunction> = {};
  const placeholders: Record<string, string> = { EventBusName: LOCAL_EVENT_BUS_NAME };
  for (const [name, definition] of Object.entries(TUNING_FUNCTIONS) as [
    TuningFunctionName,
    (typeof TUNING_FUNCTIONS)[TuningFunctionName],
  ][]) {
    if (!('placeholder' in definition)) continue;
    const arn = localFunctionArn(definition);
    placeholders[definition.placeholder] = arn;
    functions[arn] = (payload) => invoke(name, payload);
  }
  const runner = new AslRunner({
    definition: substitute(readDefinition(TUNING_STATE_MACHINE), placeholders),
    stateMachineName: TUNING_STATE_MACHINE.id,
    tokens: options.tokens,
    now: () => clock.now(),
    retryIntervalMs: options.retryIntervalMs,
    ...(options.runnerOnClock ? { clock } : { timeScale: options.timeScale }),
    ...(options.executionHistoryLimit === undefined ? {} : { historyLimit: options.executionHistoryLimit }),
    bindings: { functions, events: options.router },
  });

  // The observation rule: matching events go to the observe function, retried like an async invoke.
  const deliveryFailures: ObservationDeliveryFailure[] = [];
  const matches = compileEventPattern(TUNING_RULES.observations.pattern);
  const timers = new Set<Timer>();
  let pending = 0;
  let running = 0;
  let idleWaiters: (() => void)[] = [];
  let stopped = false;
  const settle = () => {
    if (pending > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };
  const deliver = (event: LocalEvent, attempt: number, delayMs: number) => {
    pending += 1;
    const timer = clock.setTimer(delayMs, () => {
      timers.delete(timer);
      running += 1;
      return invoke('tuningObserve', structuredClone(event))
        .catch((error: unknown) => {
          if (attempt >= OBSERVE_MAX_ATTEMPTS || stopped) {
            deliveryFailures.push({ event, error: describeError(error), attempts: attempt });
            return;
          }
          deliver(event, attempt + 1, OBSERVE_RETRY_DELAY_MS * 2 ** (attempt - 1));
        })
        .finally(() => {
          running -= 1;
          pending -= 1;
          settle();
        });
    });
    timers.add(timer);
  };
  const unsubscribe = options.router.onEvent(({ event }) => {
    if (!stopped && matches(event)) deliver(event, 1, 0);
  });

  // The schedule. A tick while the previous cycle still computes is skipped (one waiting for a
  // person's approval does not count), so a fast time scale cannot pile cycles up.
  let cycles = 0;
  let skippedTicks = 0;
  const startCycle = (): string => {
    cycles += 1;
    const name = `tuning-${cycles}-${randomUUID().slice(0, 8)}`;
    runner.startExecution({ name, input: { source: 'local-schedule' } });
    return name;
  };
  const computing = () =>
    runner
      .listExecutions({ status: 'RUNNING' })
      .some((execution) => options.tokens.pending({ executionArn: execution.executionArn }).length === 0);
  const ticker =
    options.tickMs === false
      ? undefined
      : every(clock, options.tickMs, () => {
          if (computing()) skippedTicks += 1;
          else startCycle();
        });

  let stoppedPromise: Promise<void> | undefined;
  return {
    runner,
    store,
    functionStats,
    deliveryFailures,
    get skippedTicks() {
      return skippedTicks;
    },
    startCycle,
    executions: (filter) => runner.listExecutions(filter),
    waitForExecution: (name, timeoutMs) => runner.waitForExecution(name, timeoutMs),
    get busy() {
      return pending > 0;
    },
    get delivering() {
      return running > 0;
    },
    idle: () => (pending === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    stop: () => {
      stoppedPromise ??= (async () => {
        stopped = true;
        ticker?.cancel();
        unsubscribe();
        for (const timer of timers) timer.cancel();
        pending -= timers.size;
        timers.clear();
        settle();
        await runner.stopAll();
      })();
      return stoppedPromise;
    },
  };
}
