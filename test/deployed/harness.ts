import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionDoesNotExist,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { EventEnvelope, FLOWTUNE_SOURCE, type InboundDetailType } from '../../domain/events';
import { DynamoDbFeatureStore } from '../../lambdas/shared/dynamodb-feature-store';
import { AGENT_PK, StoredAgent, StoredInstance } from '../../lambdas/shared/table-layout';
import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE } from '../../lib/definitions';
import type { DeployedTarget } from './deployed-stack';

/** `source` of every event this suite puts on the bus: a producer, so the inbound rules match it. */
export const SUITE_SOURCE = 'flowtune.deployed-suite';

/** Loads a JSON fixture from test/deployed/events. */
export function fixture(name: string): Record<string, unknown> {
  return z
    .record(z.string(), z.unknown())
    .parse(JSON.parse(readFileSync(join(import.meta.dirname, 'events', `${name}.json`), 'utf8')));
}

/** Polls `probe` until it returns a value, or fails naming what it waited for and the last thing seen. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: {
    readonly timeoutMs?: number;
    readonly intervalMs?: number;
    readonly lastSeen?: () => unknown;
  } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const seen = options.lastSeen === undefined ? '' : `; last seen: ${JSON.stringify(options.lastSeen())}`;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}

/** An audit record as the tables hold it (attributes vary by kind; the key ones are typed). */
export const AuditItem = z
  .object({ itemId: z.string(), recordKey: z.string(), kind: z.string() })
  .catchall(z.unknown());
export type AuditItem = z.infer<typeof AuditItem>;

/** SDK clients bound to the deployed target, and the reads and writes the suite needs. */
export class DeployedFlowtune {
  readonly events: EventBridgeClient;
  readonly sfn: SFNClient;
  readonly sqs: SQSClient;
  readonly documents: DynamoDBDocumentClient;

  constructor(readonly target: DeployedTarget) {
    const config = { endpoint: target.endpoint, region: target.region, credentials: target.credentials };
    this.events = new EventBridgeClient(config);
    this.sfn = new SFNClient(config);
    // Queue URLs name the emulator's own host, which may differ from the endpoint's spelling.
    this.sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
    this.documents = DynamoDBDocumentClient.from(new DynamoDBClient(config), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  /**
   * Gives a category a handling-time history (count, mean, sum of squared deviations), written
   * through the stack's own FeatureStore adapter as outcomes would. Without history the model's
   * confidence is 0 and the policy sends every item to human review, by design.
   */
  async seedCategoryHistory(
    category: string,
    history: { readonly count: number; readonly meanSeconds: number; readonly stdDevSeconds: number },
  ): Promise<void> {
    const store = new DynamoDbFeatureStore({
      client: this.documents,
      featuresTable: this.target.outputs.featuresTable,
    });
    await store.updateHandlingStats({ scope: 'category', category }, () => ({
      count: history.count,
      mean: history.meanSeconds,
      m2: history.stdDevSeconds ** 2 * (history.count - 1),
    }));
  }

  /** Puts one inbound event on Flowtune's inbound bus, as a producing system would. */
  async putInbound(detailType: InboundDetailType, detail: unknown): Promise<void> {
    const result = await this.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.target.outputs.inboundEventBusName,
            Source: SUITE_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) {
      throw new Error(`PutEvents refused ${detailType}: ${JSON.stringify(result.Entries)}`);
    }
  }

  executionArn(itemId: string): string {
    return `${this.target.outputs.stateMachineArn.replace(':stateMachine:', ':execution:')}:${itemId}`;
  }

  /** The item's execution (named by the item id), or undefined while there is none. */
  async execution(itemId: string): Promise<DescribeExecutionCommandOutput | undefined> {
    try {
      return await this.sfn.send(new DescribeExecutionCommand({ executionArn: this.executionArn(itemId) }));
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) return undefined;
      throw error;
    }
  }

