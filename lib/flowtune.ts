import { CfnOutput, type CfnOutputProps, type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { EventBus } from 'aws-cdk-lib/aws-events';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type AslDocument, definitionUsage, PROCESS_PATHS } from '../domain/ops/cost-model';
import type { PersonalDataRules } from '../domain/personal-data';
import { Allocation } from './constructs/allocation';
import { Connector, type ConnectorProps } from './constructs/connector';
import { EventIngest, type ProducerAccess } from './constructs/event-ingest';
import type { FunctionFactory } from './constructs/function-factory';
import { Observability } from './constructs/observability';
import { OpsApi } from './constructs/ops-api';
import { ProcessOrchestration } from './constructs/process-orchestration';
import { Storage } from './constructs/storage';
import { Tuning } from './constructs/tuning';
import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE, TABLES } from './definitions';

/** The executing system the connector calls directly (see ConnectorProps). */
export type FlowtuneConnectorProps = Pick<ConnectorProps, 'endpoint' | 'systemName' | 'authHeader'>;

/**
 * Everything a deployment of Flowtune can set; every prop is optional.
 *
 * @example
 * new Flowtune(this, 'Flowtune', {
 *   alarmTopic: opsTopic,
 *   connector: { endpoint: 'https://rpa.example.com/flowtune', systemName: 'rpa' },
 * });
 */
export interface FlowtuneProps {
  /**
   * Builds the Lambda functions; infra tests pass a `TestFunctionFactory` to skip bundling.
   *
   * @default new BundledFunctionFactory()
   */
  readonly functionFactory?: FunctionFactory;
  /**
   * The process-instance ASL, relative to the project root or absolute.
   *
   * @default PROCESS_INSTANCE.file
   */
  readonly processDefinitionFile?: string;
  /**
   * What happens to the Features and Instances tables when the stack is deleted (Audit is always kept).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Retention of every Flowtune log group (functions, state machines, API access logs).
   *
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * How long the archive keeps inbound events for replay.
   *
   * @default Duration.days(365)
   */
  readonly archiveRetention?: Duration;
  /**
   * What in a producer's event detail is personal data, as JSON paths (`$..customerId` at any
   * depth, `$.attributes.Email` exactly, `$.attributes.*` every child): `fields` are replaced by
   * their pseudonyms as a whole, strings under `scanned` lose their email- and phone-shaped parts
   * to pseudonyms. Given to every function that pseudonymises (docs/reliability.md, "Personal data").
   *
   * @default DEFAULT_PERSONAL_DATA: customerId, email, phone and customerName anywhere, and every
   * string of the detail scanned
   */
  readonly personalData?: PersonalDataRules;
  /**
   * Where every Flowtune alarm notifies (an existing operations topic, for instance).
   *
   * @default - a new KMS-encrypted topic, `alarmTopic`
   */
  readonly alarmTopic?: ITopic;
  /**
   * Minutes between two tuning cycles (drift, experiments, promotion).
   *
   * @default TUNING_SCHEDULE.rateMinutes
   */
  readonly tuningCycleMinutes?: number;
  /**
   * Minutes between two allocation runs (forecast, staffing, moves).
   *
   * @default ALLOCATION_SCHEDULE.rateMinutes
   */
  readonly allocationRateMinutes?: number;
  /**
   * The executing system routing decisions are delivered to by direct call.
   *
   * @default - read from the CDK context (`flowtune:connectorEndpoint`, `flowtune:connectorName`,
   * `flowtune:connectorAuthHeader`); none when the context names no endpoint
   */
  readonly connector?: FlowtuneConnectorProps;
  /**
   * Producers in other AWS accounts (account ids, or an AWS Organization id) allowed to put the
   * inbound detail-types on the bus, through its resource policy.
   *
   * @default - none: only principals of this account granted with `grantPutEvents`
   */
  readonly producers?: ProducerAccess;
  /**
   * A LocalStack-compatible emulator the stack is deployed to: resource types it cannot
   * provision are left out (see EMULATOR_GAPS).
   *
   * @default - real AWS: everything is deployed
   */
  readonly emulator?: Emulator;
}

/** Emulators Flowtune deploys to for its deployed test suite. */
export const EMULATORS = ['ministack'] as const;
export type Emulator = (typeof EMULATORS)[number];

/** What the stack can leave out on an emulator; `false` means "cannot be provisioned there". */
export interface EmulatorSupport {
  readonly archive: boolean;
  readonly schemaRegistry: boolean;
  /** AWS::StepFunctions::StateMachineVersion and StateMachineAlias (safe rollout). */
  readonly stateMachineVersions: boolean;
  /** CloudWatch alarms on metric math (anomaly detection bands). */
  readonly anomalyDetectionAlarms: boolean;
}

