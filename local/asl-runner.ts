// aws-local-stepfunctions calls Promise.withResolvers (Node 22+): load the polyfill first.
import './polyfills';
import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { PutEventsRequestEntry, PutEventsResponse } from '@aws-sdk/client-eventbridge';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { z } from 'zod';
import { systemClock, type Timer, type TimerClock } from '../lambdas/shared/ports';
import { LOCAL_ACCOUNT, localExecutionArn, localStateMachineArn } from './local-names';
import type { SendMessageInput, SendMessageResult } from './local-queue';
import { type JsonValue, TaskTokenRegistry } from './task-tokens';

/**
 * Runs an ASL definition (JSONPath only) in-process with aws-local-stepfunctions, binding every
 * Task state by its Resource ARN, and keeps Step Functions' execution semantics around it:
 * executions by name (StartExecution idempotency and ExecutionAlreadyExists), status, history,
 * StopExecution, and task tokens for `.waitForTaskToken`.
 *
 * Bindings (each Task must have one, or the runner refuses the definition; nothing ever falls
 * through to the library's real-AWS Lambda client):
 * - `arn:aws:lambda:…:function:<name>` → `functions[arn]` (or by name); the result is the output.
 * - `arn:aws:states:::lambda:invoke[.waitForTaskToken]` → `functions[Parameters.FunctionName]`
 *   with `Parameters.Payload`; result `{ Payload, StatusCode, ExecutedVersion }`, or the token's output.
 * - `arn:aws:states:::sqs:sendMessage[.waitForTaskToken]` → `queues[Parameters.QueueUrl]`.
 * - `arn:aws:states:::dynamodb:putItem|getItem|updateItem|deleteItem` → the AWS SDK against the
 *   given DynamoDBClient (DynamoDB Local); Parameters are already DynamoDB JSON.
 * - `arn:aws:states:::aws-sdk:dynamodb:transactWriteItems` → the same client, Parameters passed
 *   as the API's request (its member names are PascalCase already). Only this AWS SDK action is
 *   bound: others would also need Step Functions' Java-SDK spellings of some returned members
 *   (`Nul` for NULL), which the runner does not reproduce.
 * - `arn:aws:states:::events:putEvents[.waitForTaskToken]` → `events.putEvents` (the local router).
 *
 * How `$$.Task.Token` reaches Parameters: each execution gets its own Context Object whose
 * `Task.Token` (and `State.EnteredTime`) is a getter. The library evaluates a state's
 * Parameters and then calls its Task override in one synchronous run, so the getter mints one
 * token per state entry (cached until the next microtask, so two references in one Parameters
 * agree) and the override opens the wait with exactly that token. A retried Task gets a fresh
 * token, as on AWS.
 *
 * Errors keep AWS's names so Retry/Catch behave as deployed: a Lambda's error name (Cause is the
 * JSON `{ errorType, errorMessage, trace }`), `DynamoDB.<Exception>` for the optimised DynamoDB
 * integration and `DynamoDb.<Name>Exception` for the AWS SDK one (the service and error names in
 * PascalCase, with the Exception suffix Step Functions adds), `SQS.<Exception>`,
 * `EventBridge.FailedEntry`, and the error / cause given to SendTaskFailure.
 */

export type LocalFunction = (payload: JsonValue) => Promise<unknown> | unknown;

export interface EventsBinding {
  putEvents(entries: PutEventsRequestEntry[]): Promise<PutEventsResponse>;
}

export interface QueueBinding {
  send(input: SendMessageInput): SendMessageResult;
}

export interface AslBindings {
  /** Lambda stand-ins by ARN (or function name), used by Lambda ARNs and `lambda:invoke`. */
  readonly functions?: Readonly<Record<string, LocalFunction>>;
  /** For `dynamodb:*` integrations; point it at DynamoDB Local. */
  readonly dynamodb?: DynamoDBClient;
  /** For `events:putEvents`. */
  readonly events?: EventsBinding;
  /** For `sqs:sendMessage`, by QueueUrl. */
  readonly queues?: Readonly<Record<string, QueueBinding>>;
}

export interface AslRunnerOptions {
  /** The ASL (text or parsed), with every `${Placeholder}` already substituted. */
  readonly definition: string | StateMachineDefinition;
  /** @default 'ProcessInstance' */
  readonly stateMachineName?: string;
  readonly bindings: AslBindings;
  /** @default a new registry */
  readonly tokens?: TaskTokenRegistry;
  /** Replaces every Retry interval (the ASL's 1 s × 2ⁿ with jitter is too slow for a demo). @default as written */
  readonly retryIntervalMs?: number;
  /** Wait-state durations by state name, in ms (taken as they are, never scaled). */
  readonly waitTimeOverridesMs?: Readonly<Record<string, number>>;
  /**
   * Simulated seconds per wall second: every TimeoutSeconds / TimeoutSecondsPath (Task and
   * top level; the top level rounded up to whole seconds, as the library requires) and Wait
   * `Seconds` is divided by it, so a 4-hour SLA wait lasts 2 minutes at 120.
   * Pair it with a `now` that runs as fast (the runtime's scaled clock). Retry intervals are
   * wall time (see retryIntervalMs). @default 1
   */
  readonly timeScale?: number;
  /** Clock for `$$.State.EnteredTime` and execution dates. @default clock.now, else Date.now */
  readonly now?: () => number;
  /**
   * The clock the runner keeps every timer on: Task timeouts (TimeoutSeconds, TimeoutSecondsPath,
   * and no timeout at all where the library would impose its 60 s), token-wait timeouts and the
   * execution's TimeoutSeconds all run on it, in its ms; Wait states are refused (none of
   * Flowtune's machines has one). Each task's own work counts as in flight on it, and so does a
   * failed task's retry back-off (retryIntervalMs of wall time, held on the clock so it costs no
   * simulated time). Not with a timeScale other than 1: the clock carries the scale.
   * @default none: the library's wall-time timers (divided by timeScale)
   */
  readonly clock?: TimerClock;
  /**
   * Events kept per execution history (the newest); a long soak keeps memory flat with a few.
   * @default all of them
   */
  readonly historyLimit?: number;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

type EventLogs = ReturnType<StateMachine['run']>['eventLogs'];
/** One entry of an execution's history (aws-local-stepfunctions' event log). */
export type ExecutionHistoryEvent = EventLogs extends AsyncGenerator<infer Event> ? Event : never;

export interface ExecutionDescription {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly input: JsonValue;
  readonly output?: JsonValue;
  readonly error?: string;
  readonly cause?: string;
  readonly startDate: Date;
  readonly stopDate?: Date;
}

/** What a Task state is bound to; `taskBindings` lists them for inspection. */
export type TaskBindingKind =
  | 'lambda'
  | 'lambda:invoke'
  | 'lambda:invoke.waitForTaskToken'
  | 'sqs:sendMessage'
  | 'sqs:sendMessage.waitForTaskToken'
  | 'dynamodb'
  | 'aws-sdk:dynamodb'
  | 'events:putEvents'
  | 'events:putEvents.waitForTaskToken';

/** Named like the Step Functions API error, so callers treat local and AWS alike. */
export class ExecutionAlreadyExistsError extends Error {
  constructor(executionArn: string) {
    super(`Execution Already Exists: '${executionArn}'`);
    this.name = 'ExecutionAlreadyExists';
  }
}
export class ExecutionDoesNotExistError extends Error {
  constructor(nameOrArn: string) {
    super(`Execution Does Not Exist: '${nameOrArn}'`);
    this.name = 'ExecutionDoesNotExist';
  }
}
export class InvalidNameError extends Error {
  constructor(name: string) {
    super(
      `Invalid Name: '${name}' (1-80 characters, no whitespace, brackets, wildcards or special characters)`,
    );
    this.name = 'InvalidName';
  }
}

/** A definition this runner cannot execute faithfully; the message names the state and the fix. */
export class UnsupportedDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedDefinitionError';
  }
}

