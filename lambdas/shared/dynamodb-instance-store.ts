import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CompletionResult } from '../../domain/process';
import { INSTANCES_TABLE, type Stage } from '../../lib/definitions/tables';
import { Expression, isConditionalCheckFailed } from './dynamodb-expressions';
import {
  ATTEMPT_FACTS,
  type EnqueueRequest,
  type InstanceRecord,
  type InstanceStore,
  type InstanceWrite,
  type ScoredInstance,
  SUPERSEDED_ENQUEUE_MARGIN_MS,
  stagesBlockingPark,
  TERMINAL_STAGES,
  type WaitKind,
} from './ports';
import { bareInstance, instanceExpiresAt, toInstanceRecord } from './table-layout';

export interface DynamoDbInstanceStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly instancesTable: string;
}

const BY_STAGE = INSTANCES_TABLE.globalSecondaryIndexes[0];

/** InstanceStore on the Instances table; every transition is one conditional UpdateItem. */
export class DynamoDbInstanceStore implements InstanceStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoDbInstanceStoreOptions) {
    this.client = options.client;
    this.table = options.instancesTable;
  }

  async get(itemId: string): Promise<InstanceRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { itemId }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toInstanceRecord(Item);
  }

  async listByStage(stage: Stage, limit?: number): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: BY_STAGE.indexName,
          KeyConditionExpression: '#stage = :stage',
          ExpressionAttributeNames: { '#stage': BY_STAGE.partitionKey.name },
          ExpressionAttributeValues: { ':stage': stage },
          // Oldest first: the sort key is stageEnteredAt.
          ScanIndexForward: true,
          ExclusiveStartKey: startKey,
          ...(limit === undefined ? {} : { Limit: limit - records.length }),
        }),
      );
      // The index is eventually consistent: an item may have moved on; conditions catch that later.
      records.push(...(page.Items ?? []).map(toInstanceRecord));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && (limit === undefined || records.length < limit));
    return records;
  }

  async recordScored(scored: ScoredInstance): Promise<InstanceWrite> {
    const attempt = scored.instanceAttempt ?? 1;
    const facts = {
      stage: 'SCORED',
      stageEnteredAt: scored.at,
      category: scored.category,
      priority: scored.priority,
      requiredSkills: scored.requiredSkills,
      createdAt: scored.createdAt,
      slaDueAt: scored.slaDueAt,
      attempt: scored.attempt,
      path: scored.path,
      predictedHandlingSeconds: scored.predictedHandlingSeconds,
      modelVersion: scored.modelVersion,
      policyVersion: scored.policyVersion,
      confidence: scored.confidence,
      tenant: scored.tenant,
      instanceAttempt: attempt,
      expiresAt: instanceExpiresAt(scored.at),
    };
    const expression = new Expression();
    const sameAttempt =
      attempt === 1
        ? `(attribute_not_exists(${expression.name('instanceAttempt')}) OR ${expression.name('instanceAttempt')} = ${expression.value(1)})`
        : `${expression.name('instanceAttempt')} = ${expression.value(attempt)}`;
    const written = await this.conditionalUpdate(scored.itemId, expression, {
      update: expression.update(
        facts,
        ['awaitingCreationSince'],
        [
          `${expression.name('excludedAgents')} = if_not_exists(${expression.name('excludedAgents')}, ${expression.value([])})`,
        ],
      ),
      condition: `attribute_not_exists(itemId) OR (${sameAttempt} AND ${expression.notIn('stage', TERMINAL_STAGES)} AND attribute_not_exists(${expression.name('cancellation')}))`,
    });
    if (written.ok || written.current === undefined || (written.current.instanceAttempt ?? 1) >= attempt) {
      return written;
    }
    // A later execution of this item id: the record starts afresh, whatever the earlier one left.
    const fresh = new Expression();
    const stored = written.current.instanceAttempt;
    return this.conditionalUpdate(scored.itemId, fresh, {
      update: fresh.update({ ...facts, excludedAgents: [] }, ATTEMPT_FACTS),
      condition:
        stored === undefined
          ? `attribute_not_exists(${fresh.name('instanceAttempt')})`
          : `${fresh.name('instanceAttempt')} = ${fresh.value(stored)}`,
    });
  }

  async enqueue(request: EnqueueRequest): Promise<InstanceWrite> {
    const expression = new Expression();
    return this.conditionalUpdate(request.itemId, expression, {
      update: expression.update(
        {
          stage: 'WAITING_ASSIGNMENT',
          stageEnteredAt: request.enqueuedAt,
          category: request.category,
          priority: request.priority,
          requiredSkills: request.requiredSkills,
          createdAt: request.createdAt,
          slaDueAt: request.slaDueAt,
          attempt: request.attempt,
          excludedAgents: request.excludedAgents,
          customerTier: request.customerTier,
          enqueuedAt: request.enqueuedAt,
          taskToken: request.taskToken,
          waitingFor: 'assignment',
          expiresAt: instanceExpiresAt(request.at),
        },
        ['assignee'],
      ),
      condition: `(attribute_not_exists(itemId) OR ${expression.notIn('stage', TERMINAL_STAGES)}) AND attribute_not_exists(${expression.name('cancellation')}) AND (attribute_not_exists(${expression.name('lastAssignmentToken')}) OR ${expression.name('lastAssignmentToken')} <> ${expression.value(request.taskToken)}) AND (attribute_not_exists(${expression.name('enqueuedAt')}) OR ${expression.name('enqueuedAt')} <= ${expression.value(request.enqueuedAt + SUPERSEDED_ENQUEUE_MARGIN_MS)})`,
    });
  }

  async storeTaskToken(park: {
    itemId: string;
    taskToken: string;
    waitingFor: Exclude<WaitKind, 'assignment'>;
    stage: Stage;
    assignee?: string;
    attempt: number;
    at: number;
  }): Promise<InstanceWrite> {
    const expression = new Expression();
    const noEarlyCompletion =
      park.waitingFor === 'completion'
        ? ` AND attribute_not_exists(${expression.name('earlyCompletion')}) AND attribute_not_exists(${expression.name('pendingHandover')})`
        : '';
    return this.conditionalUpdate(park.itemId, expression, {
      update: expression.update(
        {
          stage: park.stage,
          stageEnteredAt: park.at,
          taskToken: park.taskToken,
          waitingFor: park.waitingFor,
          attempt: park.attempt,
          assignee: park.assignee,
        },
        [],
        [
          `${expression.name('expiresAt')} = if_not_exists(${expression.name('expiresAt')}, ${expression.value(instanceExpiresAt(park.at))})`,
        ],
      ),
      // A cancellation kept before registration blocks every wait, as CANCELLED does.
      condition: `(attribute_not_exists(itemId) OR ${expression.notIn('stage', stagesBlockingPark(park.waitingFor))}) AND attribute_not_exists(${expression.name('cancellation')})${noEarlyCompletion}`,
    });
  }

  async consumeEarlyCompletion(
    itemId: string,
    at: number,
    taskToken: string,
  ): Promise<CompletionResult | undefined> {
    // Two steps, both conditional: read the completion, then move it to a pending handover only
    // if it is still the one read (an UpdateItem cannot copy one attribute into another).
    const current = await this.get(itemId);
    const early = current?.earlyCompletion;
    if (early === undefined) return undefined;
    const expression = new Expression();
    const taken = await this.conditionalUpdate(itemId, expression, {
      update: expression.update(
        {
          completionReceivedAt: at,
          stage: 'IN_PROGRESS',
          stageEnteredAt: at,
          pendingHandover: { taskToken, completion: early, since: at },
        },
        ['earlyCompletion'],
      ),
      condition: `${expression.name('earlyCompletion')} = ${expression.value(early)}`,
    });
    return taken.ok ? early : undefined;
  }

  async takeCompletionToken(
    itemId: string,
    taskToken: string,
    at: number,
    completion: CompletionResult,
    eventId?: string,
  ): Promise<InstanceWrite> {
    const expression = new Expression();
    return this.conditionalUpdate(itemId, expression, {
      update: expression.update(
        {
          completionReceivedAt: at,
          pendingHandover: {
            taskToken,
            completion,
            since: at,
            ...(eventId === undefined ? {} : { eventId }),
          },
        },
        ['taskToken', 'waitingFor'],
      ),
      condition: `${expression.name('taskToken')} = ${expression.value(taskToken)} AND ${expression.name('waitingFor')} = ${expression.value('completion')}`,
    });
  }

  async confirmHandover(itemId: string, taskToken: string): Promise<InstanceWrite> {
    const expression = new Expression();
    return this.conditionalUpdate(itemId, expression, {
      update: expression.update({}, ['pendingHandover']),
      condition: `${expression.name('pendingHandover')}.${expression.name('taskToken')} = ${expression.value(taskToken)}`,
    });
  }

  async storeEarlyCompletion(
    itemId: string,
    completion: CompletionResult,
    options?: { replacesReceived?: boolean },
  ): Promise<InstanceWrite> {
    const expression = new Expression();
    const notReceived =
      options?.replacesReceived === true
        ? ''
        : ` AND attribute_not_exists(${expression.name('completionReceivedAt')})`;
    return this.conditionalUpdate(itemId, expression, {
      update: expression.update({ earlyCompletion: completion }, ['completionReceivedAt', 'pendingHandover']),
      condition: `attribute_exists(itemId) AND ${expression.notIn('stage', TERMINAL_STAGES)} AND attribute_not_exists(${expression.name('earlyCompletion')})${notReceived} AND (attribute_not_exists(${expression.name('taskToken')}) OR ${expression.name('waitingFor')} <> ${expression.value('completion')})`,
    });
  }

  async recordBeforeRegistration(
    itemId: string,
    at: number,
    early: { completion: CompletionResult } | { cancellation: { reason: string; cancelledAt: string } },
  ): Promise<InstanceWrite> {
    const bare = bareInstance(itemId, at);
    const expression = new Expression();
    const carried =
      'completion' in early ? { earlyCompletion: early.completion } : { cancellation: early.cancellation };
    return this.conditionalUpdate(itemId, expression, {
      update: expression.update({
        stage: bare.stage,
        stageEnteredAt: bare.stageEnteredAt,
        excludedAgents: [],
        expiresAt: bare.expiresAt,
        awaitingCreationSince: at,
        ...carried,
      }),
      condition: 'attribute_not_exists(itemId)',
    });
  }

  async forgetUnclaimedFinish(itemId: string, since: number): Promise<InstanceWrite> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { itemId },
          ConditionExpression:
            '#stage = :validating AND #since = :since AND attribute_not_exists(#taskToken)',
          ExpressionAttributeNames: {
            '#stage': 'stage',
            '#since': 'awaitingCreationSince',
            '#taskToken': 'taskToken',
          },
          ExpressionAttributeValues: { ':validating': 'VALIDATING', ':since': since },
        }),
      );
      return { ok: true };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return { ok: false, current: await this.get(itemId) };
      throw error;
    }
  }

  async markRejected(itemId: string, expectedToken: string, at: number): Promise<InstanceWrite> {
    const expression = new Expression();
    return this.conditionalUpdate(itemId, expression, {
      update: expression.update({ stage: 'REJECTED', stageEnteredAt: at }, ['taskToken', 'waitingFor']),
      condition: `attribute_exists(itemId) AND ${expression.notIn('stage', TERMINAL_STAGES)} AND ${expression.name('taskToken')} = ${expression.value(expectedToken)}`,
    });
  }

  async markCancelled(
    itemId: string,
    cancellation: { reason: string; cancelledAt: string },
    expectedToken: string | undefined,
    at: number,
  ): Promise<InstanceWrite> {
    const expression = new Expression();
    const token =
      expectedToken === undefined
        ? `attribute_not_exists(${expression.name('taskToken')})`
        : `${expression.name('taskToken')} = ${expression.value(expectedToken)}`;
    return this.conditionalUpdate(itemId, expression, {
      update: expression.update({ stage: 'CANCELLED', stageEnteredAt: at, cancellation }, [
        'taskToken',
        'waitingFor',
      ]),
      condition: `attribute_exists(itemId) AND ${expression.notIn('stage', TERMINAL_STAGES)} AND ${token}`,
    });
  }

  async markOutcomeRecorded(itemId: string, at: number, expiresAt: number): Promise<InstanceWrite> {
    const expression = new Expression();
    return this.conditionalUpdate(itemId, expression, {
      update: expression.update(
        { stage: 'COMPLETED', stageEnteredAt: at, outcomeRecordedAt: at, expiresAt },
        ['taskToken', 'waitingFor', 'pendingHandover'],
      ),
      condition: `attribute_exists(itemId) AND attribute_not_exists(${expression.name('outcomeRecordedAt')})`,
    });
  }

  /** One conditional UpdateItem; on a failed condition, the record as it now stands. */
  private async conditionalUpdate(
    itemId: string,
    expression: Expression,
    write: { readonly update: string; readonly condition: string },
  ): Promise<InstanceWrite> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { itemId },
          UpdateExpression: write.update,
          ConditionExpression: write.condition,
          ...expression.attributes(),
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return { ok: false, current: await this.get(itemId) };
    }
  }
}