/**
 * What each emulator cannot provision, found by deploying there (MiniStack 1.5.33 rejects the
 * template with "Unrecognized resource types: AWS::EventSchemas::Registry,
 * AWS::EventSchemas::Schema, AWS::Events::Archive", the same for
 * AWS::StepFunctions::StateMachineVersion and StateMachineAlias, and fails an alarm with
 * "Properties.Metrics (metric math) is not supported").
 */
export const EMULATOR_GAPS: Readonly<Record<Emulator, EmulatorSupport>> = {
  ministack: {
    archive: false,
    schemaRegistry: false,
    stateMachineVersions: false,
    anomalyDetectionAlarms: false,
  },
};

/** Events per item besides those the definition publishes: WorkItemCreated and WorkItemCompleted. */
const INBOUND_EVENTS_PER_ITEM = 2;

/**
 * Flowtune on AWS: events in through EventIngest, one Step Functions execution per work item in
 * ProcessOrchestration, state in Storage, Observability over all of it, and the OpsApi for the
 * people in the loop; workflow changes roll out through a canary alias watched by the business
 * alarms. Composition only; every resource detail lives in its capability construct.
 *
 * One per stack: its rules and outputs carry fixed names (the ops CLI and the deployed suite read
 * the outputs by name), so a second one in the same stack fails at synth.
 *
 * @example
 * import { Flowtune } from 'flowtune';
 * const flowtune = new Flowtune(this, 'Flowtune', { alarmTopic });
 * flowtune.grantPutEvents(helpdeskRole);
 */
export class Flowtune extends Construct {
  /**
   * Flowtune's bus: consumers read Flowtune's decisions here, and producers' events after the
   * ingress pseudonymised them (what its archive keeps).
   */
  readonly bus: EventBus;
  /** Where producers put their events (`grantPutEvents`, `producers`): output InboundEventBusName. */
  readonly inboundBus: EventBus;
  /** The Features, Instances and Audit tables. */
  readonly tables: { readonly features: ITable; readonly instances: ITable; readonly audit: ITable };
  /** The operations API (IAM-authorised). */
  readonly api: RestApi;
  /** The process-instance state machine (one Standard execution per work item). */
  readonly stateMachine: StateMachine;
  /** Where every alarm notifies (the `alarmTopic` prop, or the topic created for it). */
  readonly alarmTopic: ITopic;
  /** The connector, when one is configured. */
  readonly connector?: Connector;
  readonly ingest: EventIngest;
  readonly storage: Storage;
  readonly orchestration: ProcessOrchestration;
  readonly observability: Observability;
  readonly opsApi: OpsApi;
  readonly tuning: Tuning;
  readonly allocation: Allocation;

