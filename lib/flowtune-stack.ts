import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EventIngest } from './constructs/event-ingest';
import type { FunctionFactory } from './constructs/function-factory';
import { Observability } from './constructs/observability';
import { ProcessOrchestration } from './constructs/process-orchestration';
import { Storage } from './constructs/storage';
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

/**
 * What each emulator cannot provision, found by deploying there (MiniStack 1.5.33 rejects the
 * template with "Unrecognized resource types: AWS::EventSchemas::Registry,
 * AWS::EventSchemas::Schema, AWS::Events::Archive").
 */
export const EMULATOR_GAPS: Readonly<
  Record<Emulator, { readonly archive: boolean; readonly schemaRegistry: boolean }>
> = {
  ministack: { archive: false, schemaRegistry: false },
};

/**
 * Flowtune on AWS: events in through EventIngest, one Step Functions execution per work item in
 * ProcessOrchestration, state in Storage, and Observability over all of it. Composition only;
 * every resource detail lives in its capability construct.
 */
export class FlowtuneStack extends Stack {
  readonly ingest: EventIngest;
  readonly storage: Storage;
  readonly orchestration: ProcessOrchestration;
  readonly observability: Observability;

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
    });
    this.ingest.bindFunctions((name) => this.orchestration.functions[name]);

    this.observability = new Observability(this, 'Observability', {
      stateMachine: this.orchestration.stateMachine,
      functions: this.orchestration.functionList().map(({ label, fn }) => ({ label, resource: fn })),
      queues: Object.values(this.ingest.queues).map((entry) => ({
        label: entry.definition.id,
        resource: entry.queue,
      })),
      deadLetterQueues: [
        ...this.ingest.deadLetterQueues().map(({ label, queue }) => ({ label, resource: queue })),
        { label: 'Function async failures', resource: this.orchestration.asyncFailureQueue },
      ],
      rules: this.ingest.metricKeys(),
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
  }
}
