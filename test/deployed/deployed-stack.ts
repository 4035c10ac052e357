import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE, PROJECT_ROOT, QUEUES } from '../../lib/definitions';

/**
 * Where the deployed suite finds its target: a LocalStack-compatible endpoint (AWS_ENDPOINT_URL)
 * and the outputs `cdk deploy --outputs-file` wrote for the stack deployed there. Read once, by
 * the global setup (which fails the run with a plain message when either is missing) and by the
 * tests.
 */

/** Where `npm run deploy:local` writes the outputs unless FLOWTUNE_OUTPUTS_FILE says otherwise. */
export const DEFAULT_OUTPUTS_FILE = join(PROJECT_ROOT, '.build', 'deployed', 'stack-outputs.json');

/**
 * The stack outputs the suite reads, by the CfnOutput ids FlowtuneStack gives them; table and
 * queue outputs are named after their definitions, so they are derived from the same objects.
 */
export const OUTPUT_KEYS = {
  eventBusName: 'EventBusName',
  inboundEventBusName: 'InboundEventBusName',
  stateMachineArn: 'StateMachineArn',
  featuresTable: `${FEATURES_TABLE.id}TableName`,
  instancesTable: `${INSTANCES_TABLE.id}TableName`,
  auditTable: `${AUDIT_TABLE.id}TableName`,
  intakeQueueUrl: `${QUEUES.intake.id}Url`,
} as const;

export type StackOutputs = { readonly [K in keyof typeof OUTPUT_KEYS]: string };

export interface DeployedTarget {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly outputsFile: string;
  readonly stackName: string;
  readonly outputs: StackOutputs;
}

/** Nothing to test against: the message says what to set or run. */
export class NoDeployedStackError extends Error {
  override readonly name = 'NoDeployedStackError';
}

const HOW_TO_RUN = [
  'Either let `npm run test:ministack` start MiniStack, deploy the stack and run this suite (no Docker needed),',
  'or deploy to your own LocalStack-compatible endpoint first:',
  '  AWS_ENDPOINT_URL=http://localhost:4566 npm run deploy:local',
  '  AWS_ENDPOINT_URL=http://localhost:4566 npm run test:deployed',
].join('\n');

const OutputsFile = z.record(z.string(), z.record(z.string(), z.string()));

/**
 * Reads the target from the environment and the outputs file.
 *
 * @throws NoDeployedStackError naming what is missing: the endpoint, the outputs file, or outputs in it.
 * @example
 * const target = readDeployedTarget(process.env);
 * console.log(target.outputs.stateMachineArn);
 */
export function readDeployedTarget(env: NodeJS.ProcessEnv): DeployedTarget {
  const endpoint = env.AWS_ENDPOINT_URL?.trim();
  if (endpoint === undefined || endpoint === '') {
    throw new NoDeployedStackError(
      `test:deployed needs a deployed Flowtune stack on a LocalStack-compatible endpoint, and AWS_ENDPOINT_URL is not set, so no test ran.\n${HOW_TO_RUN}`,
    );
  }
  if (!z.url().safeParse(endpoint).success) {
    throw new NoDeployedStackError(
      `AWS_ENDPOINT_URL is "${endpoint}", not a URL (e.g. http://localhost:4566).`,
    );
  }

  const outputsFile = env.FLOWTUNE_OUTPUTS_FILE?.trim() || DEFAULT_OUTPUTS_FILE;
  if (!existsSync(outputsFile)) {
    throw new NoDeployedStackError(
      `No stack outputs at ${outputsFile}: deploy first with \`npm run deploy:local\` (it writes them there), or point FLOWTUNE_OUTPUTS_FILE at the file \`cdk deploy --outputs-file\` wrote.\n${HOW_TO_RUN}`,
    );
  }
  const parsed = OutputsFile.safeParse(JSON.parse(readFileSync(outputsFile, 'utf8')));
  if (!parsed.success) {
    throw new NoDeployedStackError(
      `${outputsFile} is not a cdk outputs file ({ "<stack>": { "<output>": "<value>" } }).`,
    );
  }
  const stacks = Object.entries(parsed.data);
  const [stackName, values] = stacks.find(([, outputs]) => OUTPUT_KEYS.stateMachineArn in outputs) ?? [];
  if (stackName === undefined || values === undefined) {
    throw new NoDeployedStackError(
      `No stack in ${outputsFile} has a ${OUTPUT_KEYS.stateMachineArn} output (stacks: ${stacks.map(([name]) => name).join(', ') || 'none'}). Was the deploy interrupted?`,
    );
  }
  const missing = Object.values(OUTPUT_KEYS).filter((key) => !(key in values));
  if (missing.length > 0) {
    throw new NoDeployedStackError(
      `Stack ${stackName} in ${outputsFile} lacks the output(s) ${missing.join(', ')}.`,
    );
  }
  const outputs = Object.fromEntries(
    Object.entries(OUTPUT_KEYS).map(([name, key]) => [name, values[key] as string]),
  ) as unknown as StackOutputs;

  return {
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // Emulators accept any credentials; dummy ones keep a stray real profile out of the picture.
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID || 'test',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'test',
    },
    outputsFile,
    stackName,
    outputs,
  };
}

/**
 * Fails fast, with the endpoint named, when nothing answers there: a stopped emulator otherwise
 * shows up as every test timing out.
 */
export async function assertEndpointAnswers(endpoint: string, timeoutMs = 5_000): Promise<void> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause =
      error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
    throw new NoDeployedStackError(
      `Nothing answers at AWS_ENDPOINT_URL=${endpoint} (${cause}). Start LocalStack or MiniStack there, or use \`npm run test:ministack\`.`,
    );
  }
}
