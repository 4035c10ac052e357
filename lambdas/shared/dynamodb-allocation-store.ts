import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  AllocationJobState,
  AllocationSettings,
  type AllocationSettingsInput,
  ArrivalDay,
} from '../../domain/allocation/job';
import {
  ALLOCATION_APPROVAL_PREFIX,
  ALLOCATION_PK,
  ALLOCATION_SETTINGS_SK,
  ALLOCATION_STATE_SK,
  AllocationApproval,
  type AllocationStore,
  APPROVAL_RETENTION_DAYS,
  type ApprovalStatus,
  ARRIVAL_RETENTION_DAYS,
  arrivalDaySortKey,
  historyEntry,
  parseAllocationSettings,
  type StoredAllocationState,
} from './allocation-store';
import { isConditionalCheckFailed } from './dynamodb-expressions';
import { queryAll } from './dynamodb-query';
import { POLICY_PK } from './table-layout';

export interface DynamoDbAllocationStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly featuresTable: string;
}

const DAY_SECONDS = 86_400;
/** BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;
const MAX_BATCH_ATTEMPTS = 5;

const KEYS = new Set(['pk', 'sk', 'expiresAt']);

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([name]) => !KEYS.has(name)));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** AllocationStore on the Features table (layout in allocation-store.ts). */
export class DynamoDbAllocationStore implements AllocationStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoDbAllocationStoreOptions) {
    this.client = options.client;
    this.table = options.featuresTable;
  }

  async readSettings(): Promise<AllocationSettings | undefined> {
    const item = await this.get(POLICY_PK, ALLOCATION_SETTINGS_SK);
    return item === undefined ? undefined : parseAllocationSettings(withoutKeys(item));
  }

  async saveSettings(settings: AllocationSettingsInput): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...AllocationSettings.parse(settings), pk: POLICY_PK, sk: ALLOCATION_SETTINGS_SK },
      }),
    );
  }

  async readState(): Promise<StoredAllocationState | undefined> {
    const item = await this.get(ALLOCATION_PK, ALLOCATION_STATE_SK);
    if (item === undefined || typeof item.state !== 'string' || typeof item.revision !== 'number')
      return undefined;
    return { state: AllocationJobState.parse(JSON.parse(item.state)), revision: item.revision };
  }

  async saveState(
    state: AllocationJobState,
    expectedRevision: number | undefined,
  ): Promise<'saved' | 'conflict'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: ALLOCATION_PK,
            sk: ALLOCATION_STATE_SK,
            // A JSON string: the state's arrays never meet DynamoDB's rules on empty or nested values.
            state: JSON.stringify(AllocationJobState.parse(state)),
            revision: (expectedRevision ?? 0) + 1,
          },
          ConditionExpression:
            expectedRevision === undefined ? 'attribute_not_exists(pk)' : '#revision = :expected',
          ...(expectedRevision === undefined
            ? {}
            : {
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': expectedRevision },
              }),
        }),
      );
      return 'saved';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'conflict';
      throw error;
    }
  }

  async readArrivalDays(intervalMinutes: number, fromDay: string, toDay: string): Promise<ArrivalDay[]> {
    const items = await this.query('sk BETWEEN :from AND :to', {
      ':from': arrivalDaySortKey(intervalMinutes, fromDay),
      ':to': arrivalDaySortKey(intervalMinutes, toDay),
    });
    return items.flatMap((item) =>
      typeof item.day === 'string' && typeof item.counts === 'string'
        ? [
            ArrivalDay.parse({
              day: item.day,
              intervalMinutes: item.intervalMinutes,
              counts: JSON.parse(item.counts),
            }),
          ]
        : [],
    );
  }

  async putArrivalDays(days: readonly ArrivalDay[]): Promise<void> {
    const items = days.map((day) => {
      const parsed = ArrivalDay.parse(day);
      return {
        pk: ALLOCATION_PK,
        sk: arrivalDaySortKey(parsed.intervalMinutes, parsed.day),
        day: parsed.day,
        intervalMinutes: parsed.intervalMinutes,
        counts: JSON.stringify(parsed.counts),
        expiresAt:
          Math.floor(Date.parse(`${parsed.day}T00:00:00Z`) / 1000) + ARRIVAL_RETENTION_DAYS * DAY_SECONDS,
      };
    });
    for (let start = 0; start < items.length; start += BATCH_SIZE) {
      let requests: { PutRequest: { Item: Record<string, unknown> } }[] = items
        .slice(start, start + BATCH_SIZE)
        .map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt >= MAX_BATCH_ATTEMPTS) {
          throw new Error(
            `DynamoDB left ${requests.length} arrival rollup(s) unwritten after ${attempt} attempts`,
          );
        }
        if (attempt > 0) await pause(50 * 2 ** attempt);
        const result = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.table] ?? []).flatMap((request) =>
          request.PutRequest?.Item === undefined ? [] : [{ PutRequest: { Item: request.PutRequest.Item } }],
        );
      }
    }
  }

  async putApproval(approval: AllocationApproval): Promise<'created' | 'exists'> {
    const parsed = AllocationApproval.parse(approval);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...parsed,
            pk: ALLOCATION_PK,
            sk: `${ALLOCATION_APPROVAL_PREFIX}${parsed.recommendationId}`,
            expiresAt:
              Math.floor(Date.parse(parsed.validUntil) / 1000) + APPROVAL_RETENTION_DAYS * DAY_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'created';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'exists';
      throw error;
    }
  }

  async listApprovals(statuses: readonly ApprovalStatus[]): Promise<AllocationApproval[]> {
    const items = await this.query('begins_with(sk, :prefix)', { ':prefix': ALLOCATION_APPROVAL_PREFIX });
    return items
      .map((item) => AllocationApproval.parse(withoutKeys(item)))
      .filter((approval) => statuses.includes(approval.status))
      .sort(
        (a, b) =>
          a.requestedAt.localeCompare(b.requestedAt) || a.recommendationId.localeCompare(b.recommendationId),
      );
  }

  async transitionApproval(
    recommendationId: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    resolution: { by: string; reason: string; at: number },
  ): Promise<'transitioned' | 'conflict'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: ALLOCATION_PK, sk: `${ALLOCATION_APPROVAL_PREFIX}${recommendationId}` },
          UpdateExpression:
            'SET #status = :to, #history = list_append(if_not_exists(#history, :empty), :entry)',
          ConditionExpression: '#status = :from',
          ExpressionAttributeNames: { '#status': 'status', '#history': 'history' },
          ExpressionAttributeValues: {
            ':to': to,
            ':from': from,
            ':empty': [],
            ':entry': [historyEntry(to, resolution)],
          },
        }),
      );
      return 'transitioned';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'conflict';
      throw error;
    }
  }

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return Item;
  }

  private async query(
    sortCondition: string,
    values: Record<string, unknown>,
  ): Promise<Record<string, unknown>[]> {
    return queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: `pk = :pk AND ${sortCondition}`,
      ExpressionAttributeValues: { ':pk': ALLOCATION_PK, ...values },
      ConsistentRead: true,
    });
  }
}
