import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, type Duration } from 'aws-cdk-lib';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  Architecture,
  Code,
  type FunctionProps,
  Function as LambdaFunction,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { skipCheck } from '../checkov';
import { type ConcurrencyDecision, PROJECT_ROOT } from '../definitions';
import { acknowledgeFinding } from '../nag';

/** Node.js 24: the latest Lambda runtime (cdk-nag L1), and the AWS SDK asks for Node ≥ 22 from 2027. */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

/** Graviton: cheaper per GB-second than x86 for the same handlers. */
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

/** What every Flowtune function needs; the factory decides only how the code is packaged. */
export interface FlowtuneFunctionProps {
  readonly description: string;
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  readonly role: IRole;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logGroup: ILogGroup;
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Customer-managed key the environment variables are encrypted with at rest (names of tables,
   * queues and secrets: configuration, never a secret value).
   */
  readonly environmentKey: IKey;
  /** Reserved concurrency, or why the function has none (its FunctionDefinition says). */
  readonly concurrency: ConcurrencyDecision;
  /**
   * Dead-letter queue for asynchronous invocations that still fail after Lambda's retries.
   * Exactly one of `deadLetterQueue` and `withoutDeadLetterQueue` is given.
   *
   * @default - none: `withoutDeadLetterQueue` says why
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Why the function needs no dead-letter queue: how it is invoked, if never asynchronously.
   *
   * @default - none: `deadLetterQueue` is given
   */
  readonly withoutDeadLetterQueue?: string;
}

/** Why no Flowtune function is attached to a VPC (checkov CKV_AWS_117). */
export const OUTSIDE_VPC_REASON =
  'Flowtune functions reach only AWS regional APIs (DynamoDB, Step Functions, EventBridge, SQS, Secrets Manager, CloudWatch) over TLS with IAM-signed requests, and the connector a public https endpoint; there is no private resource to reach, so a VPC would add NAT or endpoint cost and cold-start latency without narrowing any path.';

/**
 * Builds the Lambda functions of the stack. The split lets the infra tests skip bundling
 * (`TestFunctionFactory`) while `cdk synth` bundles the real handlers (`BundledFunctionFactory`).
 */
export abstract class FunctionFactory {
  /** Builds the function, then applies what every Flowtune function gets however it is packaged. */
  createFunction(scope: Construct, id: string, props: FlowtuneFunctionProps): LambdaFunction {
    const hasQueue = props.deadLetterQueue !== undefined;
    if (hasQueue === (props.withoutDeadLetterQueue !== undefined)) {
      throw new Error(
        `Function ${id} in ${scope.node.path}: give either deadLetterQueue (it is invoked asynchronously) or withoutDeadLetterQueue (why it never is), not ${hasQueue ? 'both' : 'neither'}.`,
      );
    }
    const fn = this.build(scope, id, props);
    applyBaseline(fn, props);
    return fn;
  }

  /** Packages the handler: bundled for deployment, inline placeholders for template tests. */
  protected abstract build(scope: Construct, id: string, props: FlowtuneFunctionProps): LambdaFunction;
}

/**
 * The scanner-facing baseline, in one place: the role may decrypt the environment (Lambda decrypts
 * it through a grant made at deployment; the role's own Decrypt, on this key only and only through
 * Lambda, keeps a function starting should that grant be retired), the VPC and, where they do not
 * apply, the concurrency and DLQ checks skipped and acknowledged with their reasons.
 */
function applyBaseline(fn: LambdaFunction, props: FlowtuneFunctionProps): void {
  props.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [props.environmentKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `lambda.${Aws.REGION}.amazonaws.com` } },
    }),
  );
  skipCheck(fn, 'CKV_AWS_117', OUTSIDE_VPC_REASON);
  if ('unreserved' in props.concurrency) skipCheck(fn, 'CKV_AWS_115', props.concurrency.unreserved);
  if (props.withoutDeadLetterQueue !== undefined) {
    skipCheck(fn, 'CKV_AWS_116', props.withoutDeadLetterQueue);
    acknowledgeFinding(fn, 'Serverless-LambdaDLQ', props.withoutDeadLetterQueue);
  }
}

/** Settings that must be identical whichever way the code is packaged: the tests assert them. */
function commonSettings(props: FlowtuneFunctionProps) {
  return {
    description: props.description,
    runtime: FUNCTION_RUNTIME,
    architecture: FUNCTION_ARCHITECTURE,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role: props.role,
    logGroup: props.logGroup,
    tracing: Tracing.ACTIVE,
    environment: { ...props.environment },
    environmentEncryption: props.environmentKey,
    reservedConcurrentExecutions: 'reserved' in props.concurrency ? props.concurrency.reserved : undefined,
    deadLetterQueue: props.deadLetterQueue,
  } satisfies Partial<FunctionProps>;
}

/**
 * How every handler is bundled, by `cdk synth` from the sources and by `npm pack` into the package
 * (scripts/build-package.ts): ESM for Node 24, minified, with source maps, the AWS SDK inside.
 */
export const HANDLER_BUNDLE = {
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  // Some bundled CommonJS dependencies call require(); ESM output needs it defined.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  /** File name of the bundle inside its asset directory (Lambda's handler is `index.handler`). */
  fileName: 'index.mjs',
} as const;

/** Where the package keeps a handler's prebuilt bundle: `bundles/<entry without .ts>/index.mjs`. */
export function prebuiltBundleDir(entry: string, root: string = PROJECT_ROOT): string {
  return join(root, 'bundles', entry.replace(/\.ts$/, ''));
}

/**
 * Bundles each handler with the local esbuild (no Docker): ESM, minified, with source maps, and
 * with the AWS SDK inside the bundle (`externalModules: []`) so the deployed code runs the SDK
 * version the tests ran, and LocalStack-compatible endpoints do not substitute their own stubs.
 *
 * Installed from the package, the handlers come prebuilt with the same settings (`npm pack`
 * bundles them), so a customer's synth needs neither esbuild nor the handlers' dependencies.
 */
export class BundledFunctionFactory extends FunctionFactory {
  protected override build(scope: Construct, id: string, props: FlowtuneFunctionProps): LambdaFunction {
    const settings = commonSettings(props);
    const environment = { ...settings.environment, NODE_OPTIONS: '--enable-source-maps' };
    const prebuilt = prebuiltBundleDir(props.entry);
    if (existsSync(join(prebuilt, HANDLER_BUNDLE.fileName))) {
      return new LambdaFunction(scope, id, {
        ...settings,
        environment,
        code: Code.fromAsset(prebuilt),
        handler: 'index.handler',
      });
    }
    return new NodejsFunction(scope, id, {
      ...settings,
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment,
      bundling: {
        externalModules: [],
        format: OutputFormat.ESM,
        target: HANDLER_BUNDLE.target,
        mainFields: [...HANDLER_BUNDLE.mainFields],
        minify: HANDLER_BUNDLE.minify,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        banner: HANDLER_BUNDLE.banner,
      },
    });
  }
}

/**
 * Inline placeholder code instead of bundles: for infra tests, which assert the template and
 * must not spend seconds bundling eight handlers per synth.
 */
export class TestFunctionFactory extends FunctionFactory {
  protected override build(scope: Construct, id: string, props: FlowtuneFunctionProps): LambdaFunction {
    return new LambdaFunction(scope, id, {
      ...commonSettings(props),
      code: Code.fromInline(
        `exports.handler = async () => { throw new Error('${id}: test placeholder, never deployed'); };`,
      ),
      handler: 'index.handler',
    });
  }
}
