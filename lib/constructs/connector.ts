import { Annotations, Aws, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { type EventPattern as CdkEventPattern, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunctionResource } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CONNECTOR_CONTEXT,
  CONNECTOR_ENV,
  CONNECTOR_FUNCTIONS,
  CONNECTOR_RULES,
  DEFAULT_CONNECTOR_AUTH_HEADER,
  DEFAULT_CONNECTOR_NAME,
  IDEMPOTENCY_TABLE,
} from '../definitions/connectors';
import { acknowledgeFinding } from '../nag';
import type { CapabilityProps } from './capability-props';
import { createDeadLetterQueue } from './dead-letter-queue';
import { BundledFunctionFactory } from './function-factory';

/** The item actions Powertools idempotency uses: read a record, claim it, complete it, drop a failed one. */
const IDEMPOTENCY_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

/** DynamoDB calls KMS with the caller's credentials for a table under a customer-managed key. */
const KEY_WRITE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];

/** A name that is safe in logs, metric dimensions and alarm descriptions. */
const SYSTEM_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

/** Headers the connector sets itself: the credential must not replace them. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'idempotency-key', 'host']);

export interface ConnectorProps extends CapabilityProps {
  /** https URL of the executing system; it receives each decision as a POSTed ConnectorDelivery. */
  readonly endpoint: string;
  /**
   * The executing system's name, for logs, metrics, the circuit breaker and the alarm.
   *
   * @default DEFAULT_CONNECTOR_NAME
   */
  readonly systemName?: string;
  /**
   * The HTTP header the system expects its credential in (the value is kept in the
   * ConnectorCredential secret).
   *
   * @default DEFAULT_CONNECTOR_AUTH_HEADER
   */
  readonly authHeader?: string;
}

/**
 * The connector on AWS: routing decisions for automation agents (CONNECTOR_RULES.automationRouted
 * on the bus) delivered by the connector Lambda (lambdas/connector/handler.ts) to one executing
 * system over HTTPS, once per item and attempt (Powertools idempotency records in their own
 * table, under the tables' KMS key), with retries, a circuit breaker and a dead-letter queue for
 * deliveries the system could not take in time, alarmed on and redriven by replay onto the bus
 * (docs/redrive.md). The function may use its idempotency table and nothing else of Flowtune.
 *
 * Optional: `Connector.fromContext` builds it only when the CDK context names an endpoint.
 *
 * @example
 * new Connector(stack, 'Connector', { storage, ingest, logsKey, endpoint: 'https://rpa.example.com/flowtune', systemName: 'rpa' });
 */
export class Connector extends Construct {
  /**
   * The connector when the context key `flowtune:connectorEndpoint` is set (with the optional
   * `flowtune:connectorName`); otherwise nothing is built and synth says so once, as information.
   *
   * @example
   * // cdk synth -c flowtune:connectorEndpoint=https://rpa.example.com/flowtune -c flowtune:connectorName=rpa
   * Connector.fromContext(this, 'Connector', { storage, ingest, logsKey, alarmTopic });
   */
  static fromContext(scope: Construct, id: string, props: CapabilityProps): Connector | undefined {
    const endpoint: unknown = scope.node.tryGetContext(CONNECTOR_CONTEXT.endpoint);
    const systemName: unknown = scope.node.tryGetContext(CONNECTOR_CONTEXT.name);
    const authHeader: unknown = scope.node.tryGetContext(CONNECTOR_CONTEXT.authHeader);
    if (endpoint === undefined || endpoint === '') {
      Annotations.of(scope).addInfo(
        `No connector: automation routing decisions are published as WorkItemRouted events only. To deliver them to an executing system by direct call, set -c ${CONNECTOR_CONTEXT.endpoint}=https://... (and -c ${CONNECTOR_CONTEXT.name}=<system>).`,
      );
      return undefined;
    }
    if (typeof endpoint !== 'string') {
      throw new Error(
        `Context ${CONNECTOR_CONTEXT.endpoint} must be an https URL string; got ${JSON.stringify(endpoint)}.`,
      );
    }
    if (systemName !== undefined && typeof systemName !== 'string') {
      throw new Error(
        `Context ${CONNECTOR_CONTEXT.name} must be a string; got ${JSON.stringify(systemName)}.`,
      );
    }
    if (authHeader !== undefined && typeof authHeader !== 'string') {
      throw new Error(
        `Context ${CONNECTOR_CONTEXT.authHeader} must be an HTTP header name; got ${JSON.stringify(authHeader)}.`,
      );
    }
    return new Connector(scope, id, {
      ...props,
      endpoint,
      ...(systemName === undefined ? {} : { systemName }),
      ...(authHeader === undefined ? {} : { authHeader }),
    });
  }

