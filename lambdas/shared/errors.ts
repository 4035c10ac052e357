import type { z } from 'zod';

/**
 * Errors the handlers throw on purpose. Step Functions sees a Lambda error's `name` as its
 * error type, so the ASL can Catch these by name.
 */

/** A task's input (from the state machine) does not match its contract in domain/process.ts. */
export class InvalidTaskInputError extends Error {
  override readonly name = 'InvalidTaskInputError';

  static from(task: string, error: z.ZodError): InvalidTaskInputError {
    const issue = error.issues[0];
    const field =
      issue === undefined || issue.path.length === 0 ? '(input)' : issue.path.map(String).join('.');
    return new InvalidTaskInputError(
      `${task} input is invalid at ${field}: ${issue?.message ?? 'invalid'}. The state machine's Parameters for this task must match domain/process.ts.`,
    );
  }
}

/** The active policy stored in the Features table does not parse; the scorer falls back to the default. */
export class InvalidStoredPolicyError extends Error {
  override readonly name = 'InvalidStoredPolicyError';

  static from(error: z.ZodError): InvalidStoredPolicyError {
    const issue = error.issues[0];
    const field = issue === undefined ? '(policy)' : issue.path.map(String).join('.');
    return new InvalidStoredPolicyError(
      `stored policy (pk POLICY, sk ACTIVE) is invalid at ${field}: ${issue?.message ?? 'invalid'}`,
    );
  }
}

/** Optimistic concurrency on a statistics record kept losing; the caller may retry later. */
export class StatsContentionError extends Error {
  override readonly name = 'StatsContentionError';
}

/** A transient failure the handler could not get past (so SQS or Lambda retries it). */
export class TransientFailureError extends Error {
  override readonly name = 'TransientFailureError';
}

/**
 * Error the completion wait of an offline agent's item is failed with: the process releases the
 * agent's slot and re-routes the item (excluding that agent), as after a missed window, while the
 * policy's re-routes and the SLA allow; it escalates otherwise. Sent by the agent-status handler
 * when the agent goes offline, and by the park when the wait begins after they already had.
 */
export const AGENT_OFFLINE_ERROR = 'AgentWentOffline';
