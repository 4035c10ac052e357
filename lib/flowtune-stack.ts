import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type AslDocument, definitionUsage, PROCESS_PATHS } from '../domain/ops/cost-model';
import { Allocation } from './constructs/allocation';
import { Connector } from './constructs/connector';
import { EventIngest } from './constructs/event-ingest';
import type { FunctionFactory } from './constructs/function-factory';
import { Observability } from './constructs/observability';
import { OpsApi } from './constructs/ops-api';
import { ProcessOrchestration } from './constructs/process-orchestration';
import { Storage } from './constructs/storage';
import { Tuning } from './constructs/tuning';
import { TABLES } from './definitions';

export interface FlowtuneStackProps extends StackProps {
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
   * A LocalStack-compatible emulator the stack is deployed to: resource types it cannot
   * provision are left out (see EMULATOR_GAPS). Set from the `flowtune:emulator` context.
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
 */
export class FlowtuneStack extends Stack {
  readonly ingest: EventIngest;
  readonly storage: Storage;
  readonly orchestration: ProcessOrchestration;
  readonly observability: Observability;
  readonly opsApi: OpsApi;
  readonly tuning: Tuning;
  readonly allocation: Allocation;

  constructor(scope: Construct, id: string, props: FlowtuneStackProps = {}) {
    super(scope, id, props);

    this.storage = new Storage(this, 'Storage', {
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const supported = props.emulator === undefined ? undefined : EMULATOR_GAPS[props.emulator];
    this.ingest = new EventIngest(this, 'EventIngest', {
      archive: supported?.archive ?? true,
      schemaRegistry: supported?.schemaRegistry ?? true,
    });
    this.orchestration = new ProcessOrchestration(this, 'ProcessOrchestration', {
      storage: this.storage,
      ingest: this.ingest,
      functionFactory: props.functionFactory,
      definitionFile: props.processDefinitionFile,
      scheduledFunctions: ['opsApi'],
    });
    this.ingest.bindFunctions((name) => this.orchestration.functions[name]);

    this.opsApi = new OpsApi(this, 'OpsApi', {
      handler: this.orchestration.functions.opsApi,
      logsKey: this.orchestration.logsKey,
      scheduleDeadLetterQueue: this.orchestration.asyncFailureQueue,
    });

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
    });

    if (supported?.stateMachineVersions ?? true) {
      this.orchestration.publishBehindAlias({ alarms: this.observability.rolloutAlarms });
    }

    this.tuning = new Tuning(this, 'Tuning', {
      storage: this.storage,
      ingest: this.ingest,
      logsKey: this.orchestration.logsKey,
      functionFactory: props.functionFactory,
      alarmTopic: this.observability.alarmTopic,
    });
    // People approve or reject the tuning loop's held changes through the ops API.
    this.tuning.grantResumeApprovals(this.orchestration.functions.opsApi);

    this.allocation = new Allocation(this, 'Allocation', {
      storage: this.storage,
      ingest: this.ingest,
      logsKey: this.orchestration.logsKey,
      functionFactory: props.functionFactory,
      alarmTopic: this.observability.alarmTopic,
    });

    // Only when the context names an executing system to call (-c flowtune:connectorEndpoint=https://...).
    Connector.fromContext(this, 'Connector', {
      storage: this.storage,
      ingest: this.ingest,
      logsKey: this.orchestration.logsKey,
      functionFactory: props.functionFactory,
      alarmTopic: this.observability.alarmTopic,
    });

    this.addOutputs();
  }

  /** What the deployed test suite and operators read (`cdk deploy --outputs-file`). */
  private addOutputs(): void {
    new CfnOutput(this, 'EventBusName', { value: this.ingest.bus.eventBusName });
    new CfnOutput(this, 'StateMachineArn', { value: this.orchestration.stateMachine.stateMachineArn });
    for (const table of TABLES) {
      new CfnOutput(this, `${table.id}TableName`, { value: this.storage.table(table).tableName });
    }
    for (const entry of Object.values(this.ingest.queues)) {
      new CfnOutput(this, `${entry.definition.id}Url`, { value: entry.queue.queueUrl });
      new CfnOutput(this, `${entry.definition.id}DeadLetterQueueUrl`, {
        value: entry.deadLetterQueue.queueUrl,
      });
    }
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', {
      value: this.ingest.deliveryDeadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'AsyncFailureQueueUrl', { value: this.orchestration.asyncFailureQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    if (this.ingest.schemaRegistry !== undefined) {
      new CfnOutput(this, 'SchemaRegistryName', { value: this.ingest.schemaRegistry.attrRegistryName });
    }
    for (const { label, fn } of this.orchestration.functionList()) {
      new CfnOutput(this, `${label}FunctionName`, { value: fn.functionName });
    }
    new CfnOutput(this, 'OpsApiUrl', {
      value: this.opsApi.url,
      description: 'Operations API (IAM-authorised): flowtune ops <subcommand> --outputs <this file>',
    });
    new CfnOutput(this, 'OpsApiId', { value: this.opsApi.api.restApiId });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    if (this.orchestration.alias !== undefined) {
      new CfnOutput(this, 'StateMachineAliasArn', { value: this.orchestration.alias.ref });
    }
    new CfnOutput(this, 'TuningStateMachineArn', { value: this.tuning.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TuningAsyncFailureQueueUrl', { value: this.tuning.asyncFailureQueue.queueUrl });
    for (const { label, fn } of this.tuning.functionList()) {
      new CfnOutput(this, `${label}FunctionName`, { value: fn.functionName });
    }
  }
}
