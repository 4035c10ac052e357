import { z } from 'zod';
import { ENV, FUNCTIONS, type FunctionName } from '../../lib/definitions/functions';

/** A setting a handler reads from its environment: a key of `ENV` in lib/definitions/functions.ts. */
export type EnvKey = keyof typeof ENV;

/** Thrown at cold start when the function's environment is incomplete or malformed. */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

const ARN = z.string().regex(/^arn:[a-z-]+:[a-z0-9-]+:/, 'must be an ARN (arn:aws:...)');
const NON_EMPTY = z.string().trim().min(1, 'must not be empty');

/** How each setting is validated: an ARN, a URL, a plain name or a secret id (ARN or name). */
const RULES: Readonly<Record<EnvKey, z.ZodType<string>>> = {
  eventBusName: NON_EMPTY,
  stateMachineArn: ARN,
  dispatchQueueUrl: z.url('must be the queue URL (https://sqs...)'),
  featuresTable: NON_EMPTY,
  instancesTable: NON_EMPTY,
  auditTable: NON_EMPTY,
  // The secret's ARN on AWS; emulators answer the Ref with its name. GetSecretValue takes either.
  pseudonymKeySecretId: NON_EMPTY,
};

/**
 * The settings a function needs according to its definition in FUNCTIONS: the tables it is
 * bound to, the bus when it puts events, the state machine when it starts executions, the
 * dispatch queue when it triggers rounds. The CDK wiring passes exactly these, so deriving
 * them here keeps the two sides from drifting.
 */
export function envKeysFromDefinition(name: FunctionName): EnvKey[] {
  const definition = FUNCTIONS[name];
  const keys = new Set<EnvKey>();
  for (const { table } of definition.tables) {
    const key = (Object.keys(ENV) as EnvKey[]).find((candidate) => ENV[candidate] === table.envVar);
    if (key !== undefined) keys.add(key);
  }
  if (definition.putsEvents) keys.add('eventBusName');
  if (definition.startsExecutions) keys.add('stateMachineArn');
  if (definition.triggersDispatch) keys.add('dispatchQueueUrl');
  return [...keys];
}

/**
 * Reads and validates the named settings, failing with one message that names every missing or
 * malformed variable and the function that needs it, so a mis-wired deployment fails at cold
 * start instead of on the first write.
 *
 * @example
 * const env = loadEnv('score', ['featuresTable', 'instancesTable']);
 * env.featuresTable; // 'Flowtune-Features-1A2B'
 */
export function loadEnv<const K extends EnvKey>(
  functionName: FunctionName | string,
  keys: readonly K[],
  source: Readonly<Record<string, string | undefined>> = process.env,
): Record<K, string> {
  const problems: string[] = [];
  const values = {} as Record<K, string>;
  for (const key of keys) {
    const variable = ENV[key];
    const raw = source[variable];
    if (raw === undefined || raw === '') {
      problems.push(`${variable} is not set`);
      continue;
    }
    const parsed = RULES[key].safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(`${variable} ${parsed.error.issues[0]?.message ?? 'is invalid'} (got "${raw}")`);
  }
  if (problems.length > 0) {
    throw new EnvironmentError(
      `Function "${functionName}" cannot start: ${problems.join('; ')}. Set it in the function's environment (the CDK stack does this from lib/definitions).`,
    );
  }
  return values;
}

/** True when the process runs on a developer machine or in tests, never in a deployed Lambda. */
export function isLocalRuntime(source: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (source.AWS_LAMBDA_FUNCTION_NAME !== undefined && source.FLOWTUNE_LOCAL === undefined) return false;
  const local = source.FLOWTUNE_LOCAL?.toLowerCase();
  if (local === 'true' || local === '1') return true;
  return ['development', 'local', 'test'].includes(source.NODE_ENV ?? '');
}