/** An error a Task raises into Retry / Catch with the AWS error name and cause. */
class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

// setTimeout clamps delays above 2^31-1 ms to 1 ms: a 30-day TimeoutSeconds would fire at once.
const MAX_TIMER_SECONDS = Math.floor(2_147_483_647 / 1000);
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;
const MAX_INPUT_CHARS = 256 * 1024;
const SERVICE_PREFIX = 'arn:aws:states:::';
const LAMBDA_ARN = /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::[A-Za-z0-9$_-]+)?$/;

/**
 * aws-local-stepfunctions resolves TimeoutSecondsPath against the input *after* Parameters,
 * whereas Step Functions resolves it against the state input. The runner copies the value into
 * Parameters under this key, points TimeoutSecondsPath at it, and strips it before any binding
 * sees the parameters, so the library's own timeout (and its States.Timeout) applies as on AWS.
 */
const LOCAL_TIMEOUT_KEY = 'localRunnerTimeoutSeconds';

type StateNode = Record<string, unknown>;
/** `timeoutMs`: the runner's own (scaled) timeout for this state entry, when it keeps one. */
type TaskHandler = (input: JsonValue, timeoutMs: number | undefined) => Promise<JsonValue>;
type TaskOverrides = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

interface TaskState {
  readonly name: string;
  readonly resource: string;
  readonly kind: TaskBindingKind;
}

/** Per-execution Context Object pieces: the token and entered time minted per state entry. */
interface ExecutionScope {
  readonly executionArn: string;
  takeToken(): string;
  /** Aborted when the execution ends while a task is still pending (stop, execution timeout). */
  readonly ended: AbortSignal;
}

interface ExecutionRecord {
  description: ExecutionDescription;
  /** Set when the runner-kept execution timeout ended it (clock mode). */
  timedOut?: boolean;
  readonly history: ExecutionHistoryEvent[];
  readonly done: Promise<void>;
  readonly abort: () => void;
  /** Settles the tasks still pending once the execution has ended, so nothing of it lingers. */
  readonly dropPendingTasks: () => void;
  stopRequested?: { readonly error: string; readonly cause: string };
}

