import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { BacklogEntry, LiveStage } from '../../domain/ops/bottleneck';
import { PolicyProposal } from '../../domain/ops/policy-proposal';
import { INSTANCES_TABLE } from '../../lib/definitions/tables';
import { Expression, isConditionalCheckFailed } from '../shared/dynamodb-expressions';
import { queryAll } from '../shared/dynamodb-query';
import { POLICY_PK } from '../shared/table-layout';
import { type BacklogPage, type OpsStore, PROPOSAL_SK_PREFIX, type TrailRecord } from './ports';

export interface DynamoDbOpsStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly featuresTable: string;
  readonly instancesTable: string;
  readonly auditTable: string;
}

const BY_STAGE = INSTANCES_TABLE.globalSecondaryIndexes[0];

/** What the bottleneck view reads of an index entry: a stored record may lack scoring facts. */
const ProjectedInstance = z.object({
  itemId: z.string(),
  stageEnteredAt: z.number(),
  category: z.string().default(''),
  slaDueAt: z.number().default(0),
});

const StoredTrailRecord = z.looseObject({
  recordKey: z.string(),
  kind: z.string(),
  at: z.string(),
  actor: z.string(),
});

/** OpsStore on the three tables, with the same key layout as lambdas/shared/table-layout.ts. */
export class DynamoDbOpsStore implements OpsStore {
  constructor(private readonly options: DynamoDbOpsStoreOptions) {}

  async readStage(stage: LiveStage, limit: number): Promise<BacklogPage> {
    const entries: BacklogEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.instancesTable,
          IndexName: BY_STAGE.indexName,
          KeyConditionExpression: '#stage = :stage',
          // Only what the view needs: the index projects whole records, a backlog can be large.
          ProjectionExpression: '#itemId, #enteredAt, #category, #slaDueAt',
          ExpressionAttributeNames: {
            '#stage': 'stage',
            '#itemId': 'itemId',
            '#enteredAt': 'stageEnteredAt',
            '#category': 'category',
            '#slaDueAt': 'slaDueAt',
          },
          ExpressionAttributeValues: { ':stage': stage },
          ScanIndexForward: true,
          Limit: Math.min(1000, limit - entries.length),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const parsed = ProjectedInstance.parse(item);
        entries.push({
          itemId: parsed.itemId,
          stage,
          queue: parsed.category,
          stageEnteredAt: parsed.stageEnteredAt,
          slaDueAt: parsed.slaDueAt,
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && entries.length < limit);
    return { entries, truncated: startKey !== undefined };
  }

  async trail(itemId: string): Promise<TrailRecord[]> {
    const items = await queryAll(this.options.client, {
      TableName: this.options.auditTable,
      KeyConditionExpression: 'itemId = :itemId',
      ExpressionAttributeValues: { ':itemId': itemId },
      ScanIndexForward: true,
    });
    return items.map((item) => StoredTrailRecord.parse(item));
  }

  async beginOverride(change: {
    itemId: string;
    taskToken: string;
    fromStage: 'HUMAN_REVIEW' | 'EXCEPTION';
    at: number;
  }): Promise<boolean> {
    const expression = new Expression();
    return this.conditionalInstanceUpdate(change.itemId, expression, {
      update: expression.update(
        {
          stage: 'WAITING_ASSIGNMENT',
          stageEnteredAt: change.at,
          enqueuedAt: change.at,
          waitingFor: 'assignment',
        },
        ['assignee'],
      ),
      condition: `${expression.name('stage')} = ${expression.value(change.fromStage)} AND ${expression.name('taskToken')} = ${expression.value(change.taskToken)}`,
    });
  }

  async abortOverride(change: {
    itemId: string;
    taskToken: string;
    toStage: 'HUMAN_REVIEW' | 'EXCEPTION';
    at: number;
  }): Promise<boolean> {
    const expression = new Expression();
    return this.conditionalInstanceUpdate(change.itemId, expression, {
      update: expression.update({
        stage: change.toStage,
        stageEnteredAt: change.at,
        waitingFor: change.toStage === 'HUMAN_REVIEW' ? 'human-review' : 'exception',
      }),
      condition: `${expression.name('stage')} = ${expression.value('WAITING_ASSIGNMENT')} AND ${expression.name('taskToken')} = ${expression.value(change.taskToken)}`,
    });
  }

  async listProposals(): Promise<PolicyProposal[]> {
    const proposals: PolicyProposal[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.featuresTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': POLICY_PK, ':prefix': PROPOSAL_SK_PREFIX },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) proposals.push(PolicyProposal.parse(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return proposals.sort((a, b) => a.proposedAt.localeCompare(b.proposedAt));
  }

  async getProposal(version: string): Promise<PolicyProposal | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({
        TableName: this.options.featuresTable,
        Key: { pk: POLICY_PK, sk: `${PROPOSAL_SK_PREFIX}${version}` },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : PolicyProposal.parse(Item);
  }

  async createProposal(proposal: PolicyProposal): Promise<'created' | 'exists'> {
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.featuresTable,
          Item: {
            ...PolicyProposal.parse(proposal),
            pk: POLICY_PK,
            sk: `${PROPOSAL_SK_PREFIX}${proposal.version}`,
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return 'created';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'exists';
      throw error;
    }
  }

  async markApproved(
    version: string,
    approval: { approvedBy: string; approvedAt: string; approvalReason: string },
  ): Promise<boolean> {
    const expression = new Expression();
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.featuresTable,
          Key: { pk: POLICY_PK, sk: `${PROPOSAL_SK_PREFIX}${version}` },
          UpdateExpression: expression.update({ status: 'approved', ...approval }),
          ConditionExpression: `${expression.name('status')} = ${expression.value('proposed')}`,
          ...expression.attributes(),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  private async conditionalInstanceUpdate(
    itemId: string,
    expression: Expression,
    write: { readonly update: string; readonly condition: string },
  ): Promise<boolean> {
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.instancesTable,
          Key: { itemId },
          UpdateExpression: write.update,
          ConditionExpression: write.condition,
          ...expression.attributes(),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
