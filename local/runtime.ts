import { createHash, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PutEventsRequestEntry, PutEventsResponse } from '@aws-sdk/client-eventbridge';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { FLOWTUNE_SOURCE, type OutboundDetailType } from '../domain/events';
import { DEFAULT_PERSONAL_DATA, PersonalData, type PersonalDataRules } from '../domain/personal-data';
import { DispatchMessage, type ProcessInput } from '../domain/process';
import { createAgentStatusHandler } from '../lambdas/agent-status/handler';
import { createCompletionHandler } from '../lambdas/completion/handler';
import { createDispatcherHandler, type RoundReport } from '../lambdas/dispatcher/handler';
import { STUCK_ASSIGNMENT_MS } from '../lambdas/dispatcher/stuck-assignments';
import { createIngressHandler, type IngressResponse } from '../lambdas/ingress/handler';
import { createIntakeHandler } from '../lambdas/intake/handler';
import { createParkHandler } from '../lambdas/park/handler';
import { createPlanWaitHandler } from '../lambdas/plan-wait/handler';
import { createRecordOutcomeHandler } from '../lambdas/record-outcome/handler';
import { createScoreHandler } from '../lambdas/score/handler';
import { createDocumentClient } from '../lambdas/shared/aws-clients';
import { DynamoDbAllocationStore } from '../lambdas/shared/dynamodb-allocation-store';
import { DynamoDbAuditLog } from '../lambdas/shared/dynamodb-audit-log';
import { DynamoDbFeatureStore } from '../lambdas/shared/dynamodb-feature-store';
import { DynamoDbInstanceStore } from '../lambdas/shared/dynamodb-instance-store';
import { DynamoDbTuningStore } from '../lambdas/shared/dynamodb-tuning-store';
import { EventPublishError } from '../lambdas/shared/eventbridge-event-publisher';
import type { InvocationContext } from '../lambdas/shared/observability';
import { validateOutbound } from '../lambdas/shared/outbound-events';
import { PolicyStore } from '../lambdas/shared/policy-store';
import type {
  AuditLog,
  AuditRecord,
  DispatchTrigger,
  EventPublisher,
  ExecutionControl,
  ExecutionSummary,
  FeatureStore,
  InstanceRecord,
  InstanceStore,
  OutboundDetail,
  ResumeOutcome,
  StartOutcome,
} from '../lambdas/shared/ports';
import { systemClock, type TimerClock, wallTimerClock } from '../lambdas/shared/ports';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../lambdas/shared/pseudonymise';
import { createValidateHandler } from '../lambdas/validate/handler';
import {
  AUDIT_TABLE,
  DISPATCH_MESSAGE_GROUP,
  DISPATCH_TICK_MINUTES,
  FEATURES_TABLE,
  FUNCTIONS,
  type FunctionDefinition,
  type FunctionName,
  INBOUND_RULES,
  INSTANCES_TABLE,
  QUEUES,
  type QueueName,
  RULES,
  TABLES,
} from '../lib/definitions';
import { ALLOCATION_SCHEDULE } from '../lib/definitions/allocation';
import { TUNING_RULES, TUNING_SCHEDULE } from '../lib/definitions/tuning';
import { startLocalAllocation } from './allocation-runtime';
import { AslRunner, type ExecutionDescription, type ExecutionStatus, type LocalFunction } from './asl-runner';
import {
  connectorRules,
  connectorTables,
  type LocalConnector,
  type LocalConnectorOptions,
  startLocalConnector,
} from './connector-runtime';
import {
  createTables,
  type DynamoDbLocal,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
  type TableNames,
} from './dynamodb-local';
import { type LocalEvent, LocalEventRouter } from './event-router';
import { LocalEventForwarder, LocalInboundBus } from './inbound-bus';
import { LOCAL_EVENT_BUS_NAME, LOCAL_REGION, localFunctionArn } from './local-names';
import { LocalQueue, toSqsEvent } from './local-queue';
import { localProcessDefinition } from './process-definition';
import { TaskTokenRegistry } from './task-tokens';
import { type LocalTuning, startLocalTuning } from './tuning-runtime';
import { every, VirtualClock } from './virtual-clock';

/** Scheduled jobs (tuning, allocation) start at most this often in wall time, whatever the time scale. */
export const MIN_SCHEDULED_JOB_WALL_MS = 2_000;

/** A schedule's period in wall ms at this time scale, floored at MIN_SCHEDULED_JOB_WALL_MS. */
function scheduledJobTickMs(rateMinutes: number, timeScale: number): number {
  return Math.max((rateMinutes * 60_000) / timeScale, MIN_SCHEDULED_JOB_WALL_MS);
}