  constructor(scope: Construct, id: string, props: FlowtuneProps = {}) {
    super(scope, id);

    this.storage = new Storage(this, 'Storage', {
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const supported = props.emulator === undefined ? undefined : EMULATOR_GAPS[props.emulator];
    this.ingest = new EventIngest(this, 'EventIngest', {
      archive: supported?.archive ?? true,
      schemaRegistry: supported?.schemaRegistry ?? true,
      archiveRetention: props.archiveRetention,
      producers: props.producers,
    });
    this.orchestration = new ProcessOrchestration(this, 'ProcessOrchestration', {
      storage: this.storage,
      ingest: this.ingest,
      functionFactory: props.functionFactory,
      definitionFile: props.processDefinitionFile,
      logRetention: props.logRetention,
      scheduledFunctions: ['opsApi'],
      personalData: props.personalData,
    });
    this.ingest.bindFunctions((name) => this.orchestration.functions[name]);

    this.opsApi = new OpsApi(this, 'OpsApi', {
      handler: this.orchestration.functions.opsApi,
      logsKey: this.orchestration.logsKey,
      scheduleDeadLetterQueue: this.orchestration.asyncFailureQueue,
      logRetention: props.logRetention,
    });
    // The schedule's dead letters go to a queue under the ingest key.
    this.ingest.grantQueueKey(this.opsApi.snapshotScheduleRole);

    const mainPath = definitionUsage(
      JSON.parse(this.orchestration.definitionText) as AslDocument,
      PROCESS_PATHS.routing,
    );
    this.observability = new Observability(this, 'Observability', {
      stateMachine: this.orchestration.stateMachine,
      functions: this.orchestration
        .functionList()
        .map(({ label, fn, memoryMb }) => ({ label, resource: fn, memoryMb })),
      queues: Object.values(this.ingest.queues).map((entry) => ({
        label: entry.definition.id,
        resource: entry.queue,
        fifo: entry.definition.fifo,
      })),
      deadLetterQueues: [
        ...this.ingest.deadLetterQueues().map(({ label, queue }) => ({ label, resource: queue })),
        { label: 'Function async failures', resource: this.orchestration.asyncFailureQueue },
      ],
      rules: this.ingest.metricKeys(),
      tables: TABLES.map((table) => ({ label: table.id, resource: this.storage.table(table) })),
      costModel: {
        transitionsPerItem: mainPath.stateTransitions,
        eventsPerItem: mainPath.eventsPublished + INBOUND_EVENTS_PER_ITEM,
      },
      anomalyDetectionAlarms: supported?.anomalyDetectionAlarms ?? true,
      alarmTopic: props.alarmTopic,
    });
    this.alarmTopic = this.observability.alarmTopic;

    if (supported?.stateMachineVersions ?? true) {
      this.orchestration.publishBehindAlias({ alarms: this.observability.rolloutAlarms });
    }

    const capability = {
      storage: this.storage,
      ingest: this.ingest,
      logsKey: this.orchestration.logsKey,
      functionFactory: props.functionFactory,
      logRetention: props.logRetention,
      alarmTopic: this.alarmTopic,
    };
    this.tuning = new Tuning(this, 'Tuning', { ...capability, cycleMinutes: props.tuningCycleMinutes });
    // People approve or reject the tuning loop's held changes through the ops API.
    this.tuning.grantResumeApprovals(this.orchestration.functions.opsApi);

    this.allocation = new Allocation(this, 'Allocation', {
      ...capability,
      rateMinutes: props.allocationRateMinutes,
    });

    // From the props, or else only when the context names an executing system to call
    // (-c flowtune:connectorEndpoint=https://...).
    this.connector =
      props.connector === undefined
        ? Connector.fromContext(this, 'Connector', capability)
        : new Connector(this, 'Connector', { ...capability, ...props.connector });

    this.bus = this.ingest.bus;
    this.inboundBus = this.ingest.inboundBus;
    this.stateMachine = this.orchestration.stateMachine;
    this.api = this.opsApi.api;
    this.tables = {
      features: this.storage.table(FEATURES_TABLE),
      instances: this.storage.table(INSTANCES_TABLE),
      audit: this.storage.table(AUDIT_TABLE),
    };

    this.addOutputs();
  }

  /**
   * Lets `principal` publish events to Flowtune's inbound bus (events:PutEvents on that bus only),
   * e.g. the role a same-account producer runs as.
   *
   * @example
   * flowtune.grantPutEvents(helpdeskFunction);
   */
  grantPutEvents(principal: IGrantable): void {
    this.ingest.grantProducerPutEvents(principal);
  }

  /**
   * What the deployed test suite and operators read (`cdk deploy --outputs-file`), under fixed
   * logical ids so the keys are the same wherever the construct sits in the tree.
   */
  private addOutputs(): void {
    this.output('EventBusName', { value: this.ingest.bus.eventBusName });
    this.output('InboundEventBusName', { value: this.ingest.inboundBus.eventBusName });
    this.output('StateMachineArn', { value: this.orchestration.stateMachine.stateMachineArn });
    for (const table of TABLES) {
      this.output(`${table.id}TableName`, { value: this.storage.table(table).tableName });
    }
    for (const entry of Object.values(this.ingest.queues)) {
      this.output(`${entry.definition.id}Url`, { value: entry.queue.queueUrl });
      this.output(`${entry.definition.id}DeadLetterQueueUrl`, {
        value: entry.deadLetterQueue.queueUrl,
      });
    }
    this.output('DeliveryDeadLetterQueueUrl', {
      value: this.ingest.deliveryDeadLetterQueue.queueUrl,
    });
    this.output('AsyncFailureQueueUrl', { value: this.orchestration.asyncFailureQueue.queueUrl });
    this.output('AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    if (this.ingest.schemaRegistry !== undefined) {
      this.output('SchemaRegistryName', { value: this.ingest.schemaRegistry.attrRegistryName });
    }
    for (const { label, fn } of this.orchestration.functionList()) {
      this.output(`${label}FunctionName`, { value: fn.functionName });
    }
    this.output('OpsApiUrl', {
      value: this.opsApi.url,
      description: 'Operations API (IAM-authorised): flowtune ops <subcommand> --outputs <this file>',
    });
    this.output('OpsApiId', { value: this.opsApi.api.restApiId });
    this.output('DashboardName', { value: this.observability.dashboard.dashboardName });
    if (this.orchestration.alias !== undefined) {
      this.output('StateMachineAliasArn', { value: this.orchestration.alias.ref });
    }
    this.output('TuningStateMachineArn', { value: this.tuning.stateMachine.stateMachineArn });
    this.output('TuningAsyncFailureQueueUrl', { value: this.tuning.asyncFailureQueue.queueUrl });
    for (const { label, fn } of this.tuning.functionList()) {
      this.output(`${label}FunctionName`, { value: fn.functionName });
    }
  }

  private output(id: string, props: CfnOutputProps): void {
    new CfnOutput(this, id, props).overrideLogicalId(id);
  }
}
