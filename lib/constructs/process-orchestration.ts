import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import {
  type CfnStateMachine,
  CfnStateMachineAlias,
  CfnStateMachineVersion,
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PersonalDataRules } from '../../domain/personal-data';
import {
  AUDIT_TABLE,
  dynamoDbActionsByPlaceholder,
  ENV,
  FEATURES_TABLE,
  FUNCTIONS,
  type FunctionDefinition,
  type FunctionName,
  INBOUND_RULES,
  INSTANCES_TABLE,
  PERSONAL_DATA_ENV,
  PROCESS_INSTANCE,
  PROJECT_ROOT,
  QUEUES,
  type QueueName,
  RULES,
  TABLES,
} from '../definitions';
import { acknowledgeFinding } from '../nag';
import { createDeadLetterQueue } from './dead-letter-queue';
import type { EventIngest } from './event-ingest';
import { BundledFunctionFactory, type FunctionFactory } from './function-factory';
import type { Storage } from './storage';

/** Namespace of every Powertools metric Flowtune emits. */
export const METRICS_NAMESPACE = 'Flowtune';

export interface ProcessOrchestrationProps {
  readonly storage: Storage;
  readonly ingest: EventIngest;
  /**
   * Builds the Lambda functions; tests pass a `TestFunctionFactory` to skip bundling.
   *
   * @default new BundledFunctionFactory()
   */
  readonly functionFactory?: FunctionFactory;
  /**
   * The process-instance ASL, relative to the project root or absolute.
   *
   * @default PROCESS_INSTANCE.file
   */
  readonly definitionFile?: string;
  /**
   * Retention of the functions' and the state machine's logs.
   *
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Whether state machine logs carry each state's input and output. Off by default: before
   * Validate pseudonymises it, an item's detail may hold customer identifiers.
   *
   * @default false
   */
  readonly includeExecutionDataInLogs?: boolean;
  /**
   * Functions a schedule invokes asynchronously (beside the rule targets of RULES): they get the
   * async-failure dead-letter queue too.
   *
   * @default - none
   */
  readonly scheduledFunctions?: readonly FunctionName[];
  /**
   * What in an event detail is personal data, for the functions that pseudonymise.
   *
   * @default DEFAULT_PERSONAL_DATA (the functions' own default: no variable is set)
   */
  readonly personalData?: PersonalDataRules;
}

export interface SafeRolloutProps {
  /**
   * Alarms that roll a new workflow version back: the business KPIs (SLA attainment, throughput,
   * prediction error), failed executions and dead letters.
   */
  readonly alarms: readonly IAlarm[];
  /**
   * Share of new executions the new version takes first, in percent.
   *
   * @default 10
   */
  readonly canaryPercentage?: number;
  /**
   * Minutes the canary runs, watched by the alarms, before the new version takes all traffic.
   *
   * @default 15
   */
  readonly canaryMinutes?: number;
  /**
   * Alias name the intake starts executions through.
   *
   * @default 'live'
   */
  readonly aliasName?: string;
}

/**
 * The process itself: one Lambda per entry of FUNCTIONS (IAM, environment and triggers derived
 * from each definition's flags), and the process-instance state machine (Standard, ASL loaded
 * from its file with every placeholder substituted, logging ALL, X-Ray, explicit IAM for each
 * integration it uses).
 */
export class ProcessOrchestration extends Construct {
  readonly functions: Readonly<Record<FunctionName, LambdaFunction>>;
  readonly stateMachine: StateMachine;
  /** Encrypts every log group of the process (functions and state machine). */
  readonly logsKey: Key;
  /** Asynchronous invocations (rule targets) that failed after Lambda's own retries. */
  readonly asyncFailureQueue: Queue;
  /** The ASL as loaded, placeholders intact. */
  readonly definitionText: string;
  /** HMAC key of the functions whose definition says they pseudonymise (absent when none does). */
  readonly pseudonymKey?: Secret;
  /** The version published from this deployment's definition (after `publishBehindAlias`). */
  version?: CfnStateMachineVersion;
  /** The alias executions start through (after `publishBehindAlias`). */
  alias?: CfnStateMachineAlias;
  private readonly scheduledFunctions: readonly FunctionName[];
  private readonly personalData?: PersonalDataRules;