/** Wall time after which an unconfirmed assignment is recovered when the runtime runs scaled. */
const STUCK_ASSIGNMENT_WALL_MS = 20_000;

/**
 * Flowtune without AWS: DynamoDB Local with the tables of lib/definitions, the real DynamoDB
 * port implementations pointed at it, the real handlers in-process, the process-instance ASL
 * run by aws-local-stepfunctions, the RULES patterns on a local bus, and the QUEUES as local
 * queues. Wiring is derived from the definitions (each rule's target, each queue's consumer,
 * each ASL function placeholder), so a function the definitions name but this runtime lacks
 * fails at start-up, naming it.
 */

export interface LocalRuntimeOptions {
  /** Use this DynamoDB Local instead of starting one (it is then not stopped by `stop()`). */
  readonly dynamoDb?: DynamoDbLocal;
  /** Table-name prefix, so several runtimes can share one DynamoDB Local. @default a fresh `run<8 hex>-` */
  readonly tablePrefix?: string;
  /**
   * The clock everything reads and waits on: the handlers, the bus and its retries, the queues,
   * the task tokens, the state machines' timers, the schedules. A {@link VirtualClock} runs the
   * whole runtime on virtual time (then `timeScale` must stay 1; periods and delays given here
   * are in simulated ms, and the tables get no TTL, which DynamoDB Local would judge in wall
   * time). @default the system clock, or a scaled clock when `timeScale` is set
   */
  readonly clock?: TimerClock;
  /**
   * Simulated seconds per wall second (e.g. 120: a 4-hour SLA passes in 2 minutes). The runtime
   * then runs on a {@link createScaledClock} starting now (unless `clock` is given), the ASL's
   * TimeoutSeconds / TimeoutSecondsPath / Wait seconds are divided by it, and so is the default
   * dispatch tick. Wall-time settings (retryIntervalMs, dispatchTickMs, queue delays) are not.
   * @default 1
   */
  readonly timeScale?: number;
  /** Delay of every ASL Retry, in ms, instead of the definition's 1 s × 2ⁿ with jitter. @default 100 */
  readonly retryIntervalMs?: number;
  /** Periodic dispatch round, in wall ms; `false` turns it off. @default DISPATCH_TICK_MINUTES (÷ timeScale) */
  readonly dispatchTickMs?: number | false;
  /**
   * Period of the scheduled tuning workflow, in wall ms; `false` turns the timer off (a cycle can
   * still be started with `tuning.startCycle()`). The observation rule runs either way.
   * @default TUNING_SCHEDULE.rateMinutes ÷ timeScale, like the dispatch tick, but never more
   * often than every MIN_SCHEDULED_JOB_WALL_MS (at high time scales a cycle every fraction of a
   * second would take the CPU the workload needs); off when `dispatchTickMs` is `false`, since a
   * caller that drives the rounds itself wants no loop changing the policy under it (tests stay
   * deterministic)
   */
  readonly tuningTickMs?: number | false;
  /**
   * Period of the scheduled allocation job, in wall ms; `false` turns it off.
   * @default ALLOCATION_SCHEDULE.rateMinutes ÷ timeScale (at least MIN_SCHEDULED_JOB_WALL_MS);
   * off when `dispatchTickMs` is `false`, like tuning
   */
  readonly allocationTickMs?: number | false;
  /** Concurrent intake batches (Lambda's SQS poller runs several). @default 2 */
  readonly intakeConcurrency?: number;
  /** Delay before a failed queue message is redelivered, in ms. @default 100 */
  readonly queueRedeliveryDelayMs?: number;
  /** @default the published local-only key (never valid in a deployed function) */
  readonly pseudonymKey?: string;
  /** What in an event detail is personal data (the CDK prop `personalData`). @default DEFAULT_PERSONAL_DATA */
  readonly personalData?: PersonalDataRules;
  /** Newest events kept per execution history (see AslRunnerOptions.historyLimit). @default all */
  readonly executionHistoryLimit?: number;
  /** Told what each dispatch round did. */
  readonly onRound?: (report: RoundReport) => void;
  /**
   * Wraps the ports before any handler is built (fault injection, tracing). The handlers see
   * what this returns; `LocalRuntime.ports` keeps the undecorated ones, so tests can seed and
   * inspect without going through the faults. @default the ports as they are
   */
  readonly decoratePorts?: (ports: HandlerPorts) => HandlerPorts;
  /**
   * Wraps each function's handler, by FUNCTIONS name (e.g. to make `score` crash or time out).
   * Called once per function at start-up; the wrapper sees every invocation (ASL task, rule
   * target or queue batch) and its result or error counts in `functionStats`.
   * @default the handlers as they are
   */
  readonly decorateHandlers?: HandlerDecorator;
  /**
   * Delivers routing decisions for automation agents to an executing system by direct call, as
   * the Connector construct does on AWS (local/connector-runtime.ts; local/executing-system.ts is
   * a stand-in to point it at). @default none: WorkItemRouted events only
   */
  readonly connector?: LocalConnectorOptions;
}

