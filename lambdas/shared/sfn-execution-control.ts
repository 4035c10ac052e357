import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { ProcessInput } from '../../domain/process';
import type { ExecutionControl, ExecutionSummary, ResumeOutcome, StartOutcome } from './ports';

export interface SfnExecutionControlOptions {
  readonly client: SFNClient;
  readonly stateMachineArn: string;
  /** Clock used to tell a new execution from an existing one returned idempotently. @default Date.now */
  readonly now?: () => number;
}

/** Errors that mean "the task this token belonged to is gone": nothing to resume, not a failure. */
const STALE_TOKEN_ERRORS = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

/**
 * StartExecution returns the existing execution, without error, when the same name and input
 * are started again while it runs. An execution that started well before this call is therefore
 * a duplicate too; the margin absorbs clock skew between Lambda and Step Functions.
 */
const EXISTING_EXECUTION_MARGIN_MS = 5_000;

/** ExecutionControl on Step Functions. */
export class SfnExecutionControl implements ExecutionControl {
  private readonly now: () => number;

  constructor(private readonly options: SfnExecutionControlOptions) {
    this.now = options.now ?? Date.now;
  }

  async startExecution(name: string, input: ProcessInput): Promise<StartOutcome> {
    const calledAt = this.now();
    try {
      const result = await this.options.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      const startedAt = result.startDate?.getTime();
      return startedAt !== undefined && startedAt < calledAt - EXISTING_EXECUTION_MARGIN_MS
        ? 'redelivered'
        : 'started';
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return 'duplicate';
      throw error;
    }
  }

  async describeExecution(name: string): Promise<ExecutionSummary | undefined> {
    try {
      const result = await this.options.client.send(
        new DescribeExecutionCommand({ executionArn: executionArnFor(this.options.stateMachineArn, name) }),
      );
      const input = parseInput(result.input);
      return {
        status: result.status === 'RUNNING' || result.status === 'PENDING_REDRIVE' ? 'running' : 'ended',
        ...(typeof input.eventId === 'string' ? { eventId: input.eventId } : {}),
        ...('detail' in input ? { detail: input.detail } : {}),
      };
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<ResumeOutcome> {
    return this.resume(() =>
      this.options.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    );
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<ResumeOutcome> {
    return this.resume(() =>
      // Step Functions caps error at 256 and cause at 32768 characters.
      this.options.client.send(
        new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }),
      ),
    );
  }

  private async resume(send: () => Promise<unknown>): Promise<ResumeOutcome> {
    try {
      await send();
      return 'sent';
    } catch (error) {
      if (error instanceof Error && STALE_TOKEN_ERRORS.has(error.name)) return 'stale';
      throw error;
    }
  }
}

/**
 * The ARN of the execution `name` of a state machine given by its ARN, or by an alias or version
 * ARN (`...:stateMachine:<machine>[:<alias or version>]`): executions belong to the machine.
 */
export function executionArnFor(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  // arn:partition:states:region:account:stateMachine:machine[:qualifier]
  const [arn, partition, service, region, account, , machine] = parts;
  return `${arn}:${partition}:${service}:${region}:${account}:execution:${machine}:${name}`;
}

function parseInput(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
