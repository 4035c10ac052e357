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
}

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
    this.ingest = new EventIngest(this, 'EventIngest');
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
    new CfnOutput(this, 'SchemaRegistryName', { value: this.ingest.schemaRegistry.attrRegistryName });
    for (const { label, fn } of this.orchestration.functionList()) {
      new CfnOutput(this, `${label}FunctionName`, { value: fn.functionName });
    }
  }
}