/** The ports the handlers are built on, as their interfaces. */
export interface HandlerPorts {
  readonly features: FeatureStore;
  readonly instances: InstanceStore;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly executions: ExecutionControl;
  readonly dispatch: DispatchTrigger;
}

/** One Lambda handler as the runtime invokes it. */
export type LocalHandler<E, R> = (event: E, context?: InvocationContext) => Promise<R>;

/** Returns the handler to use in place of `handler` for function `name`. */
export type HandlerDecorator = <E, R>(name: FunctionName, handler: LocalHandler<E, R>) => LocalHandler<E, R>;

export interface LocalRuntimeTables {
  readonly featuresTable: string;
  readonly instancesTable: string;
  readonly auditTable: string;
}

/** Invocations and failures of one function, for the demo and tests. */
export interface FunctionStats {
  invocations: number;
  errors: number;
}

export interface LocalRuntime {
  readonly dynamoDb: DynamoDbLocal;
  /** The clock everything in the runtime reads and waits on (scaled when `timeScale` was given). */
  readonly clock: TimerClock;
  /** 1 on a virtual clock. */
  readonly timeScale: number;
  /** True on a virtual clock: time moves only when nothing is in flight. */
  readonly virtual: boolean;
  readonly documentClient: DynamoDBDocumentClient;
  /**
   * The raw client the state machine's DynamoDB tasks go through: `dynamoDb.client` on wall time,
   * the runtime's own (its requests counted as in flight) on a virtual clock. Fault plans attach
   * their SDK-level faults here (FaultPlan.attachToDynamoDbClient).
   */
  readonly runnerDynamoDb: DynamoDBClient;
  readonly tables: LocalRuntimeTables;
  readonly router: LocalEventRouter;
  readonly runner: AslRunner;
  readonly tokens: TaskTokenRegistry;
  readonly queues: Readonly<Record<QueueName, LocalQueue>>;
  /**
   * The undecorated port implementations (DynamoDB Local, local bus, runner, dispatch queue):
   * for seeding and inspection. The handlers run on `handlerPorts`.
   */
  readonly ports: {
    readonly features: DynamoDbFeatureStore;
    readonly instances: DynamoDbInstanceStore;
    readonly audit: DynamoDbAuditLog;
    readonly events: EventPublisher;
    readonly executions: ExecutionControl;
    readonly dispatch: DispatchTrigger;
  };
  /** The ports the handlers run on: `ports` after `decoratePorts`. */
  readonly handlerPorts: HandlerPorts;
  /**
   * The tuning loop: the observation rule, the Tuning state machine on its schedule, their
   * executions and the tuning store. It runs on the undecorated ports (fault plans target the
   * process's functions).
   */
  readonly tuning: LocalTuning;
  /**
   * The policy store every policy change goes through (versions, conditional activation, the
   * policy history in Audit, PolicyChanged on the local bus): the ops server, the tuning loop
   * and the allocation job share it. Tests seed a policy with `policies.change`.
   */
  readonly policies: PolicyStore;
  /** The connector, when the `connector` option was given. */
  readonly connector?: LocalConnector;
  readonly functionStats: Readonly<Record<FunctionName, FunctionStats>>;
  /** EventBridge PutEvents on the local bus: what a SaaS producer does. */
  putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResponse>;
  /** Puts one event (`source` defaults to `local-producer`) and returns its event id. */
  putEvent(detailType: string, detail: unknown, source?: string): Promise<string>;
  executions(filter?: { readonly status?: ExecutionStatus }): ExecutionDescription[];
  waitForExecution(itemId: string, timeoutMs?: number): Promise<ExecutionDescription>;
  /** Events Flowtune emitted (source `flowtune`), optionally of one detail-type. */
  emittedEvents(detailType?: OutboundDetailType): LocalEvent[];
  waitForEmitted(detailType: OutboundDetailType, itemId: string, timeoutMs?: number): Promise<LocalEvent>;
  auditTrail(itemId: string): Promise<AuditRecord[]>;
  instance(itemId: string): Promise<InstanceRecord | undefined>;
  /** Dead-lettered queue messages and failed bus deliveries: anything here was not processed. */
  failures(): { readonly where: string; readonly id: string; readonly error: string }[];
  /** Resolves once no bus delivery, queue message or function invocation is pending. */
  idle(): Promise<void>;
  /** Stops everything and always stops the DynamoDB Local this runtime started; idempotent. */
  stop(): Promise<void>;
}