  readonly fn: LambdaFunctionResource;
  readonly idempotencyTable: Table;
  readonly rule: Rule;
  /** Deliveries that failed every retry of the asynchronous invocation (the system stayed down). */
  readonly asyncFailureQueue: Queue;
  readonly deadLetterAlarm: Alarm;
  /**
   * The header value the executing system expects (e.g. `Bearer <token>`), put in by an operator;
   * blank (as created) means the system needs none. Read by the function at run time only.
   */
  readonly credential: Secret;
  readonly endpoint: string;
  readonly systemName: string;
  readonly authHeader: string;

  constructor(scope: Construct, id: string, props: ConnectorProps) {
    super(scope, id);
    const { storage, ingest } = props;
    this.endpoint = validEndpoint(props.endpoint);
    this.systemName = validSystemName(props.systemName ?? DEFAULT_CONNECTOR_NAME);
    this.authHeader = validAuthHeader(props.authHeader ?? DEFAULT_CONNECTOR_AUTH_HEADER);
    const definition = CONNECTOR_FUNCTIONS.connector;
    const factory = props.functionFactory ?? new BundledFunctionFactory();
    const stackName = Stack.of(this).stackName;

    this.idempotencyTable = new Table(this, IDEMPOTENCY_TABLE.id, {
      partitionKey: { name: IDEMPOTENCY_TABLE.partitionKey.name, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: storage.key,
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: IDEMPOTENCY_TABLE.pointInTimeRecovery,
      },
      timeToLiveAttribute: IDEMPOTENCY_TABLE.timeToLiveAttribute,
      // Records only answer duplicates for a while; nothing in them is worth keeping past the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.asyncFailureQueue = createDeadLetterQueue(this, 'ConnectorAsyncFailureQueue', {
      fifo: false,
      retentionPeriod: Duration.days(14),
      ...(ingest.key === undefined ? {} : { encryptionKey: ingest.key }),
    });

    // Under the config key, as the stack's other secret (PseudonymKey).
    this.credential = new Secret(this, 'ConnectorCredential', {
      description: `Flowtune connector: the ${this.authHeader} header value ${this.systemName} expects, e.g. "Bearer <token>". Blank (as created) sends no credential, for a system that needs none. Read at run time, cached up to 5 minutes; a 401/403 forces a fresh read.`,
      // Secrets Manager refuses an empty value; a single space is blank: no credential is sent.
      secretStringValue: SecretValue.unsafePlainText(' '),
      // The credential was issued by the executing system; a stack update must not lose it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    storage.encryptSecret(this.credential);
    acknowledgeFinding(
      this.credential,
      'AwsSolutions-SMG4',
      'The connector credential is issued by the external executing system, which Secrets Manager cannot rotate: rotate it there and put the new value in this secret.',
    );

    const role = new Role(this, `${definition.id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Flowtune ${definition.id}: exactly the access its definition in lib/definitions/connectors.ts declares`,
    });
    const logGroup = new LogGroup(this, `${definition.id}Logs`, {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      encryptionKey: props.logsKey,
    });
    logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: IDEMPOTENCY_ACTIONS, resources: [this.idempotencyTable.tableArn] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: KEY_WRITE_ACTIONS,
        resources: [storage.key.keyArn],
        // Only through DynamoDB, as for every table under this key.
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
    );

    // GetSecretValue on this secret only (DescribeSecret is not needed), decrypted through Secrets Manager.
    storage.grantReadSecret(role, this.credential);
    // The function sends to its DLQ itself (a misconfigured delivery) and Lambda does (async failures).
    ingest.grantQueueKey(role);

    this.fn = factory.createFunction(this, definition.id, {
      description: definition.description,
      entry: definition.entry,
      role,
      memorySize: definition.memorySize,
      timeout: Duration.seconds(definition.timeoutSeconds),
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'flowtune-connector',
        POWERTOOLS_METRICS_NAMESPACE: 'Flowtune',
        [CONNECTOR_ENV.idempotencyTable]: this.idempotencyTable.tableName,
        [CONNECTOR_ENV.endpoint]: this.endpoint,
        [CONNECTOR_ENV.name]: this.systemName,
        [CONNECTOR_ENV.credentialSecretArn]: this.credential.secretArn,
        [CONNECTOR_ENV.authHeader]: this.authHeader,
        [CONNECTOR_ENV.deadLetterQueueUrl]: this.asyncFailureQueue.queueUrl,
      },
      environmentKey: storage.configKey,
      concurrency: definition.concurrency,
      deadLetterQueue: this.asyncFailureQueue,
    });
    acknowledgeFinding(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'Resource "*" is only on xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing), which support no resource-level permissions.',
    );

