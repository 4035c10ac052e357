import type { z } from 'zod';

/**
 * An error the operations API answers with a 4xx: the status, a stable code, and a message that
 * says what was wrong and what to do. Anything else becomes a 500 without details.
 */
export class OpsRequestError extends Error {
  override readonly name = 'OpsRequestError';

  constructor(
    readonly status: 400 | 403 | 404 | 405 | 409,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  /** A 400 naming the first invalid field of a zod error. */
  static invalid(where: string, error: z.ZodError): OpsRequestError {
    const issue = error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? where : issue.path.map(String).join('.');
    return new OpsRequestError(400, 'InvalidRequest', `${field}: ${issue?.message ?? 'is invalid'}`, field);
  }

  static notFound(message: string): OpsRequestError {
    return new OpsRequestError(404, 'NotFound', message);
  }

  static conflict(message: string, code = 'Conflict'): OpsRequestError {
    return new OpsRequestError(409, code, message);
  }
}