  /** Waits until the item's execution has stopped running, and returns it. */
  async finishedExecution(itemId: string, timeoutMs = 90_000): Promise<DescribeExecutionCommandOutput> {
    let last: string | undefined;
    return eventually(
      `the execution of ${itemId} to finish`,
      async () => {
        const execution = await this.execution(itemId);
        last = execution?.status;
        return execution !== undefined && execution.status !== 'RUNNING' ? execution : undefined;
      },
      { timeoutMs, lastSeen: () => last ?? 'no execution' },
    );
  }

  /**
   * What happened to an item so far, for a failure message: the execution's status, the states
   * it entered, the errors it met, and the audit kinds written.
   */
  async diagnose(itemId: string): Promise<string> {
    const execution = await this.execution(itemId);
    if (execution === undefined) {
      return `no execution named ${itemId}; audit: ${JSON.stringify((await this.auditTrail(itemId)).map((r) => r.kind))}`;
    }
    const { events } = await this.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: this.executionArn(itemId), maxResults: 1000 }),
    );
    const history = events ?? [];
    const entered = history.flatMap((event) => event.stateEnteredEventDetails?.name ?? []);
    const errors = history.flatMap(describeFailure);
    const audit = (await this.auditTrail(itemId)).map((record) => record.kind);
    return [
      `execution ${itemId}: ${execution.status}${execution.error === undefined ? '' : ` (${execution.error})`}`,
      `  states entered: ${entered.join(' → ')}`,
      ...errors.map((error) => `  ${error}`),
      `  audit: ${audit.join(', ')}`,
    ].join('\n');
  }

  /** Every execution of the process-instance state machine named `itemId`. */
  async executionsNamed(itemId: string): Promise<ExecutionListItem[]> {
    const found: ExecutionListItem[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: this.target.outputs.stateMachineArn, nextToken }),
      );
      found.push(...(page.executions ?? []).filter((execution) => execution.name === itemId));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return found;
  }

  /** The item's audit trail, oldest first (the sort key starts with the ISO time). */
  async auditTrail(itemId: string): Promise<AuditItem[]> {
    const result = await this.documents.send(
      new QueryCommand({
        TableName: this.target.outputs.auditTable,
        KeyConditionExpression: '#pk = :id',
        ExpressionAttributeNames: { '#pk': AUDIT_TABLE.partitionKey.name },
        ExpressionAttributeValues: { ':id': itemId },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map((item) => AuditItem.parse(item));
  }

  /** Waits for an audit record of `kind` on the item. */
  async auditRecord(itemId: string, kind: string, timeoutMs = 60_000): Promise<AuditItem> {
    let kinds: string[] = [];
    return eventually(
      `a ${kind} audit record for ${itemId}`,
      async () => {
        const trail = await this.auditTrail(itemId);
        kinds = trail.map((record) => record.kind);
        return trail.find((record) => record.kind === kind);
      },
      { timeoutMs, lastSeen: () => kinds },
    );
  }

  async instance(itemId: string): Promise<z.infer<typeof StoredInstance> | undefined> {
    const result = await this.documents.send(
      new GetCommand({
        TableName: this.target.outputs.instancesTable,
        Key: { [INSTANCES_TABLE.partitionKey.name]: itemId },
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? undefined : StoredInstance.parse(result.Item);
  }

  async agent(agentId: string): Promise<z.infer<typeof StoredAgent> | undefined> {
    const sortKey = FEATURES_TABLE.sortKey.name;
    const result = await this.documents.send(
      new GetCommand({
        TableName: this.target.outputs.featuresTable,
        Key: { [FEATURES_TABLE.partitionKey.name]: AGENT_PK, [sortKey]: agentId },
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? undefined : StoredAgent.parse(result.Item);
  }

  /** Messages waiting or in flight on the intake queue: zero once every delivered event was handled. */
  async intakeBacklog(): Promise<number> {
    const { Attributes } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.target.outputs.intakeQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }
}

function describeFailure(event: HistoryEvent): string[] {
  const failure =
    event.taskFailedEventDetails ??
    event.lambdaFunctionFailedEventDetails ??
    event.executionFailedEventDetails ??
    event.taskTimedOutEventDetails;
  if (failure === undefined) return [];
  return [`${event.type}: ${failure.error ?? ''} ${(failure.cause ?? '').slice(0, 600)}`];
}

/**
 * A queue of the suite's own, subscribed by a rule to everything Flowtune emits, so the tests
 * see the outbound events (WorkItemRouted, WorkItemRejected) as a consuming system would.
 * Created per run and deleted afterwards.
 */
export class OutboundObserver {
  private readonly received: EventEnvelope[] = [];

  private constructor(
    private readonly flowtune: DeployedFlowtune,
    private readonly name: string,
    private readonly queueUrl: string,
  ) {}

  static async subscribe(flowtune: DeployedFlowtune, runId: string): Promise<OutboundObserver> {
    const name = `flowtune-deployed-suite-${runId}`;
    const bus = flowtune.target.outputs.eventBusName;
    const { QueueUrl } = await flowtune.sqs.send(new CreateQueueCommand({ QueueName: name }));
    if (QueueUrl === undefined) throw new Error(`CreateQueue ${name} returned no URL`);
    const { Attributes } = await flowtune.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const queueArn = Attributes?.QueueArn;
    if (queueArn === undefined) throw new Error(`queue ${name} has no QueueArn`);
    const { RuleArn } = await flowtune.events.send(
      new PutRuleCommand({
        Name: name,
        EventBusName: bus,
        EventPattern: JSON.stringify({ source: [FLOWTUNE_SOURCE] }),
        Description: 'Deployed test suite: observes the events Flowtune emits',
      }),
    );
    // Endpoints that enforce IAM (and AWS itself) deliver only what the queue policy allows.
    await flowtune.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl,
        Attributes: {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: queueArn,
                Condition: { ArnEquals: { 'aws:SourceArn': RuleArn } },
              },
            ],
          }),
        },
      }),
    );
    await flowtune.events.send(
      new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: [{ Id: 'observer', Arn: queueArn }] }),
    );
    return new OutboundObserver(flowtune, name, QueueUrl);
  }

  /** Every outbound event received so far with this detail-type about this item. */
  seen(detailType: string, itemId: string): EventEnvelope[] {
    return this.received.filter(
      (event) =>
        event['detail-type'] === detailType &&
        typeof event.detail === 'object' &&
        event.detail !== null &&
        (event.detail as { id?: unknown }).id === itemId,
    );
  }

  /** Waits for an outbound event of `detailType` about `itemId`. */
  async waitFor(detailType: string, itemId: string, timeoutMs = 60_000): Promise<EventEnvelope> {
    return eventually(
      `a ${detailType} event for ${itemId}`,
      async () => {
        await this.drain();
        return this.seen(detailType, itemId)[0];
      },
      { timeoutMs, intervalMs: 50, lastSeen: () => this.received.map((event) => event['detail-type']) },
    );
  }

  /** Receives whatever is on the queue now (one long poll). */
  async drain(): Promise<void> {
    const { Messages } = await this.flowtune.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (Messages === undefined || Messages.length === 0) return;
    for (const message of Messages) this.received.push(EventEnvelope.parse(JSON.parse(message.Body ?? '')));
    await this.flowtune.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle ?? '',
        })),
      }),
    );
  }

  async dispose(): Promise<void> {
    const bus = this.flowtune.target.outputs.eventBusName;
    await this.flowtune.events.send(
      new RemoveTargetsCommand({ Rule: this.name, EventBusName: bus, Ids: ['observer'] }),
    );
    await this.flowtune.events.send(new DeleteRuleCommand({ Name: this.name, EventBusName: bus }));
    await this.flowtune.sqs.send(new DeleteQueueCommand({ QueueUrl: this.queueUrl }));
  }
}