  constructor(scope: Construct, id: string, props: ProcessOrchestrationProps) {
    super(scope, id);
    const { storage, ingest } = props;
    const factory = props.functionFactory ?? new BundledFunctionFactory();
    this.scheduledFunctions = props.scheduledFunctions ?? [];
    if (props.personalData !== undefined) {
      const parsed = PersonalDataRules.safeParse(props.personalData);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(
          `personalData.${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}; see DEFAULT_PERSONAL_DATA in domain/personal-data.ts`,
        );
      }
      this.personalData = parsed.data;
    }
    const retention = props.logRetention ?? RetentionDays.THREE_MONTHS;

    this.logsKey = new Key(this, 'LogsKey', {
      description: 'Flowtune: encryption of the process log groups (functions and state machine)',
      enableKeyRotation: true,
    });
    this.logsKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );

    this.asyncFailureQueue = createDeadLetterQueue(this, 'AsyncFailureQueue', {
      fifo: false,
      retentionPeriod: Duration.days(14),
      ...(ingest.key === undefined ? {} : { encryptionKey: ingest.key }),
    });

    if (Object.values(FUNCTIONS).some((definition) => definition.pseudonymises)) {
      this.pseudonymKey = new Secret(this, 'PseudonymKey', {
        description: 'Flowtune: HMAC key that pseudonymises personal identifiers in audit records and events',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        // Without it, no pseudonym in the retained Audit table could ever be matched again.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      storage.encryptSecret(this.pseudonymKey);
      acknowledgeFinding(
        this.pseudonymKey,
        'AwsSolutions-SMG4',
        'Rotating the pseudonym key would change every pseudonym and cut the link between audit records of the same customer; it changes only with a planned re-keying.',
      );
    }

    // Named explicitly so functions can be granted on its ARN without a dependency cycle
    // (the state machine references the task functions; some of them resume its executions).
    const stateMachineName = `${Stack.of(this).stackName}-${PROCESS_INSTANCE.id}`;
    const stateMachineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const functions = {} as Record<FunctionName, LambdaFunction>;
    for (const [name, definition] of Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][]) {
      functions[name] = this.createFunction(name, definition, {
        factory,
        retention,
        storage,
        ingest,
        stateMachineArn,
      });
    }
    this.functions = functions;

    for (const [queueName, definition] of Object.entries(QUEUES) as [
      QueueName,
      (typeof QUEUES)[QueueName],
    ][]) {
      functions[definition.consumer].addEventSource(
        new SqsEventSource(ingest.queues[queueName].queue, {
          batchSize: definition.batchSize,
          maxConcurrency: definition.maxConcurrency,
          reportBatchItemFailures: true,
        }),
      );
    }

    const definitionPath = resolveDefinitionFile(props.definitionFile ?? PROCESS_INSTANCE.file);
    this.definitionText = readFileSync(definitionPath, 'utf8');
    const substitutions = this.substitutions(storage, ingest);
    checkPlaceholders(this.definitionText, definitionPath, Object.keys(substitutions));

    const stateMachineLogs = new LogGroup(this, `${PROCESS_INSTANCE.id}Logs`, {
      // The vended-logs prefix keeps CloudWatch's resource policy for Step Functions small.
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention,
      encryptionKey: this.logsKey,
      // Its name is fixed: a group retained after `cdk destroy` would block the next deploy.
      // Decisions stay on record in the Audit table, which is always retained.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, PROCESS_INSTANCE.id, {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      comment: 'One execution per work item, named by the item id',
      definitionBody: DefinitionBody.fromString(this.definitionText),
      definitionSubstitutions: substitutions,
      logs: {
        destination: stateMachineLogs,
        level: LogLevel.ALL,
        includeExecutionData: props.includeExecutionDataInLogs ?? false,
      },
      tracingEnabled: true,
    });
    this.grantIntegrations(storage, ingest);
    acknowledgeFinding(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Resource "*" is required by X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and by CloudWatch Logs log delivery (CreateLogDelivery and related), which support no resource-level permissions.',
    );

    for (const [name, definition] of Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][]) {
      if (definition.startsExecutions) {
        functions[name].addEnvironment(ENV.stateMachineArn, this.stateMachine.stateMachineArn);
      }
    }
  }

  /** Every function with a label and its memory, for dashboards and the cost per item. */
  functionList(): readonly {
    readonly label: string;
    readonly fn: LambdaFunction;
    readonly memoryMb: number;
  }[] {
    return (Object.entries(this.functions) as [FunctionName, LambdaFunction][]).map(([name, fn]) => ({
      label: FUNCTIONS[name].id,
      fn,
      memoryMb: FUNCTIONS[name].memorySize,
    }));
  }

  /**
   * Safe rollout of workflow changes: publishes this deployment's definition as a state machine
   * version behind an alias whose canary deployment preference shifts a share of new executions
   * to it, watches `alarms`, and rolls back automatically if one fires. The functions that start
   * executions start them through the alias. Each deployment's version is retained, so
   * executions still running on an older version finish on it.
   *
   * @example
   * orchestration.publishBehindAlias({ alarms: observability.rolloutAlarms });
   */
  publishBehindAlias(props: SafeRolloutProps): CfnStateMachineAlias {
    if (this.alias !== undefined)
      throw new Error('publishBehindAlias was already called on this ProcessOrchestration');
    const percentage = props.canaryPercentage ?? 10;
    const minutes = props.canaryMinutes ?? 15;
    if (!(percentage >= 1 && percentage <= 99)) {
      throw new Error(
        `canaryPercentage must be 1-99 (the share the new version takes first); got ${percentage}`,
      );
    }
    if (!(Number.isInteger(minutes) && minutes >= 1 && minutes <= 2100)) {
      throw new Error(`canaryMinutes must be a whole number of minutes from 1 to 2100; got ${minutes}`);
    }
    const cfnStateMachine = this.stateMachine.node.defaultChild as CfnStateMachine;
    // A new revision (a changed definition) replaces the version resource: a new version is
    // published and, retained, the old one keeps serving the executions that started on it.
    this.version = new CfnStateMachineVersion(this, `${PROCESS_INSTANCE.id}Version`, {
      stateMachineArn: this.stateMachine.stateMachineArn,
      stateMachineRevisionId: cfnStateMachine.attrStateMachineRevisionId,
      description: 'Published by the Flowtune stack on deploy',
    });
    this.version.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.alias = new CfnStateMachineAlias(this, `${PROCESS_INSTANCE.id}Alias`, {
      name: props.aliasName ?? 'live',
      description: 'Where the intake starts executions; new versions arrive through a canary',
      deploymentPreference: {
        type: 'CANARY',
        stateMachineVersionArn: this.version.attrArn,
        percentage,
        interval: minutes,
        alarms: props.alarms.map((alarm) => alarm.alarmName),
      },
    });
    for (const [name, definition] of Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][]) {
      if (!definition.startsExecutions) continue;
      this.functions[name].addEnvironment(ENV.stateMachineArn, this.alias.ref);
      const role = this.functions[name].role;
      role?.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['states:StartExecution'], resources: [this.alias.ref] }),
      );
    }
    return this.alias;
  }

  private createFunction(
    name: FunctionName,
    definition: FunctionDefinition,
    context: {
      readonly factory: FunctionFactory;
      readonly retention: RetentionDays;
      readonly storage: Storage;
      readonly ingest: EventIngest;
      readonly stateMachineArn: string;
    },
  ): LambdaFunction {
    const { factory, retention, storage, ingest, stateMachineArn } = context;
    const role = new Role(this, `${definition.id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Flowtune ${definition.id}: exactly the access its definition in lib/definitions/functions.ts declares`,
    });
    const logGroup = new LogGroup(this, `${definition.id}Logs`, { retention, encryptionKey: this.logsKey });
    logGroup.grantWrite(role);

    const invokedAsynchronously = isRuleTarget(name) || this.scheduledFunctions.includes(name);
    const fn = factory.createFunction(this, definition.id, {
      description: definition.description,
      entry: definition.entry,
      role,
      memorySize: definition.memorySize,
      timeout: Duration.seconds(definition.timeoutSeconds),
      logGroup,
      environment: this.environmentFor(definition, storage, ingest),
      environmentKey: storage.configKey,
      concurrency: definition.concurrency,
      ...(invokedAsynchronously
        ? { deadLetterQueue: this.asyncFailureQueue }
        : { withoutDeadLetterQueue: `${definition.id} is ${invocationKind(name)}; ${DLQ_SCOPE}` }),
    });
    // Lambda sends failed asynchronous invocations to the DLQ, and the event source mapping reads
    // the queue, with the function's role: both use the queues' key.
    if (invokedAsynchronously || consumedQueue(name) !== undefined) ingest.grantQueueKey(role);

    for (const { table, access } of definition.tables) storage.grantAccess(role, table, access);
    if (definition.pseudonymises && this.pseudonymKey !== undefined) {
      storage.grantReadSecret(role, this.pseudonymKey);
    }
    if (definition.putsEvents) ingest.grantPutEvents(role);
    if (definition.triggersDispatch) ingest.grantTriggerDispatch(role);
    if (definition.startsExecutions) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] }),
      );
      // A creation whose execution name is taken asks whether that execution has ended (then the
      // creation starts the item's next attempt, `<id>.<n>`): executions of this machine only.
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['states:DescribeExecution'],
          resources: [executionArnPattern(stateMachineArn)],
        }),
      );
      // cdk-nag names the resource as synthesized: pseudo parameters where the stack's environment
      // is left open, literal values where it is set (as a deploy to an emulator or account sets it).
      const stack = Stack.of(this);
      const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
      const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
      const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
      acknowledgeFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:${partition}:states:${region}:${account}:execution:${stack.stackName}-${PROCESS_INSTANCE.id}:*]`,
        'Execution names are chosen at run time (the item id, then <id>.<attempt>), so DescribeExecution is granted on the executions of the process-instance state machine only, never on "*".',
      );
    }
    if (definition.resumesExecutions) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
          resources: [stateMachineArn],
        }),
      );
    }

    acknowledgeFinding(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'Resource "*" is only on xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing), which support no resource-level permissions.',
    );
    if (consumedQueue(name) !== undefined) {
      acknowledgeFinding(
        fn,
        'Serverless-LambdaEventSourceMappingDestination',
        `${definition.id} reads an SQS queue: on-failure destinations exist only for stream and Kafka sources; a message that keeps failing goes to the queue's own redrive dead-letter queue.`,
      );
    }
    return fn;
  }

  private environmentFor(
    definition: FunctionDefinition,
    storage: Storage,
    ingest: EventIngest,
  ): Record<string, string> {
    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: serviceName(definition),
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    for (const { table } of definition.tables) environment[table.envVar] = storage.table(table).tableName;
    if (definition.putsEvents) environment[ENV.eventBusName] = ingest.bus.eventBusName;
    if (definition.triggersDispatch)
      environment[ENV.dispatchQueueUrl] = ingest.queues.dispatch.queue.queueUrl;
    if (definition.pseudonymises && this.pseudonymKey !== undefined) {
      // Only where to find it: the handler reads the key at run time (lambdas/shared/pseudonymise.ts).
      environment[ENV.pseudonymKeySecretId] = this.pseudonymKey.secretArn;
      if (this.personalData !== undefined) environment[PERSONAL_DATA_ENV] = JSON.stringify(this.personalData);
    }
    // STATE_MACHINE_ARN is added once the state machine exists (constructor).
    return environment;
  }

  /** A value for every placeholder PROCESS_INSTANCE declares. */
  private substitutions(storage: Storage, ingest: EventIngest): Record<string, string> {
    const values: Record<string, string> = {
      [AUDIT_TABLE.placeholder]: storage.table(AUDIT_TABLE).tableName,
      [INSTANCES_TABLE.placeholder]: storage.table(INSTANCES_TABLE).tableName,
      [FEATURES_TABLE.placeholder]: storage.table(FEATURES_TABLE).tableName,
      EventBusName: ingest.bus.eventBusName,
      DispatchQueueUrl: ingest.queues.dispatch.queue.queueUrl,
    };
    for (const [name, definition] of Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][]) {
      if (definition.placeholder !== undefined)
        values[definition.placeholder] = this.functions[name].functionArn;
    }
    const missing = PROCESS_INSTANCE.placeholders.filter((placeholder) => !(placeholder in values));
    if (missing.length > 0) {
      throw new Error(
        `ProcessOrchestration has no value for placeholder(s) ${missing.join(', ')} declared in PROCESS_INSTANCE; map each to a resource in ProcessOrchestration.substitutions().`,
      );
    }
    return Object.fromEntries(
      PROCESS_INSTANCE.placeholders.map((placeholder) => [placeholder, values[placeholder] as string]),
    );
  }

  /** Explicit IAM for every service integration of the ASL, on the exact resources. */
  private grantIntegrations(storage: Storage, ingest: EventIngest): void {
    const taskFunctions = (Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][])
      .filter(([, definition]) => definition.placeholder !== undefined)
      .map(([name]) => this.functions[name].functionArn);
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: taskFunctions }),
    );
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [ingest.queues.dispatch.queue.queueArn],
      }),
    );
    ingest.grantQueueKey(this.stateMachine);
    ingest.grantPutEvents(this.stateMachine);
    // Only the tables the ASL can name (those whose placeholder PROCESS_INSTANCE declares), and
    // on each only the actions its DynamoDB tasks use: the Release Capacity transaction
    // (aws-sdk:dynamodb:transactWriteItems) has no IAM action of its own, DynamoDB authorises each
    // of its Updates as dynamodb:UpdateItem on that item's table.
    const declared: readonly string[] = PROCESS_INSTANCE.placeholders;
    const needed = dynamoDbActionsByPlaceholder(this.definitionText);
    for (const table of TABLES.filter((candidate) => declared.includes(candidate.placeholder))) {
      const actions = needed.get(table.placeholder) ?? [];
      if (actions.length > 0) storage.grantActions(this.stateMachine, table, [...actions], true);
    }
  }
}