/** A clock on which `scale` seconds pass per wall second, with its origin and a wall-time converter. */
export interface ScaledClock extends TimerClock {
  readonly scale: number;
  /** Wall epoch ms at which simulated and wall time agreed. */
  readonly origin: number;
  /** Wall ms that `simulatedMs` of simulated time take. */
  toWallMs(simulatedMs: number): number;
}

/**
 * Simulated time running `scale` times faster than the wall clock, from `origin` (default now):
 * `now() = origin + (wallNow() − origin) × scale`.
 *
 * @example
 * const clock = createScaledClock({ scale: 120 });
 * // one wall second later: clock.now() - clock.origin ≈ 120_000
 */
export function createScaledClock(options: {
  readonly scale: number;
  readonly origin?: number;
  readonly wallNow?: () => number;
}): ScaledClock {
  const { scale } = options;
  if (!(scale > 0 && Number.isFinite(scale)))
    throw new RangeError(`scale must be a positive number, got ${scale}`);
  const wallNow = options.wallNow ?? Date.now;
  const origin = options.origin ?? wallNow();
  const now = () => Math.round(origin + (wallNow() - origin) * scale);
  return {
    ...wallTimerClock(now, scale),
    scale,
    origin,
    now,
    toWallMs: (simulatedMs) => simulatedMs / scale,
  };
}

/** Errors that mean "that task is gone": nothing to resume (as SfnExecutionControl maps them). */
const STALE_TOKEN_ERRORS = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

const errorName = (error: unknown): string => (error instanceof Error ? error.name : '');

/** EventPublisher on the local bus, validating like the EventBridge one. */
export class LocalEventPublisher implements EventPublisher {
  constructor(private readonly router: LocalEventRouter) {}

  async publish<K extends OutboundDetailType>(detailType: K, detail: OutboundDetail<K>): Promise<void> {
    const validated = validateOutbound(detailType, detail);
    const result = await this.router.putEvents([
      {
        EventBusName: LOCAL_EVENT_BUS_NAME,
        Source: FLOWTUNE_SOURCE,
        DetailType: detailType,
        Detail: JSON.stringify(validated),
      },
    ]);
    if ((result.FailedEntryCount ?? 0) > 0) {
      const entry = result.Entries?.[0];
      throw new EventPublishError(
        `local bus refused ${detailType}: ${entry?.ErrorCode} ${entry?.ErrorMessage}`,
      );
    }
  }
}

/** ExecutionControl on the ASL runner and its token registry, with Step Functions' outcomes. */
class LocalExecutionControl implements ExecutionControl {
  constructor(private readonly runner: AslRunner) {}

  async startExecution(name: string, input: ProcessInput): Promise<StartOutcome> {
    const existed = this.runner.hasExecution(name);
    try {
      this.runner.startExecution({ name, input });
    } catch (error) {
      if (errorName(error) === 'ExecutionAlreadyExists') return 'duplicate';
      throw error;
    }
    // Same name and input while running: StartExecution answers with the original.
    return existed ? 'redelivered' : 'started';
  }