    const routed = CONNECTOR_RULES.automationRouted;
    this.rule = new Rule(this, routed.id, {
      ruleName: `${stackName}-${routed.id}`,
      eventBus: ingest.bus,
      description: routed.description,
      // Verbatim from lib/definitions/connectors.ts: the local router matches with the same object.
      eventPattern: routed.pattern as CdkEventPattern,
      targets: [
        // The retry policy and DLQ of every rule target of EventIngest.
        new LambdaFunction(this.fn, {
          deadLetterQueue: ingest.deliveryDeadLetterQueue,
          retryAttempts: 10,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `Routing decisions could not be delivered to ${this.systemName} after every retry (system down or circuit open): once it is back, redrive the ConnectorDeadLetterQueueUrl queue onto the bus (docs/redrive.md).`,
      metric: this.asyncFailureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic !== undefined) this.deadLetterAlarm.addAlarmAction(new SnsAction(props.alarmTopic));

    // Fixed output names, so `cdk deploy --outputs-file` keys do not depend on the construct path.
    new CfnOutput(this, 'ConnectorFunctionName', { value: this.fn.functionName }).overrideLogicalId(
      'ConnectorFunctionName',
    );
    new CfnOutput(this, 'ConnectorDeadLetterQueueUrl', {
      value: this.asyncFailureQueue.queueUrl,
      description: `Deliveries to ${this.systemName} that failed every retry; redrive: npm run redrive -- --queue <this> --bus <EventBusName>`,
    }).overrideLogicalId('ConnectorDeadLetterQueueUrl');
    new CfnOutput(this, 'ConnectorCredentialSecretArn', {
      value: this.credential.secretArn,
      description: `Put the ${this.authHeader} header value ${this.systemName} expects: aws secretsmanager put-secret-value --secret-id <this> --secret-string 'Bearer ...'`,
    }).overrideLogicalId('ConnectorCredentialSecretArn');
  }
}

function validAuthHeader(header: string): string {
  if (!HEADER_NAME.test(header) || RESERVED_HEADERS.has(header.toLowerCase())) {
    throw new Error(
      `Connector credential header ${JSON.stringify(header)} must be an HTTP header name other than ${[...RESERVED_HEADERS].join(', ')}; set -c ${CONNECTOR_CONTEXT.authHeader}=<header>, e.g. Authorization or X-Api-Key.`,
    );
  }
  return header;
}

function validEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(
      `Connector endpoint ${JSON.stringify(endpoint)} is not a URL; give the executing system's https URL, e.g. -c ${CONNECTOR_CONTEXT.endpoint}=https://rpa.example.com/flowtune.`,
    );
  }
  if (url.protocol !== 'https:') {
    throw new Error(
      `Connector endpoint ${JSON.stringify(endpoint)} must use https (decisions leave the account); got ${url.protocol.replace(':', '')}.`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new Error(
      `Connector endpoint must not carry credentials (it is stored in the function's environment); remove the user:password@ part of ${url.host}.`,
    );
  }
  return endpoint;
}

function validSystemName(name: string): string {
  if (!SYSTEM_NAME.test(name)) {
    throw new Error(
      `Connector system name ${JSON.stringify(name)} must be 1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit; set -c ${CONNECTOR_CONTEXT.name}=<system>.`,
    );
  }
  return name;
}