const DLQ_SCOPE =
  'a Lambda dead-letter queue only ever receives failed asynchronous invocations, and this function is never invoked asynchronously.';

function isRuleTarget(name: FunctionName): boolean {
  return [...Object.values(RULES), ...Object.values(INBOUND_RULES)].some(
    (rule) => rule.target.kind === 'function' && rule.target.fn === name,
  );
}

function consumedQueue(name: FunctionName): QueueName | undefined {
  return (Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]).find(
    ([, definition]) => definition.consumer === name,
  )?.[0];
}

/** How a function that is not a rule target is invoked, in words, for its acknowledgement. */
function invocationKind(name: FunctionName): string {
  const queue = consumedQueue(name);
  if (queue !== undefined) {
    return `invoked by the SQS event source mapping of ${QUEUES[queue].id} (messages that keep failing go to its redrive DLQ)`;
  }
  if ('placeholder' in FUNCTIONS[name]) {
    return 'invoked synchronously by the ProcessInstance state machine, whose Retry and Catch handle every failure';
  }
  return 'invoked synchronously only (an API Gateway proxy integration answers the caller with any failure)';
}

/**
 * Service name in logs, traces and metrics: `flowtune-<handler folder>`, the name the handlers'
 * Powertools instances use (lambdas/shared/observability.ts), so both always agree.
 */
function serviceName(definition: FunctionDefinition): string {
  return `flowtune-${definition.entry.split('/').at(-2) ?? definition.id}`;
}

function resolveDefinitionFile(file: string): string {
  return isAbsolute(file) ? file : join(PROJECT_ROOT, file);
}

/**
 * Every `${Placeholder}` the ASL uses must have a value: CloudFormation would otherwise deploy
 * the literal text and the execution would fail at the first task that reaches it.
 */
function checkPlaceholders(asl: string, file: string, provided: readonly string[]): void {
  const used = new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((match) => match[1] as string));
  const unknown = [...used].filter((placeholder) => !provided.includes(placeholder));
  if (unknown.length > 0) {
    throw new Error(
      `${file} uses placeholder(s) ${unknown.join(', ')} that PROCESS_INSTANCE.placeholders (lib/definitions/state-machines.ts) does not declare; declare them there and map them in ProcessOrchestration.`,
    );
  }
}

/** `arn:...:execution:<machine>:*` for `arn:...:stateMachine:<machine>`: any execution of that machine. */
function executionArnPattern(stateMachineArn: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:*`;
}