  async describeExecution(name: string): Promise<ExecutionSummary | undefined> {
    if (!this.runner.hasExecution(name)) return undefined;
    const description = this.runner.describeExecution(name);
    const input = description.input;
    const fields = typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {};
    return {
      status: description.status === 'RUNNING' ? 'running' : 'ended',
      ...(typeof fields.eventId === 'string' ? { eventId: fields.eventId } : {}),
      ...('detail' in fields ? { detail: fields.detail } : {}),
    };
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<ResumeOutcome> {
    return this.resume(() => this.runner.tokens.sendTaskSuccess(taskToken, output));
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<ResumeOutcome> {
    return this.resume(() =>
      this.runner.tokens.sendTaskFailure(taskToken, error.slice(0, 256), cause.slice(0, 32_768)),
    );
  }

  private async resume(send: () => void): Promise<ResumeOutcome> {
    try {
      send();
      return 'sent';
    } catch (error) {
      if (STALE_TOKEN_ERRORS.has(errorName(error))) return 'stale';
      throw error;
    }
  }
}

/** DispatchTrigger on the local FIFO dispatch queue, deduplicated like the SQS one. */
class LocalDispatchTrigger implements DispatchTrigger {
  constructor(private readonly queue: LocalQueue) {}

  async tick(reason: string, at: number): Promise<void> {
    const body = JSON.stringify(
      DispatchMessage.parse({ kind: 'tick', reason, at: new Date(at).toISOString() }),
    );
    this.queue.send({
      body,
      groupId: DISPATCH_MESSAGE_GROUP,
      deduplicationId: createHash('sha256').update(body).digest('hex'),
    });
  }
}

type EventHandler = (event: unknown, context?: InvocationContext) => Promise<unknown>;
type QueueHandler = (event: SQSEvent, context?: InvocationContext) => Promise<SQSBatchResponse>;

/** The handler wired to `name`, or a start-up error naming the function and who needs it. */
function requireHandler<H>(
  handlers: Partial<Record<FunctionName, H>>,
  name: FunctionName,
  neededBy: string,
): H {
  const handler = handlers[name];
  if (handler === undefined)
    throw new Error(`The local runtime has no handler for function "${name}", needed by ${neededBy}.`);
  return handler;
}

function requireTable(names: TableNames, id: string): string {
  const name = names[id];
  if (name === undefined) throw new Error(`table ${id} was not created`);
  return name;
}

/**
 * Starts Flowtune locally: DynamoDB Local (unless one is given), the tables, the ports, the
 * handlers, the bus, the queues and the state machine. Always pair it with `stop()`.
 *
 * @example
 * const runtime = await startLocalRuntime({ dispatchTickMs: 500 });
 * try {
 *   await runtime.putEvent('WorkItemCreated', detail, 'helpdesk');
 *   await runtime.waitForEmitted('WorkItemRouted', detail.id);
 * } finally {
 *   await runtime.stop();
 * }
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  // The runtime plays the Lambda service here: it sets the functions' Powertools environment,
  // keeping whatever the caller already chose (e.g. POWERTOOLS_LOG_LEVEL=DEBUG to see the logs).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';

  const ownsDynamoDb = options.dynamoDb === undefined;
  const dynamoDb = options.dynamoDb ?? (await startDynamoDbLocal());
  let documentClient: DynamoDBDocumentClient | undefined;
  try {
    const tableNames = await createTables(
      dynamoDb.client,
      [...TABLES, ...connectorTables(options.connector)],
      options.tablePrefix ?? `run${randomUUID().slice(0, 8)}-`,
      // DynamoDB Local's TTL job deletes by wall time: rows stamped in virtual time would go at random.
      { timeToLive: !(options.clock instanceof VirtualClock) },
    );
    documentClient = createDocumentClient({
      endpoint: dynamoDb.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    return assemble(options, dynamoDb, ownsDynamoDb, documentClient, tableNames);
  } catch (error) {
    documentClient?.destroy();
    if (ownsDynamoDb) await dynamoDb.stop();
    throw error;
  }
}

function assemble(
  options: LocalRuntimeOptions,
  dynamoDb: DynamoDbLocal,
  ownsDynamoDb: boolean,
  documentClient: DynamoDBDocumentClient,
  tableNames: TableNames,
): LocalRuntime {
  const timeScale = options.timeScale ?? 1;
  const clock: TimerClock =
    options.clock ?? (timeScale === 1 ? systemClock : createScaledClock({ scale: timeScale }));
  const virtual = clock instanceof VirtualClock;
  if (virtual && timeScale !== 1) throw new RangeError('a virtual clock takes no timeScale');
  // Periods and delays in the clock's ms: wall ms times the scale on a scaled clock (its timers
  // divide again), simulated ms as they are on a virtual one.
  const clockMs = (wallMs: number): number => (virtual ? wallMs : wallMs * timeScale);
  // Requests out to DynamoDB Local: work in flight for the virtual clock.
  let requestsInFlight = 0;
  const countRequests = (stack: DynamoDBDocumentClient['middlewareStack']) =>
    stack.add(
      (next) => async (args) => {
        requestsInFlight += 1;
        try {
          return await next(args);
        } finally {
          requestsInFlight -= 1;
        }
      },
      { step: 'initialize', name: 'flowtuneLocalInFlight' },
    );
  if (virtual) countRequests(documentClient.middlewareStack);
  const runnerDynamoDb = virtual
    ? new DynamoDBClient({
        endpoint: dynamoDb.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      })
    : dynamoDb.client;
  if (virtual)
    countRequests(runnerDynamoDb.middlewareStack as unknown as DynamoDBDocumentClient['middlewareStack']);
  const tables: LocalRuntimeTables = {
    featuresTable: requireTable(tableNames, FEATURES_TABLE.id),
    instancesTable: requireTable(tableNames, INSTANCES_TABLE.id),
    auditTable: requireTable(tableNames, AUDIT_TABLE.id),
  };
  const redeliveryDelayMs = clockMs(options.queueRedeliveryDelayMs ?? 100);
  const queues: Record<QueueName, LocalQueue> = {
    intake: new LocalQueue(QUEUES.intake, {
      redeliveryDelayMs,
      maxConcurrency: options.intakeConcurrency ?? 2,
      deduplicationWindowMs: clockMs(300_000),
      clock,
    }),
    dispatch: new LocalQueue(QUEUES.dispatch, {
      redeliveryDelayMs,
      deduplicationWindowMs: clockMs(300_000),
      clock,
    }),
  };
  const router = new LocalEventRouter({
    queues,
    clock,
    retryDelayMs: clockMs(10),
    rules: [...Object.values(RULES), ...connectorRules(options.connector)],
  });
  const tokens = new TaskTokenRegistry({ now: () => clock.now() });

  const features = new DynamoDbFeatureStore({ client: documentClient, ...tables, clock });
  const instances = new DynamoDbInstanceStore({
    client: documentClient,
    instancesTable: tables.instancesTable,
  });
  const audit = new DynamoDbAuditLog({ client: documentClient, auditTable: tables.auditTable });
  const events = new LocalEventPublisher(router);
  const dispatch = new LocalDispatchTrigger(queues.dispatch);
  const tuningStore = new DynamoDbTuningStore({
    client: documentClient,
    featuresTable: tables.featuresTable,
  });
  const sdkClients = { runnerDynamoDb };
  const pseudonymise = createPseudonymiser(options.pseudonymKey ?? LOCAL_PSEUDONYM_KEY);
  const personalData = new PersonalData(options.personalData ?? DEFAULT_PERSONAL_DATA);

  const functionStats = Object.fromEntries(
    (Object.keys(FUNCTIONS) as FunctionName[]).map((name) => [name, { invocations: 0, errors: 0 }]),
  ) as Record<FunctionName, FunctionStats>;
  let invocationsInFlight = 0;
  /** One Lambda invocation: a request id, counted, errors counted and rethrown. */
  const invoke = async <T>(
    name: FunctionName,
    run: (context: InvocationContext) => Promise<T>,
  ): Promise<T> => {
    const stats = functionStats[name];
    stats.invocations += 1;
    invocationsInFlight += 1;
    try {
      return await run({ awsRequestId: randomUUID(), functionName: `flowtune-local-${FUNCTIONS[name].id}` });
    } catch (error) {
      stats.errors += 1;
      throw error;
    } finally {
      invocationsInFlight -= 1;
    }
  };

  // The state machine's Lambda tasks (every function with an ASL placeholder). The runner needs
  // them and some need the runner (ExecutionControl), so they resolve their handler at call time;
  // their presence is checked below, before anything runs.
  const eventHandlers: Partial<Record<FunctionName, EventHandler>> = {};
  const queueHandlers: Partial<Record<FunctionName, QueueHandler>> = {};
  const functions: Record<string, LocalFunction> = {};
  const aslFunctions = (Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][]).flatMap(
    ([name, definition]) =>
      definition.placeholder === undefined ? [] : [{ name, definition, placeholder: definition.placeholder }],
  );
  for (const { name, definition } of aslFunctions) {
    functions[localFunctionArn(definition)] = (payload) =>
      invoke(name, (context) => requireHandler(eventHandlers, name, 'the state machine')(payload, context));
  }
  const runner = new AslRunner({
    definition: localProcessDefinition(tableNames),
    stateMachineName: 'ProcessInstance',
    tokens,
    now: () => clock.now(),
    retryIntervalMs: options.retryIntervalMs ?? (virtual ? 10 : 100),
    ...(virtual ? { clock } : { timeScale }),
    ...(options.executionHistoryLimit === undefined ? {} : { historyLimit: options.executionHistoryLimit }),
    bindings: {
      functions,
      dynamodb: sdkClients.runnerDynamoDb,
      events: router,
      queues: { [queues.dispatch.url]: queues.dispatch },
    },
  });
  const executions = new LocalExecutionControl(runner);
  const rawPorts = { features, instances, audit, events, executions, dispatch };
  const handlerPorts: HandlerPorts = options.decoratePorts ? options.decoratePorts(rawPorts) : rawPorts;
  const decorate: HandlerDecorator = options.decorateHandlers ?? ((_name, handler) => handler);

