import { randomBytes } from 'node:crypto';

/**
 * The local stand-in for Step Functions' task tokens (`.waitForTaskToken`). Each wait is opened
 * with a fresh, opaque token; SendTaskSuccess / SendTaskFailure settle it exactly once. A token
 * whose task is already closed (answered, timed out, or its execution ended) is answered like
 * AWS does, with errors named as the SDK names them, so ports map local and AWS errors alike:
 * `TaskTimedOut` for a closed task, `TaskDoesNotExist` for a token never issued, `InvalidToken`
 * for an empty or oversize token, `InvalidOutput` for output that is not JSON.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Why a wait is no longer open. */
export type TaskClosure = 'succeeded' | 'failed' | 'timed-out' | 'execution-ended';

export interface TaskWait {
  readonly token: string;
  readonly executionArn: string;
  readonly stateName: string;
  readonly openedAt: number;
}

export interface ClosedTaskWait extends TaskWait {
  readonly closure: TaskClosure;
  readonly closedAt: number;
}

/** The Error / Cause a failed task carries into Retry / Catch, as SendTaskFailure sets them. */
export class TaskFailedError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

abstract class TaskTokenError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}
export class TaskTimedOutError extends TaskTokenError {
  constructor() {
    super(
      'TaskTimedOut',
      'Task Timed Out: the task token has either expired or its task has already been closed.',
    );
  }
}
export class TaskDoesNotExistError extends TaskTokenError {
  constructor() {
    super('TaskDoesNotExist', 'Task does not exist: no task was ever opened with this token.');
  }
}
export class InvalidTokenError extends TaskTokenError {
  constructor(reason: string) {
    super('InvalidToken', `Invalid Token: ${reason}`);
  }
}
export class InvalidOutputError extends TaskTokenError {
  constructor(reason: string) {
    super('InvalidOutput', `Invalid Output: ${reason}`);
  }
}

/** Step Functions' API limits: token 1,024 characters, output 256 KiB, error 256 and cause 32,768 characters. */
const MAX_TOKEN_LENGTH = 1024;
const MAX_PAYLOAD_CHARS = 256 * 1024;
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;

interface OpenWait extends TaskWait {
  readonly resolve: (output: JsonValue) => void;
  readonly reject: (error: Error) => void;
}

export interface TaskTokenRegistryOptions {
  /** @default Date.now */
  readonly now?: () => number;
  /** @default 96 random bytes in base64, the opaque shape of an AWS task token */
  readonly generateToken?: () => string;
}

export class TaskTokenRegistry {
  private readonly open = new Map<string, OpenWait>();
  private readonly closed = new Map<string, ClosedTaskWait>();
  private readonly now: () => number;
  private readonly generateToken: () => string;

  constructor(options: TaskTokenRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
    this.generateToken = options.generateToken ?? (() => randomBytes(96).toString('base64'));
  }

  /** A token no wait has used; opening a wait with it is a separate step (see the ASL runner). */
  newToken(): string {
    let token = this.generateToken();
    while (this.open.has(token) || this.closed.has(token)) token = this.generateToken();
    return token;
  }

  /**
   * Opens a wait and returns the promise the waiting Task state races: it resolves with the
   * output of SendTaskSuccess or rejects with a {@link TaskFailedError} from SendTaskFailure.
   *
   * @example
   * const token = registry.newToken();
   * const result = registry.openWait({ token, executionArn, stateName: 'Wait For Completion' });
   * registry.sendTaskSuccess(token, { outcome: 'resolved' });
   * await result; // { outcome: 'resolved' }
   */
  openWait(wait: {
    readonly token: string;
    readonly executionArn: string;
    readonly stateName: string;
  }): Promise<JsonValue> {
    if (this.open.has(wait.token) || this.closed.has(wait.token)) {
      throw new Error(`task token already used by ${wait.stateName}; mint a new one with newToken()`);
    }
    return new Promise<JsonValue>((resolve, reject) => {
      this.open.set(wait.token, { ...wait, openedAt: this.now(), resolve, reject });
    });
  }

  /** SendTaskSuccess: resumes the waiting task with a JSON copy of `output`, exactly once. */
  sendTaskSuccess(token: string, output: unknown): void {
    const serialised = this.serialiseOutput(output);
    const wait = this.take(token, 'succeeded');
    wait.resolve(JSON.parse(serialised) as JsonValue);
  }

  /** SendTaskFailure: fails the waiting task with `error` / `cause` (what Retry and Catch see), exactly once. */
  sendTaskFailure(token: string, error = '', cause = ''): void {
    if (error.length > MAX_ERROR_CHARS)
      throw new InvalidOutputError(`error is longer than ${MAX_ERROR_CHARS} characters`);
    if (cause.length > MAX_CAUSE_CHARS)
      throw new InvalidOutputError(`cause is longer than ${MAX_CAUSE_CHARS} characters`);
    const wait = this.take(token, 'failed');
    wait.reject(new TaskFailedError(error, cause));
  }

  /** The Task state timed out: later answers with this token get TaskTimedOut. */
  expire(token: string): void {
    this.close(token, 'timed-out');
  }

  /** Closes a wait without settling it, e.g. when the task failed before anyone answered. */
  abandon(token: string, closure: TaskClosure): void {
    this.close(token, closure);
  }

  /** The execution stopped (succeeded, failed, aborted, timed out): close all its waits. */
  closeExecution(executionArn: string): void {
    for (const wait of [...this.open.values()]) {
      if (wait.executionArn === executionArn) this.close(wait.token, 'execution-ended');
    }
  }

  /** Open waits, oldest first; optionally only one execution's or one state's. */
  pending(filter: { readonly executionArn?: string; readonly stateName?: string } = {}): TaskWait[] {
    return [...this.open.values()]
      .filter((wait) => filter.executionArn === undefined || wait.executionArn === filter.executionArn)
      .filter((wait) => filter.stateName === undefined || wait.stateName === filter.stateName)
      .map(({ token, executionArn, stateName, openedAt }) => ({ token, executionArn, stateName, openedAt }));
  }

  /** What happened to a token: open, closed (and how), or never issued. */
  status(token: string): 'open' | ClosedTaskWait | 'unknown' {
    if (this.open.has(token)) return 'open';
    return this.closed.get(token) ?? 'unknown';
  }

  private serialiseOutput(output: unknown): string {
    let serialised: string | undefined;
    try {
      serialised = JSON.stringify(output);
    } catch (error) {
      throw new InvalidOutputError(
        `output is not JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (serialised === undefined) throw new InvalidOutputError('output is not JSON (undefined)');
    if (serialised.length > MAX_PAYLOAD_CHARS)
      throw new InvalidOutputError(`output is longer than ${MAX_PAYLOAD_CHARS} characters`);
    return serialised;
  }

  private take(token: string, closure: TaskClosure): OpenWait {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new InvalidTokenError(
        `a task token has 1 to ${MAX_TOKEN_LENGTH} characters, got ${token.length}`,
      );
    }
    const wait = this.open.get(token);
    if (wait) {
      this.close(token, closure);
      return wait;
    }
    if (this.closed.has(token)) throw new TaskTimedOutError();
    throw new TaskDoesNotExistError();
  }

  private close(token: string, closure: TaskClosure): void {
    const wait = this.open.get(token);
    if (!wait) return;
    this.open.delete(token);
    const { resolve: _resolve, reject: _reject, ...rest } = wait;
    this.closed.set(token, { ...rest, closure, closedAt: this.now() });
  }
}