const toJson = (value: unknown): JsonValue => {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Lambda reports a function error as its type, with the JSON error object as the cause. */
function lambdaError(error: unknown): TaskError {
  const errorType = error instanceof Error ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error ? (error.stack ?? '').split('\n') : [];
  return new TaskError(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}

/**
 * Service-integration errors are `<Service>.<Exception>`; client-side ones `<Service>.SdkClientException`.
 * AWS SDK integrations (`sdkIntegration`) add the Exception suffix a service's error name lacks
 * (DynamoDB's `InternalServerError` is caught as `DynamoDb.InternalServerErrorException`).
 */
function serviceError(service: string, error: unknown, sdkIntegration = false): TaskError {
  if (error instanceof TaskError) return error;
  if (
    error instanceof DynamoDBServiceException ||
    (isRecord(error) && '$metadata' in error && error instanceof Error)
  ) {
    const status = isRecord(error.$metadata) ? String(error.$metadata.httpStatusCode ?? '') : '';
    const name = sdkIntegration && !error.name.endsWith('Exception') ? `${error.name}Exception` : error.name;
    return new TaskError(
      `${service}.${name}`,
      `${error.message} (Service: ${service}, Status Code: ${status}, Error Code: ${error.name})`,
    );
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TaskError(`${service}.SdkClientException`, message);
}

function collectStates(states: unknown, into: Map<string, StateNode>): void {
  if (!isRecord(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isRecord(state)) continue;
    if (into.has(name) && into.get(name) !== state) {
      throw new UnsupportedDefinitionError(
        `State name "${name}" is used twice (nested machines): overrides are keyed by state name. Rename one.`,
      );
    }
    into.set(name, state);
    for (const branch of Array.isArray(state.Branches) ? state.Branches : []) {
      if (isRecord(branch)) collectStates(branch.States, into);
    }
    for (const processor of [state.ItemProcessor, state.Iterator]) {
      if (isRecord(processor)) collectStates(processor.States, into);
    }
  }
}

function bindingKind(state: string, resource: string): TaskBindingKind {
  if (LAMBDA_ARN.test(resource)) return 'lambda';
  const service = resource.startsWith(SERVICE_PREFIX) ? resource.slice(SERVICE_PREFIX.length) : undefined;
  switch (service) {
    case 'lambda:invoke':
    case 'lambda:invoke.waitForTaskToken':
    case 'sqs:sendMessage':
    case 'sqs:sendMessage.waitForTaskToken':
    case 'events:putEvents':
    case 'events:putEvents.waitForTaskToken':
      return service;
    case 'dynamodb:putItem':
    case 'dynamodb:getItem':
    case 'dynamodb:updateItem':
    case 'dynamodb:deleteItem':
      return 'dynamodb';
    case 'aws-sdk:dynamodb:transactWriteItems':
      return 'aws-sdk:dynamodb';
    default:
      throw new UnsupportedDefinitionError(
        `Task "${state}" has Resource "${resource}", which the local runner cannot bind. Supported: Lambda function ARNs, ` +
          'lambda:invoke[.waitForTaskToken], sqs:sendMessage[.waitForTaskToken], dynamodb:putItem|getItem|updateItem|deleteItem, ' +
          'aws-sdk:dynamodb:transactWriteItems, events:putEvents[.waitForTaskToken].',
      );
  }
}

/** Rejects what aws-local-stepfunctions would silently get wrong, and clamps overflowing timeouts. */
function prepareDefinition(
  definition: string | StateMachineDefinition,
  timeScale: number,
  clockMode: boolean,
): StateMachineDefinition {
  const text = typeof definition === 'string' ? definition : JSON.stringify(definition);
  const leftover = text.match(/\$\{[A-Za-z0-9]+\}/g);
  if (leftover) {
    throw new UnsupportedDefinitionError(
      `Placeholders left in the definition: ${[...new Set(leftover)].join(', ')}. Use substitute() from lib/definitions first.`,
    );
  }
  const parsed = JSON.parse(text, (key, value: unknown) => {
    if (key === 'QueryLanguage' && value === 'JSONata') {
      throw new UnsupportedDefinitionError(
        'JSONata is ignored by aws-local-stepfunctions: keep the ASL on JSONPath.',
      );
    }
    if (key === 'Assign')
      throw new UnsupportedDefinitionError(
        '"Assign" fails in aws-local-stepfunctions: pass data with ResultPath instead.',
      );
    if (key === 'TimeoutSeconds' && typeof value === 'number' && value > MAX_TIMER_SECONDS)
      return MAX_TIMER_SECONDS;
    return value;
  }) as StateMachineDefinition;
  if (clockMode) {
    // The runner keeps the execution timeout on its clock (see AslRunner.executionTimeoutMs).
    delete parsed.TimeoutSeconds;
  } else if (timeScale !== 1 && typeof parsed.TimeoutSeconds === 'number') {
    // The library's validator wants whole seconds here: an execution guard, so rounding up is fine.
    parsed.TimeoutSeconds = Math.max(1, Math.ceil(parsed.TimeoutSeconds / timeScale));
  }
  return parsed;
}

/** `States.JsonToString(<a JSONPath>)`, the one form the runner takes over. */
const JSON_TO_STRING = /^States\.JsonToString\((\$[^()]*)\)$/;

/**
 * aws-local-stepfunctions 3.0.0 strips every backslash from an intrinsic function's string
 * result, so `States.JsonToString` of anything holding a quote, a newline or a backslash is not
 * JSON (an explanation quoting a category, an error message). Step Functions returns JSON. In a
 * Task's Parameters the runner therefore lets the library resolve the path only and stringifies
 * the value itself before the Task's binding sees it (JSON.stringify is what JsonToString does):
 * returns the key paths (inside Parameters) to stringify. Other forms stay with the library.
 */
function takeOverJsonToString(state: StateNode): string[][] {
  const paths: string[][] = [];
  const visit = (node: unknown, at: string[]): void => {
    if (Array.isArray(node)) {
      for (const [index, entry] of node.entries()) visit(entry, [...at, String(index)]);
      return;
    }
    if (!isRecord(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const match = key.endsWith('.$') && typeof value === 'string' ? JSON_TO_STRING.exec(value) : null;
      if (match?.[1] !== undefined) {
        (node as Record<string, unknown>)[key] = match[1];
        paths.push([...at, key.slice(0, -2)]);
      } else visit(value, [...at, key]);
    }
  };
  if (state.Type === 'Task' && isRecord(state.Parameters)) visit(state.Parameters, []);
  return paths;
}

/** The Task's input with each taken-over value JSON-stringified, as Step Functions would have. */
function withJsonStrings(input: JsonValue, paths: readonly (readonly string[])[]): JsonValue {
  if (paths.length === 0) return input;
  const copy = structuredClone(input);
  for (const path of paths) {
    let node: unknown = copy;
    for (const key of path.slice(0, -1))
      node = isRecord(node) || Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined;
    const last = path.at(-1);
    if (last === undefined || !(isRecord(node) || Array.isArray(node))) continue;
    const holder = node as Record<string, unknown>;
    if (last in holder) holder[last] = JSON.stringify(holder[last]);
  }
  return copy;
}

/** The error a timed-out Task raises, named and worded as aws-local-stepfunctions' own. */
class ScaledTimeoutError extends TaskError {
  constructor() {
    super('States.Timeout', 'States.Timeout');
  }
}

/**
 * Under a time scale the runner keeps Task timeouts itself: the library wants a whole number of
 * seconds (≥ 1) from TimeoutSecondsPath, too coarse once divided. The state keeps a library
 * timeout far beyond the scaled one; the scaled one raises States.Timeout into Retry / Catch.
 * Returns the state's timeout in (unscaled) seconds, a TimeoutSecondsPath marker, or undefined.
 */
function takeOverTimeout(name: string, state: StateNode): number | 'path' | undefined {
  const errors = [state.Retry, state.Catch]
    .flatMap((rules) => (Array.isArray(rules) ? rules : []))
    .flatMap((rule) => (isRecord(rule) && Array.isArray(rule.ErrorEquals) ? rule.ErrorEquals : []));
  const timeout = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined;
  const path = typeof state.TimeoutSecondsPath === 'string' ? state.TimeoutSecondsPath : undefined;
  if (timeout === undefined && path === undefined) return undefined;
  if (errors.includes('States.TaskFailed')) {
    // The library exempts only its own timeout error from States.TaskFailed, and does not export it.
    throw new UnsupportedDefinitionError(
      `Task "${name}" has a timeout and a States.TaskFailed rule: under a time scale the runner cannot keep ` +
        'States.TaskFailed from matching its timeout. Name the errors, or run without timeScale.',
    );
  }
  state.TimeoutSeconds = MAX_TIMER_SECONDS;
  delete state.TimeoutSecondsPath;
  return timeout ?? 'path';
}

/** Scales a Wait state's Seconds; the forms that need a clock or the input cannot be scaled here. */
function scaledWaitMs(name: string, state: StateNode, timeScale: number): number | undefined {
  for (const field of ['SecondsPath', 'Timestamp', 'TimestampPath']) {
    if (field in state) {
      throw new UnsupportedDefinitionError(
        `Wait "${name}" uses ${field}, which the local runner cannot scale: use Seconds, or run without timeScale.`,
      );
    }
  }
  return typeof state.Seconds === 'number' ? (state.Seconds * 1000) / timeScale : undefined;
}

function moveTimeoutPathIntoParameters(name: string, state: StateNode): void {
  const path = state.TimeoutSecondsPath;
  if (typeof path !== 'string' || !('Parameters' in state)) return;
  if (!isRecord(state.Parameters)) {
    throw new UnsupportedDefinitionError(
      `Task "${name}": TimeoutSecondsPath with non-object Parameters is not supported locally.`,
    );
  }
  state.Parameters = { ...state.Parameters, [`${LOCAL_TIMEOUT_KEY}.$`]: path };
  state.TimeoutSecondsPath = `$.${LOCAL_TIMEOUT_KEY}`;
}

/**
 * A TimeoutSecondsPath value beyond Node's timer limit (2³¹−1 ms, about 24.8 days) would fire at
 * once, as a literal one would without the clamp in prepareDefinition: clamp it the same way, in
 * the carrier the library reads after this call. (Step Functions itself accepts up to 99,999,999 s;
 * the planner never asks for more.)
 */
function clampCarriedTimeout(input: JsonValue): void {
  if (!isRecord(input)) return;
  const carried = input[LOCAL_TIMEOUT_KEY];
  if (typeof carried === 'number' && carried > MAX_TIMER_SECONDS) {
    (input as Record<string, JsonValue>)[LOCAL_TIMEOUT_KEY] = MAX_TIMER_SECONDS;
  }
}

/** The parameters as the state defined them, without the runner's timeout carrier. */
function withoutLocalKeys(input: JsonValue): JsonValue {
  if (!isRecord(input) || !(LOCAL_TIMEOUT_KEY in input)) return input;
  const { [LOCAL_TIMEOUT_KEY]: _timeout, ...rest } = input;
  return rest as JsonValue;
}

const DynamoDbParameters = z.looseObject({ TableName: z.string().min(1) });
/** One TransactItems entry: exactly one action, each naming its table (DynamoDB checks the rest). */
const TransactWriteItem = z.union([
  z.strictObject({ Put: z.looseObject({ TableName: z.string().min(1) }) }),
  z.strictObject({ Update: z.looseObject({ TableName: z.string().min(1) }) }),
  z.strictObject({ Delete: z.looseObject({ TableName: z.string().min(1) }) }),
  z.strictObject({ ConditionCheck: z.looseObject({ TableName: z.string().min(1) }) }),
]);
const TransactWriteItemsParameters = z.looseObject({
  TransactItems: z.array(TransactWriteItem).min(1).max(100),
});
const LambdaInvokeParameters = z.looseObject({
  FunctionName: z.string().min(1),
  Payload: z.unknown().optional(),
});
const SqsParameters = z.looseObject({
  QueueUrl: z.string().min(1),
  MessageBody: z.unknown(),
  MessageGroupId: z.string().optional(),
  MessageDeduplicationId: z.string().optional(),
});
const PutEventsParameters = z.looseObject({
  Entries: z
    .array(
      z.looseObject({
        Detail: z.unknown().optional(),
        DetailType: z.string().optional(),
        Source: z.string().optional(),
        EventBusName: z.string().optional(),
        Resources: z.array(z.string()).optional(),
      }),
    )
    .min(1),
});

/**
 * Settles a task still pending after its execution ended (StopExecution, execution timeout): the
 * library would otherwise keep awaiting it, and keep its timers (and the process) alive. Neither
 * retried nor caught, so nothing of the ended execution runs on.
 */
class ExecutionEndedError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor() {
    super('the execution ended while this task was pending');
    this.name = 'ExecutionEnded';
  }
}

function untilEnded(task: Promise<JsonValue>, ended: AbortSignal): Promise<JsonValue> {
  if (ended.aborted) return Promise.reject(new ExecutionEndedError());
  return new Promise<JsonValue>((resolve, reject) => {
    const onEnded = () => reject(new ExecutionEndedError());
    ended.addEventListener('abort', onEnded, { once: true });
    task.then(
      (output) => {
        ended.removeEventListener('abort', onEnded);
        resolve(output);
      },
      (error: unknown) => {
        ended.removeEventListener('abort', onEnded);
        reject(error);
      },
    );
  });
}

/** A pause in wall time (the library's own retry sleep is one). */
function wallPause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Races a task against the runner's timeout (none when undefined). */
function withTimeout(
  task: Promise<JsonValue>,
  timeoutMs: number | undefined,
  timers: TimerClock,
): Promise<JsonValue> {
  if (timeoutMs === undefined) return task;
  let timer: Timer | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = timers.setTimer(timeoutMs, () => reject(new ScaledTimeoutError()));
  });
  return Promise.race([task, timedOut]).finally(() => timer?.cancel());
}

function parseParameters<T>(schema: z.ZodType<T>, state: string, input: JsonValue): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new TaskError(
    'States.Runtime',
    `Task "${state}": Parameters.${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
  );
}

export class AslRunner {
  readonly stateMachineArn: string;
  readonly tokens: TaskTokenRegistry;
  /** Each Task state's binding, by state name. */
  readonly taskBindings: Readonly<Record<string, TaskBindingKind>>;

  private readonly machine: StateMachine;
  private readonly tasks: readonly TaskState[];
  private readonly retryableStates: readonly string[];
  private readonly bindings: AslBindings;
  private readonly options: AslRunnerOptions;
  private readonly now: () => number;
  private readonly timeScale: number;
  /** Where the runner's own timers run: the given clock, or wall time. */
  private readonly timers: TimerClock;
  private readonly clockMode: boolean;
  /** The definition's execution TimeoutSeconds in clock ms (clock mode only). */
  private readonly executionTimeoutMs: number | undefined;
  /** Tasks whose timeout the runner keeps (time scale): seconds, or 'path' for the carried value. */
  private readonly scaledTimeouts = new Map<string, number | 'path'>();
  private readonly scaledWaitsMs: Record<string, number> = {};
  /** Task name → key paths in its Parameters whose JsonToString the runner does (takeOverJsonToString). */
  private readonly jsonStringPaths = new Map<string, string[][]>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly closedListeners = new Set<(execution: ExecutionDescription) => void>();

  constructor(options: AslRunnerOptions) {
    this.options = options;
    this.bindings = options.bindings;
    this.clockMode = options.clock !== undefined;
    this.timers = options.clock ?? systemClock;
    const clock = options.clock;
    this.now = options.now ?? (clock ? () => clock.now() : Date.now);
    this.tokens = options.tokens ?? new TaskTokenRegistry({ now: this.now });
    this.stateMachineArn = localStateMachineArn(options.stateMachineName ?? 'ProcessInstance');

    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0 && Number.isFinite(this.timeScale))) {
      throw new RangeError(`timeScale must be a positive number, got ${this.timeScale}`);
    }
    if (this.clockMode && this.timeScale !== 1) {
      throw new RangeError('give the runner a clock or a timeScale, not both: the clock carries the scale');
    }
    const definition = prepareDefinition(options.definition, this.timeScale, this.clockMode);
    const topTimeout = (
      typeof options.definition === 'string' ? JSON.parse(options.definition) : options.definition
    ).TimeoutSeconds as unknown;
    this.executionTimeoutMs =
      this.clockMode && typeof topTimeout === 'number'
        ? Math.min(topTimeout, MAX_TIMER_SECONDS) * 1000
        : undefined;
    const states = new Map<string, StateNode>();
    collectStates(definition.States, states);
    this.tasks = [...states]
      .filter(([, state]) => state.Type === 'Task')
      .map(([name, state]) => {
        const resource = typeof state.Resource === 'string' ? state.Resource : '';
        return { name, resource, kind: bindingKind(name, resource) };
      });
    this.retryableStates = [...states]
      .filter(([, state]) => Array.isArray(state.Retry))
      .map(([name]) => name);
    for (const [name, state] of states) if (state.Type === 'Task') moveTimeoutPathIntoParameters(name, state);
    for (const [name, state] of states) {
      const paths = takeOverJsonToString(state);
      if (paths.length > 0) this.jsonStringPaths.set(name, paths);
    }
    if (this.clockMode) {
      for (const [name, state] of states) {
        if (state.Type === 'Wait') {
          throw new UnsupportedDefinitionError(
            `Wait "${name}": the runner on a clock does not run Wait states (the library would wait in wall time). ` +
              'Use a Task with TimeoutSeconds(Path), or run without a clock.',
          );
        }
        if (state.Type !== 'Task') continue;
        const timeout = takeOverTimeout(name, state);
        if (timeout !== undefined) this.scaledTimeouts.set(name, timeout);
        // No timeout: none on AWS either, where the library would impose 60 s of wall time.
        else state.TimeoutSeconds = MAX_TIMER_SECONDS;
      }
    } else if (this.timeScale !== 1) {
      for (const [name, state] of states) {
        const timeout = state.Type === 'Task' ? takeOverTimeout(name, state) : undefined;
        if (timeout !== undefined) this.scaledTimeouts.set(name, timeout);
        const waitMs = state.Type === 'Wait' ? scaledWaitMs(name, state, this.timeScale) : undefined;
        if (waitMs !== undefined) this.scaledWaitsMs[name] = waitMs;
      }
    }
    this.taskBindings = Object.fromEntries(this.tasks.map((task) => [task.name, task.kind]));
    for (const task of this.tasks) this.checkBindingAvailable(task, states.get(task.name));
    this.machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: true } });
  }

  /** Called with the final description whenever an execution stops, for any reason. */
  onExecutionClosed(listener: (execution: ExecutionDescription) => void): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  /**
   * StartExecution: the same name with the same input while RUNNING returns the original
   * execution (idempotent); any other reuse of a name throws ExecutionAlreadyExists.
   *
   * @example
   * const { executionArn } = runner.startExecution({ name: 'TCK-10482', input });
   * const done = await runner.waitForExecution('TCK-10482');
   */
  startExecution(request: { readonly name?: string; readonly input: unknown }): {
    executionArn: string;
    startDate: Date;
  } {
    const name = request.name ?? randomUUID();
    if (!EXECUTION_NAME.test(name)) throw new InvalidNameError(name);
    const inputText = JSON.stringify(request.input ?? {});
    if (inputText.length > MAX_INPUT_CHARS) {
      throw Object.assign(new Error(`Input exceeds ${MAX_INPUT_CHARS} characters`), {
        name: 'InvalidExecutionInput',
      });
    }
    const input = JSON.parse(inputText) as JsonValue;
    const existing = this.executions.get(name);
    if (existing) {
      const same =
        existing.description.status === 'RUNNING' && JSON.stringify(existing.description.input) === inputText;
      if (same)
        return { executionArn: existing.description.executionArn, startDate: existing.description.startDate };
      throw new ExecutionAlreadyExistsError(existing.description.executionArn);
    }
    const executionArn = localExecutionArn(this.stateMachineArn, name);
    const record = this.run(name, executionArn, input);
    this.executions.set(name, record);
    return { executionArn, startDate: record.description.startDate };
  }

  /** Whether an execution of this name (or ARN) was ever started. */
  hasExecution(nameOrArn: string): boolean {
    return this.executions.has(this.nameOf(nameOrArn));
  }

  describeExecution(nameOrArn: string): ExecutionDescription {
    return this.find(nameOrArn).description;
  }

  listExecutions(filter: { readonly status?: ExecutionStatus } = {}): ExecutionDescription[] {
    return [...this.executions.values()]
      .map((record) => record.description)
      .filter((description) => filter.status === undefined || description.status === filter.status);
  }

  /** The execution's event log so far (entered / exited / retried / caught / failed states, with timestamps). */
  getExecutionHistory(nameOrArn: string): readonly ExecutionHistoryEvent[] {
    return this.find(nameOrArn).history;
  }

  /** Resolves with the description once the execution is no longer RUNNING. */
  async waitForExecution(nameOrArn: string, timeoutMs = 30_000): Promise<ExecutionDescription> {
    const record = this.find(nameOrArn);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `execution ${record.description.name} still ${record.description.status} after ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([record.done, timeout]);
      return record.description;
    } finally {
      clearTimeout(timer);
    }
  }

  /** StopExecution: aborts a running execution (status ABORTED) and closes its task tokens. */
  async stopExecution(
    nameOrArn: string,
    details: { readonly error?: string; readonly cause?: string } = {},
  ): Promise<void> {
    const record = this.find(nameOrArn);
    if (record.description.status !== 'RUNNING') return;
    record.stopRequested = { error: details.error ?? '', cause: details.cause ?? '' };
    record.abort();
    await record.done;
  }

  /** Aborts every running execution (the runtime's shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.executions.values()]
        .filter((record) => record.description.status === 'RUNNING')
        .map((record) => this.stopExecution(record.description.executionArn)),
    );
  }

  private nameOf(nameOrArn: string): string {
    return nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf(':') + 1) : nameOrArn;
  }

  private find(nameOrArn: string): ExecutionRecord {
    const record = this.executions.get(this.nameOf(nameOrArn));
    if (!record) throw new ExecutionDoesNotExistError(nameOrArn);
    return record;
  }

  private checkBindingAvailable(task: TaskState, state: StateNode | undefined): void {
    const missing = (what: string) =>
      new UnsupportedDefinitionError(
        `Task "${task.name}" (${task.resource}) needs ${what} in the runner's bindings.`,
      );
    const parameters = isRecord(state?.Parameters) ? state.Parameters : {};
    switch (task.kind) {
      case 'lambda':
        if (!this.lookUpFunction(task.resource)) throw missing(`a function for ${task.resource}`);
        return;
      case 'lambda:invoke':
      case 'lambda:invoke.waitForTaskToken': {
        const fn = parameters.FunctionName;
        if (typeof fn === 'string' && !this.lookUpFunction(fn)) throw missing(`a function for ${fn}`);
        return;
      }
      case 'sqs:sendMessage':
      case 'sqs:sendMessage.waitForTaskToken': {
        const url = parameters.QueueUrl;
        if (typeof url === 'string' && !this.bindings.queues?.[url]) throw missing(`a queue for ${url}`);
        return;
      }
      case 'dynamodb':
      case 'aws-sdk:dynamodb':
        if (!this.bindings.dynamodb) throw missing('a DynamoDB client');
        return;
      case 'events:putEvents':
      case 'events:putEvents.waitForTaskToken':
        if (!this.bindings.events) throw missing('an events (putEvents) binding');
        return;
    }
  }

  private lookUpFunction(arnOrName: string): LocalFunction | undefined {
    const functions = this.bindings.functions ?? {};
    const name = LAMBDA_ARN.exec(arnOrName)?.[1];
    return functions[arnOrName] ?? (name === undefined ? undefined : functions[name]);
  }

  private run(name: string, executionArn: string, input: JsonValue): ExecutionRecord {
    let pendingToken: string | undefined;
    let enteredTime: string | undefined;
    const tokens = this.tokens;
    const now = this.now;
    // Both values are minted at the first read during a state's Parameters evaluation and dropped
    // at the next microtask, i.e. once per state entry (see the module comment).
    const context = {
      Execution: {
        Id: executionArn,
        Name: name,
        RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/flowtune-local-state-machine`,
        RedriveCount: 0,
      },
      StateMachine: {
        Id: this.stateMachineArn,
        Name: this.stateMachineArn.slice(this.stateMachineArn.lastIndexOf(':') + 1),
      },
      State: {
        RetryCount: 0,
        get EnteredTime(): string {
          if (enteredTime === undefined) {
            enteredTime = new Date(now()).toISOString();
            queueMicrotask(() => {
              enteredTime = undefined;
            });
          }
          return enteredTime;
        },
      },
      Task: {
        get Token(): string {
          if (pendingToken === undefined) {
            const minted = tokens.newToken();
            pendingToken = minted;
            queueMicrotask(() => {
              if (pendingToken === minted) pendingToken = undefined;
            });
          }
          return pendingToken;
        },
      },
    };
    const ended = new AbortController();
    const scope: ExecutionScope = {
      executionArn,
      ended: ended.signal,
      takeToken: () => {
        const token = pendingToken ?? tokens.newToken();
        pendingToken = undefined;
        return token;
      },
    };

    const overrides: TaskOverrides = {};
    for (const task of this.tasks) {
      const handler = this.handlerFor(task, scope);
      // A copy: the library reads the timeout carrier from the same input after calling us.
      overrides[task.name] = (input) => {
        clampCarriedTimeout(input);
        let timeoutMs: number | undefined;
        try {
          timeoutMs = this.scaledTimeoutMs(task.name, input);
        } catch (error) {
          return Promise.reject(error);
        }
        const parameters = withJsonStrings(
          withoutLocalKeys(input),
          this.jsonStringPaths.get(task.name) ?? [],
        );
        const running = untilEnded(handler(parameters, timeoutMs), scope.ended);
        if (!this.clockMode) return running;
        // A token wait is not work in flight (its action is, see waitWhile): it waits on the clock.
        const tracked = task.kind.endsWith('.waitForTaskToken') ? running : this.timers.track(running);
        return tracked.catch((error: unknown) => {
          // The library sleeps retryIntervalMs of wall time before a retry: hold the clock meanwhile.
          if (this.retryableStates.includes(task.name)) void this.timers.track(wallPause(this.retryHoldMs()));
          throw error;
        });
      };
    }
    const retryIntervalOverrides: Record<string, number> = {};
    const retryIntervalMs = this.retryIntervalMs();
    if (retryIntervalMs !== undefined) {
      for (const state of this.retryableStates) retryIntervalOverrides[state] = retryIntervalMs;
    }

    const execution = this.machine.run(input, {
      context,
      overrides: {
        taskResourceLocalHandlers: overrides,
        retryIntervalOverrides,
        waitTimeOverrides: { ...this.scaledWaitsMs, ...this.options.waitTimeOverridesMs },
      },
    });

    // Settled once both the result and the full history are in.
    const settled = Promise.withResolvers<void>();
    const record: ExecutionRecord = {
      description: {
        executionArn,
        stateMachineArn: this.stateMachineArn,
        name,
        status: 'RUNNING',
        input,
        startDate: new Date(now()),
      },
      history: [],
      abort: execution.abort,
      dropPendingTasks: () => ended.abort(),
      done: settled.promise,
    };
    if (this.executionTimeoutMs !== undefined) {
      const timer = this.timers.setTimer(this.executionTimeoutMs, () => {
        if (record.description.status !== 'RUNNING') return;
        record.timedOut = true;
        execution.abort();
      });
      ended.signal.addEventListener('abort', () => timer.cancel(), { once: true });
    }
    const history = this.followHistory(execution.eventLogs, record, executionArn);
    const finished = execution.result.then(
      (output) => this.close(record, { status: 'SUCCEEDED', output: toJson(output) }),
      (error: unknown) => this.close(record, this.failure(record, error)),
    );
    void Promise.all([finished, history]).then(() => settled.resolve());
    return record;
  }

  /** Records the event log; a Task that times out closes the token it was waiting on. */
  private async followHistory(
    events: EventLogs,
    record: ExecutionRecord,
    executionArn: string,
  ): Promise<void> {
    const limit = this.options.historyLimit ?? Number.POSITIVE_INFINITY;
    for await (const event of events) {
      record.history.push(event);
      if (record.history.length > limit) record.history.shift();
      // A runner-kept (scaled) timeout expired its own token already.
      if (
        event.type === 'StateFailed' &&
        event.Error === 'States.Timeout' &&
        !this.scaledTimeouts.has(event.state.name)
      ) {
        const [oldest] = this.tokens.pending({ executionArn, stateName: event.state.name });
        if (oldest) this.tokens.expire(oldest.token);
      }
    }
  }

  /** Wall ms to hold the clock after a failed task: the library's retry sleep, and a little more. */
  private retryHoldMs(): number {
    return (this.retryIntervalMs() ?? 1000) + 5;
  }

  /** On a clock, a fixed interval always: the definition's FULL jitter would draw a random one. */
  private retryIntervalMs(): number | undefined {
    return this.options.retryIntervalMs ?? (this.clockMode ? 10 : undefined);
  }

  private failure(
    record: ExecutionRecord,
    error: unknown,
  ): Pick<ExecutionDescription, 'status' | 'error' | 'cause'> {
    if (error instanceof ExecutionAbortedError && record.timedOut) {
      return {
        status: 'TIMED_OUT',
        error: 'States.Timeout',
        cause: 'The execution exceeded its TimeoutSeconds.',
      };
    }
    if (error instanceof ExecutionAbortedError) {
      return {
        status: 'ABORTED',
        error: record.stopRequested?.error ?? '',
        cause: record.stopRequested?.cause ?? '',
      };
    }
    if (error instanceof ExecutionTimeoutError) {
      return {
        status: 'TIMED_OUT',
        error: 'States.Timeout',
        cause: 'The execution exceeded its TimeoutSeconds.',
      };
    }
    const cause = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error;
    return cause instanceof Error
      ? { status: 'FAILED', error: cause.name, cause: cause.message }
      : { status: 'FAILED', error: 'States.Runtime', cause: String(cause) };
  }

  private close(
    record: ExecutionRecord,
    result: Partial<ExecutionDescription> & { status: ExecutionStatus },
  ): void {
    record.description = { ...record.description, ...result, stopDate: new Date(this.now()) };
    this.tokens.closeExecution(record.description.executionArn);
    record.dropPendingTasks();
    for (const listener of this.closedListeners) listener(record.description);
  }

  /** The runner-kept timeout of this state entry in wall ms, or undefined when the library keeps it. */
  private scaledTimeoutMs(state: string, input: JsonValue): number | undefined {
    const timeout = this.scaledTimeouts.get(state);
    if (timeout === undefined) return undefined;
    if (timeout !== 'path') return (timeout * 1000) / this.timeScale;
    const carried = isRecord(input) ? input[LOCAL_TIMEOUT_KEY] : undefined;
    // Step Functions' own check on a TimeoutSecondsPath value.
    if (typeof carried !== 'number' || !Number.isInteger(carried) || carried < 1) {
      throw new TaskError(
        'States.Runtime',
        `Task "${state}": TimeoutSecondsPath must point to a positive integer, got ${JSON.stringify(carried)}`,
      );
    }
    // Under a time scale the runner's own timer has the same 2³¹−1 ms limit.
    return Math.min((carried * 1000) / this.timeScale, MAX_TIMER_SECONDS * 1000);
  }

  private handlerFor(task: TaskState, scope: ExecutionScope): TaskHandler {
    const untimed = this.untimedHandlerFor(task, scope);
    if (task.kind.endsWith('.waitForTaskToken')) return untimed;
    return (input, timeoutMs) => withTimeout(untimed(input, undefined), timeoutMs, this.timers);
  }

  private untimedHandlerFor(task: TaskState, scope: ExecutionScope): TaskHandler {
    switch (task.kind) {
      case 'lambda':
        return async (input) => {
          const fn = this.requireFunction(task.name, task.resource);
          try {
            return toJson(await fn(input));
          } catch (error) {
            throw lambdaError(error);
          }
        };
      case 'lambda:invoke':
        return async (input) => {
          const { FunctionName, Payload } = parseParameters(LambdaInvokeParameters, task.name, input);
          const fn = this.requireFunction(task.name, FunctionName);
          try {
            return {
              ExecutedVersion: '$LATEST',
              Payload: toJson(await fn(toJson(Payload ?? {}))),
              StatusCode: 200,
            };
          } catch (error) {
            throw lambdaError(error);
          }
        };
      case 'lambda:invoke.waitForTaskToken':
        return (input, timeoutMs) =>
          this.waitWhile(task, scope, timeoutMs, async () => {
            const { FunctionName, Payload } = parseParameters(LambdaInvokeParameters, task.name, input);
            const fn = this.requireFunction(task.name, FunctionName);
            try {
              await fn(toJson(Payload ?? {}));
            } catch (error) {
              throw lambdaError(error);
            }
          });
      case 'sqs:sendMessage':
        return async (input) => {
          const sent = this.sendToQueue(task.name, input);
          return {
            MessageId: sent.messageId,
            ...(sent.sequenceNumber ? { SequenceNumber: sent.sequenceNumber } : {}),
          };
        };
      case 'sqs:sendMessage.waitForTaskToken':
        return (input, timeoutMs) =>
          this.waitWhile(task, scope, timeoutMs, async () => {
            this.sendToQueue(task.name, input);
          });
      case 'dynamodb':
        return (input) => this.callDynamoDb(task, input);
      case 'aws-sdk:dynamodb':
        return (input) => this.transactWriteItems(task, input);
      case 'events:putEvents':
        return (input) => this.putEvents(task.name, input);
      case 'events:putEvents.waitForTaskToken':
        return (input, timeoutMs) =>
          this.waitWhile(task, scope, timeoutMs, async () => {
            await this.putEvents(task.name, input);
          });
    }
  }

  /**
   * Opens the wait with the token minted for this state entry, then does the task's action; the
   * task ends with the token's answer, or with the action's error if the action fails first, or
   * with States.Timeout after `timeoutMs` (the token expires first, so a late answer is refused).
   */
  private waitWhile(
    task: TaskState,
    scope: ExecutionScope,
    timeoutMs: number | undefined,
    action: () => Promise<void>,
  ): Promise<JsonValue> {
    const token = scope.takeToken();
    const answered = this.tokens.openWait({ token, executionArn: scope.executionArn, stateName: task.name });
    return new Promise<JsonValue>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : this.timers.setTimer(timeoutMs, () => {
              this.tokens.expire(token);
              reject(new ScaledTimeoutError());
            });
      const settle = () => timer?.cancel();
      scope.ended.addEventListener('abort', settle, { once: true });
      answered.then(
        (output) => {
          settle();
          resolve(output);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
      this.timers.track(action()).catch((error: unknown) => {
        settle();
        this.tokens.abandon(token, 'failed');
        reject(error);
      });
    });
  }

  private requireFunction(state: string, arnOrName: string): LocalFunction {
    const fn = this.lookUpFunction(arnOrName);
    if (!fn)
      throw new TaskError(
        'Lambda.ResourceNotFoundException',
        `Task "${state}": no local function for ${arnOrName}`,
      );
    return fn;
  }

  private sendToQueue(state: string, input: JsonValue): SendMessageResult {
    const parameters = parseParameters(SqsParameters, state, input);
    const queue = this.bindings.queues?.[parameters.QueueUrl];
    if (!queue) {
      throw new TaskError(
        'SQS.QueueDoesNotExistException',
        `The specified queue does not exist: ${parameters.QueueUrl}`,
      );
    }
    // Step Functions serialises a JSON MessageBody; a string is sent as is.
    const body =
      typeof parameters.MessageBody === 'string'
        ? parameters.MessageBody
        : JSON.stringify(parameters.MessageBody);
    try {
      return queue.send({
        body,
        ...(parameters.MessageGroupId === undefined ? {} : { groupId: parameters.MessageGroupId }),
        ...(parameters.MessageDeduplicationId === undefined
          ? {}
          : { deduplicationId: parameters.MessageDeduplicationId }),
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new TaskError('SQS.AmazonSQSException', message);
    }
  }

  private async callDynamoDb(task: TaskState, input: JsonValue): Promise<JsonValue> {
    const client = this.bindings.dynamodb;
    if (!client) throw new TaskError('DynamoDB.SdkClientException', 'no DynamoDB client bound');
    parseParameters(DynamoDbParameters, task.name, input);
    const action = task.resource.slice(`${SERVICE_PREFIX}dynamodb:`.length);
    try {
      let output: object;
      // Parameters are the API's own request shape (DynamoDB JSON), checked by the service itself.
      if (action === 'putItem')
        output = await client.send(new PutItemCommand(input as unknown as PutItemCommandInput));
      else if (action === 'getItem')
        output = await client.send(new GetItemCommand(input as unknown as GetItemCommandInput));
      else if (action === 'updateItem')
        output = await client.send(new UpdateItemCommand(input as unknown as UpdateItemCommandInput));
      else output = await client.send(new DeleteItemCommand(input as unknown as DeleteItemCommandInput));
      const { $metadata: _metadata, ...result } = output as { $metadata?: unknown };
      return toJson(result);
    } catch (error) {
      throw serviceError('DynamoDB', error);
    }
  }

  /** `aws-sdk:dynamodb:transactWriteItems`: all or nothing, a cancellation named as on AWS. */
  private async transactWriteItems(task: TaskState, input: JsonValue): Promise<JsonValue> {
    const client = this.bindings.dynamodb;
    if (!client) throw new TaskError('DynamoDb.SdkClientException', 'no DynamoDB client bound');
    parseParameters(TransactWriteItemsParameters, task.name, input);
    try {
      // The API's own request shape (DynamoDB JSON), checked by the service itself.
      const output = await client.send(
        new TransactWriteItemsCommand(input as unknown as TransactWriteItemsCommandInput),
      );
      const { $metadata: _metadata, ...result } = output;
      return toJson(result);
    } catch (error) {
      throw serviceError('DynamoDb', error, true);
    }
  }

  private async putEvents(state: string, input: JsonValue): Promise<JsonValue> {
    const events = this.bindings.events;
    if (!events) throw new TaskError('EventBridge.SdkClientException', 'no events binding');
    const { Entries } = parseParameters(PutEventsParameters, state, input);
    const entries: PutEventsRequestEntry[] = Entries.map((entry) => ({
      ...(entry.Source === undefined ? {} : { Source: entry.Source }),
      ...(entry.DetailType === undefined ? {} : { DetailType: entry.DetailType }),
      ...(entry.EventBusName === undefined ? {} : { EventBusName: entry.EventBusName }),
      ...(entry.Resources === undefined ? {} : { Resources: entry.Resources }),
      // Step Functions serialises a JSON Detail for PutEvents.
      ...(entry.Detail === undefined
        ? {}
        : { Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail) }),
    }));
    let response: PutEventsResponse;
    try {
      response = await events.putEvents(entries);
    } catch (error) {
      throw serviceError('EventBridge', error);
    }
    const { $metadata: _metadata, ...result } = response as PutEventsResponse & { $metadata?: unknown };
    if ((response.FailedEntryCount ?? 0) > 0)
      throw new TaskError('EventBridge.FailedEntry', JSON.stringify(result));
    return toJson(result);
  }
}