  {
    const { features, instances, audit, events, executions, dispatch } = handlerPorts;
    const built: Partial<Record<FunctionName, EventHandler>> = {
      validate: createValidateHandler({ pseudonymise, clock }),
      score: createScoreHandler({ features, instances, audit, clock }),
      park: createParkHandler({ features, instances, audit, executions, clock }),
      planWait: createPlanWaitHandler({ clock }),
      recordOutcome: createRecordOutcomeHandler({ features, instances, audit, dispatch, clock }),
      completion: createCompletionHandler({
        instances,
        audit,
        events,
        executions,
        pseudonymise,
        personalData,
        clock,
      }),
      agentStatus: createAgentStatusHandler({
        features,
        audit,
        events,
        dispatch,
        pseudonymise,
        personalData,
        instances,
        executions,
        clock,
      }),
    };
    for (const [name, handler] of Object.entries(built) as [FunctionName, EventHandler][]) {
      eventHandlers[name] = decorate(name, handler);
    }
    const ingress = createIngressHandler({
      forwarder: new LocalEventForwarder(router),
      pseudonymise,
      personalData,
    });
    eventHandlers.ingress = decorate('ingress', ingress);
    queueHandlers.intake = decorate(
      'intake',
      createIntakeHandler({ executions, audit, events, pseudonymise, personalData, clock }),
    );
    queueHandlers.dispatcher = decorate(
      'dispatcher',
      createDispatcherHandler({
        features,
        instances,
        audit,
        executions,
        events,
        clock,
        experiments: tuningStore,
        queues: new DynamoDbAllocationStore({ client: documentClient, featuresTable: tables.featuresTable }),
        // In simulated time the park's few wall seconds become minutes: judge "stuck" in wall time.
        stuckAssignmentMs: virtual
          ? STUCK_ASSIGNMENT_MS
          : Math.max(STUCK_ASSIGNMENT_MS, STUCK_ASSIGNMENT_WALL_MS * timeScale),
        ...(options.onRound === undefined ? {} : { onRound: options.onRound }),
      }),
    );
  }

  for (const { name, placeholder } of aslFunctions) {
    requireHandler(eventHandlers, name, `the state machine, through \${${placeholder}}`);
  }
  // Producers put their events on the inbound bus; its one rule invokes the ingress.
  const ingressHandler = requireHandler(
    eventHandlers,
    'ingress',
    `rule ${INBOUND_RULES.inboundToIngress.id}`,
  );
  const inboundBus = new LocalInboundBus(
    router,
    (event) => invoke('ingress', (context) => ingressHandler(event, context)) as Promise<IngressResponse>,
    () => clock.now(),
  );
  // The rules' function targets.
  for (const rule of Object.values(RULES)) {
    if (rule.target.kind !== 'function') continue;
    const name = rule.target.fn;
    const handler = requireHandler(eventHandlers, name, `rule ${rule.id}`);
    router.registerFunction(name, (event) => invoke(name, (context) => handler(event, context)));
  }
  // The queues' consumers (event source mappings).
  for (const [queueName, definition] of Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]) {
    const handler = requireHandler(queueHandlers, definition.consumer, `queue ${definition.id}`);
    const queue = queues[queueName];
    queue.consume((batch) =>
      invoke(definition.consumer, (context) => handler(toSqsEvent(queue, batch), context)),
    );
  }

  const tickMs =
    options.dispatchTickMs === undefined
      ? DISPATCH_TICK_MINUTES * 60_000
      : options.dispatchTickMs === false
        ? false
        : clockMs(options.dispatchTickMs);
  const ticker =
    tickMs === false
      ? undefined
      : every(clock, tickMs, () => dispatch.tick('periodic', clock.now()).catch(() => {}));
  const unregisterProbes: (() => void)[] = [];
  /** A schedule's period in clock ms: given (wall ms, or simulated on a virtual clock), or its rate. */
  const scheduleMs = (given: number | false | undefined, rateMinutes: number): number | false => {
    if (given !== undefined) return given === false ? false : clockMs(given);
    // A caller that drives the rounds itself wants no loop changing the policy under it.
    if (options.dispatchTickMs === false) return false;
    return virtual ? rateMinutes * 60_000 : clockMs(scheduledJobTickMs(rateMinutes, timeScale));
  };
  // The one way the active policy changes, on the undecorated ports (as the tuning loop runs).
  const policies = new PolicyStore({ versions: tuningStore, features, audit, events, clock });
  const tuning = startLocalTuning({
    router,
    store: tuningStore,
    policies,
    features,
    instances,
    tokens,
    clock,
    timeScale,
    runnerOnClock: virtual,
    retryIntervalMs: options.retryIntervalMs ?? (virtual ? 10 : 100),
    tickMs: scheduleMs(options.tuningTickMs, TUNING_SCHEDULE.rateMinutes),
    ...(options.executionHistoryLimit === undefined
      ? {}
      : { executionHistoryLimit: options.executionHistoryLimit }),
  });

  const allocation = startLocalAllocation({
    documentClient,
    featuresTable: tables.featuresTable,
    features,
    tuning: tuningStore,
    policies,
    audit,
    events,
    clock,
    tickMs: scheduleMs(options.allocationTickMs, ALLOCATION_SCHEDULE.rateMinutes),
  });
  if (clock instanceof VirtualClock) {
    unregisterProbes.push(
      clock.addProbe(
        () =>
          invocationsInFlight > 0 ||
          requestsInFlight > 0 ||
          router.delivering ||
          tuning.delivering ||
          Object.values(queues).some((queue) => queue.busy),
      ),
    );
  }
  const connector =
    options.connector === undefined
      ? undefined
      : startLocalConnector({ router, options: options.connector, tableNames, client: dynamoDb.client });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      ticker?.cancel();
      try {
        await allocation.stop();
        await tuning.stop();
        router.stop();
        for (const queue of Object.values(queues)) queue.stop();
        await runner.stopAll();
      } finally {
        for (const unregister of unregisterProbes) unregister();
        if (runnerDynamoDb !== dynamoDb.client) runnerDynamoDb.destroy();
        documentClient.destroy();
        if (ownsDynamoDb) await dynamoDb.stop();
      }
    })();
    return stopped;
  };

  const emittedEvents = (detailType?: OutboundDetailType): LocalEvent[] =>
    router.events
      .map((recorded) => recorded.event)
      .filter((event) => event.source === FLOWTUNE_SOURCE)
      .filter((event) => detailType === undefined || event['detail-type'] === detailType);

  return {
    dynamoDb,
    clock,
    timeScale,
    virtual,
    documentClient,
    runnerDynamoDb,
    tables,
    router,
    runner,
    tokens,
    queues,
    ports: rawPorts,
    handlerPorts,
    tuning,
    policies,
    ...(connector === undefined ? {} : { connector }),
    functionStats,
    putEvents: (entries) => inboundBus.putEvents(entries),
    putEvent: async (detailType, detail, source = 'local-producer') => {
      const response = await inboundBus.putEvents([
        {
          EventBusName: LOCAL_EVENT_BUS_NAME,
          Source: source,
          DetailType: detailType,
          Detail: JSON.stringify(detail),
        },
      ]);
      const entry = response.Entries?.[0];
      if (!entry?.EventId)
        throw new Error(`local bus refused the event: ${entry?.ErrorCode} ${entry?.ErrorMessage}`);
      return entry.EventId;
    },
    executions: (filter) => runner.listExecutions(filter),
    waitForExecution: (itemId, timeoutMs) => runner.waitForExecution(itemId, timeoutMs),
    emittedEvents,
    waitForEmitted: (detailType, itemId, timeoutMs) =>
      router.waitForEvent(
        (event) =>
          event.source === FLOWTUNE_SOURCE &&
          event['detail-type'] === detailType &&
          (event.detail as { id?: unknown }).id === itemId,
        timeoutMs,
      ),
    auditTrail: (itemId) => audit.listForItem(itemId),
    instance: (itemId) => instances.get(itemId),
    failures: () => [
      ...Object.values(queues).flatMap((queue) =>
        queue.deadLetters.map((dead) => ({
          where: `${queue.name} DLQ`,
          id: dead.message.messageId,
          error: dead.lastError,
        })),
      ),
      ...router.deliveryFailures.map((failure) => ({
        where: `rule ${failure.ruleId}`,
        id: failure.event.id,
        error: failure.error,
      })),
      ...tuning.deliveryFailures.map((failure) => ({
        where: `rule ${TUNING_RULES.observations.id}`,
        id: failure.event.id,
        error: failure.error,
      })),
    ],
    idle: async () => {
      for (;;) {
        await router.idle();
        await Promise.all(Object.values(queues).map((queue) => queue.idle()));
        await tuning.idle();
        await new Promise((resolve) => setImmediate(resolve));
        const quiet =
          !router.busy &&
          !tuning.busy &&
          Object.values(queues).every((queue) => queue.depth === 0) &&
          invocationsInFlight === 0;
        if (quiet) return;
      }
    },
    stop,
  };
}
