import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DEFAULT_POLICY, Policy } from '../../domain/policy';
import {
  bucketStart,
  DEFAULT_TUNING_CONFIG,
  Experiment,
  type ExperimentStatus,
  type Observation,
  type ObservationBucket,
  PolicyVersionRecord,
  TuningConfig,
  type TuningState,
} from '../../domain/tuning';
import { isConditionalCheckFailed, transactionCancellationCodes } from './dynamodb-expressions';
import { queryAll } from './dynamodb-query';
import { type Clock, systemClock } from './ports';
import { ACTIVE_POLICY_SK, POLICY_PK } from './table-layout';
import {
  APPROVAL_PREFIX,
  ApprovalRequest,
  BUCKET_PREFIX,
  BUCKET_RETENTION_DAYS,
  bucketSortKey,
  ENDED_RUN_RETENTION_HOURS,
  EXPERIMENT_SK,
  fromAttributes,
  type ItemStart,
  isRunningAt,
  LIVE_EXPERIMENT_STATUSES,
  observationIncrements,
  POLICY_VERSION_PREFIX,
  parseStoredState,
  parseTuningConfig,
  RUN_PREFIX,
  RUN_RETENTION_HOURS,
  RunRow,
  retainUntil,
  STATE_SK,
  type StoredState,
  sortExperiments,
  type TrackedRunningItem,
  TUNING_CONFIG_SK,
  TUNING_PK,
  type TuningStore,
} from './tuning-store';

export interface DynamoDbTuningStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly featuresTable: string;
  /**
   * The wall clock DynamoDB's TTL deletes by, for `expiresAt` (see `retainUntil`). Wall time even
   * when the runtime runs on virtual time: the table's TTL does not know the virtual clock.
   * @default systemClock
   */
  readonly wallClock?: Clock;
}

const DAY_SECONDS = 86_400;
const HOUR_SECONDS = 3_600;
const KEYS = new Set(['pk', 'sk', 'seen', 'start', 'seconds', 'expiresAt']);

/** Placeholders #a0, #a1...: bucket attribute names hold "|", "#" and "." that `#name` cannot carry. */
class Names {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private count = 0;
  name(attribute: string): string {
    const placeholder = `#a${this.count++}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }
  value(value: unknown): string {
    const placeholder = `:v${this.count++}`;
    this.values[placeholder] = value;
    return placeholder;
  }
}

/** TuningStore on the Features table (see the layout in tuning-store.ts). */
export class DynamoDbTuningStore implements TuningStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly wallClock: Clock;

  constructor(options: DynamoDbTuningStoreOptions) {
    this.client = options.client;
    this.table = options.featuresTable;
    this.wallClock = options.wallClock ?? systemClock;
  }

  async record(
    observation: Observation,
    key: string,
    bucketSeconds: number,
  ): Promise<'recorded' | 'duplicate'> {
    const start = bucketStart(observation.at, bucketSeconds);
    const { add, set } = observationIncrements(observation);
    const names = new Names();
    const adds = Object.entries(add).map(
      ([attribute, value]) => `${names.name(attribute)} ${names.value(value)}`,
    );
    const seen = names.name('seen');
    adds.push(`${seen} ${names.value(new Set([key]))}`);
    const sets = [
      ...Object.entries(set).map(([attribute, value]) => `${names.name(attribute)} = ${names.value(value)}`),
      `${names.name('start')} = ${names.value(start)}`,
      `${names.name('seconds')} = ${names.value(bucketSeconds)}`,
      `${names.name('expiresAt')} = ${names.value(retainUntil(start, this.wallClock.now(), BUCKET_RETENTION_DAYS * DAY_SECONDS))}`,
    ];
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: TUNING_PK, sk: bucketSortKey(start) },
          UpdateExpression: `ADD ${adds.join(', ')} SET ${sets.join(', ')}`,
          ConditionExpression: `NOT contains(${seen}, ${names.value(key)})`,
          ExpressionAttributeNames: names.names,
          ExpressionAttributeValues: names.values,
        }),
      );
      return 'recorded';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'duplicate';
      throw error;
    }
  }

  async recordStart(start: ItemStart): Promise<'recorded' | 'unchanged'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: TUNING_PK, sk: `${RUN_PREFIX}${start.itemId}` },
          UpdateExpression:
            'SET #itemId = :itemId, #category = :category, #startedAt = :startedAt, #predicted = :predicted, #attempt = :attempt, #expiresAt = :expiresAt',
          // Never after the item's end; only over an earlier attempt, or an earlier start of this one.
          ConditionExpression:
            'attribute_not_exists(#endedAt) AND (attribute_not_exists(#startedAt) OR #attempt < :attempt OR (#attempt = :attempt AND #startedAt < :startedAt))',
          ExpressionAttributeNames: {
            '#itemId': 'itemId',
            '#category': 'category',
            '#startedAt': 'startedAt',
            '#predicted': 'predictedSeconds',
            '#attempt': 'attempt',
            '#expiresAt': 'expiresAt',
            '#endedAt': 'endedAt',
          },
          ExpressionAttributeValues: {
            ':itemId': start.itemId,
            ':category': start.category,
            ':startedAt': start.startedAt,
            ':predicted': start.predictedSeconds,
            ':attempt': start.attempt,
            ':expiresAt': retainUntil(
              start.startedAt,
              this.wallClock.now(),
              RUN_RETENTION_HOURS * HOUR_SECONDS,
            ),
          },
        }),
      );
      return 'recorded';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'unchanged';
      throw error;
    }
  }

  async recordEnd(itemId: string, endedAt: number): Promise<'recorded' | 'unchanged'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: TUNING_PK, sk: `${RUN_PREFIX}${itemId}` },
          UpdateExpression: 'SET #itemId = :itemId, #endedAt = :endedAt, #expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(#endedAt) OR #endedAt > :endedAt',
          ExpressionAttributeNames: { '#itemId': 'itemId', '#endedAt': 'endedAt', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: {
            ':itemId': itemId,
            ':endedAt': endedAt,
            ':expiresAt': retainUntil(
              endedAt,
              this.wallClock.now(),
              ENDED_RUN_RETENTION_HOURS * HOUR_SECONDS,
            ),
          },
        }),
      );
      return 'recorded';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'unchanged';
      throw error;
    }
  }

  /**
   * One Query on the RUN# rows, filtered to those running at `asOf`. It reads (and is billed for)
   * every row of the prefix: the running items plus the ends of the last ENDED_RUN_RETENTION_HOURS,
   * a few thousand small rows at tens of items a minute, so a page or two per cycle.
   */
  async listRunning(asOf: number): Promise<TrackedRunningItem[]> {
    const items = await this.query('begins_with(sk, :prefix)', { ':prefix': RUN_PREFIX }, TUNING_PK, {
      expression:
        '#startedAt < :asOf AND #startedAt > :oldest AND (attribute_not_exists(#endedAt) OR #endedAt > :asOf)',
      names: { '#startedAt': 'startedAt', '#endedAt': 'endedAt' },
      values: { ':asOf': asOf, ':oldest': asOf - RUN_RETENTION_HOURS * HOUR_SECONDS * 1000 },
    });
    return items
      .filter((item) =>
        isRunningAt(
          {
            ...(typeof item.startedAt === 'number' ? { startedAt: item.startedAt } : {}),
            ...(typeof item.endedAt === 'number' ? { endedAt: item.endedAt } : {}),
          },
          asOf,
        ),
      )
      .map((item) =>
        RunRow.parse({
          itemId: item.itemId,
          category: item.category,
          startedAt: item.startedAt,
          predictedSeconds: item.predictedSeconds,
          attempt: item.attempt,
        }),
      )
      .sort((a, b) => a.startedAt - b.startedAt || a.itemId.localeCompare(b.itemId));
  }

  async readBuckets(from: number, to: number): Promise<ObservationBucket[]> {
    if (to <= from) return [];
    const items = await this.query('sk BETWEEN :from AND :to', {
      ':from': bucketSortKey(from),
      ':to': bucketSortKey(to - 1),
    });
    return items.flatMap((item) => {
      const start =
        typeof item.start === 'number' ? item.start : Date.parse(String(item.sk).slice(BUCKET_PREFIX.length));
      const seconds = typeof item.seconds === 'number' ? item.seconds : DEFAULT_TUNING_CONFIG.bucketSeconds;
      if (!Number.isFinite(start) || start < from || start >= to) return [];
      const attributes = Object.fromEntries(Object.entries(item).filter(([name]) => !KEYS.has(name)));
      return [fromAttributes(start, seconds, attributes)];
    });
  }

  async readState(): Promise<StoredState | undefined> {
    const item = await this.get(TUNING_PK, STATE_SK);
    return item === undefined ? undefined : parseStoredState(item);
  }

  async saveState(state: TuningState, expectedRevision: number | undefined): Promise<'saved' | 'conflict'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: TUNING_PK,
            sk: STATE_SK,
            state: JSON.stringify(state),
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

  async readExperiment(): Promise<Experiment | undefined> {
    const item = await this.get(TUNING_PK, EXPERIMENT_SK);
    return item === undefined || typeof item.experiment !== 'string'
      ? undefined
      : Experiment.parse(JSON.parse(item.experiment));
  }

  async saveExperiment(experiment: Experiment): Promise<void> {
    const items = experimentItems(experiment);
    await this.client.send(new PutCommand({ TableName: this.table, Item: items.current }));
    await this.client.send(new PutCommand({ TableName: this.table, Item: items.copy }));
  }

  async beginExperiment(experiment: Experiment): Promise<'started' | 'busy' | 'id-taken'> {
    const items = experimentItems(experiment);
    const live = Object.fromEntries(
      LIVE_EXPERIMENT_STATUSES.map((status, index) => [`:live${index}`, status]),
    );
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: items.current,
                // A document written before the status attribute existed counts as not live here;
                // the ops API reads the current one first and refuses to start beside a live one.
                ConditionExpression: `attribute_not_exists(pk) OR NOT (#status IN (${Object.keys(live).join(', ')}))`,
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: live,
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: items.copy,
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return 'started';
    } catch (error) {
      const codes = transactionCancellationCodes(error);
      if (codes === undefined) throw error;
      if (codes[0] === 'ConditionalCheckFailed') return 'busy';
      if (codes[1] === 'ConditionalCheckFailed') return 'id-taken';
      throw error;
    }
  }

  async updateExperiment(
    experiment: Experiment,
    expectedStatus: ExperimentStatus,
  ): Promise<'saved' | 'conflict'> {
    const items = experimentItems(experiment);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: items.current,
                ConditionExpression: '#experimentId = :experimentId AND #status = :expected',
                ExpressionAttributeNames: { '#experimentId': 'experimentId', '#status': 'status' },
                ExpressionAttributeValues: {
                  ':experimentId': experiment.experimentId,
                  ':expected': expectedStatus,
                },
              },
            },
            { Put: { TableName: this.table, Item: items.copy } },
          ],
        }),
      );
      return 'saved';
    } catch (error) {
      if (transactionCancellationCodes(error)?.[0] === 'ConditionalCheckFailed') return 'conflict';
      throw error;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment | undefined> {
    const item = await this.get(TUNING_PK, `${EXPERIMENT_SK}#${experimentId}`);
    return item === undefined || typeof item.experiment !== 'string'
      ? undefined
      : Experiment.parse(JSON.parse(item.experiment));
  }

  async listExperiments(): Promise<Experiment[]> {
    const rows = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': TUNING_PK, ':prefix': `${EXPERIMENT_SK}#` },
    });
    return sortExperiments(
      rows.flatMap((row) =>
        typeof row.experiment === 'string' ? [Experiment.parse(JSON.parse(row.experiment))] : [],
      ),
    );
  }

  async readConfig(): Promise<TuningConfig> {
    const item = await this.get(POLICY_PK, TUNING_CONFIG_SK);
    return item === undefined ? DEFAULT_TUNING_CONFIG : parseTuningConfig(item);
  }

  async saveConfig(config: TuningConfig): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...TuningConfig.parse(config), pk: POLICY_PK, sk: TUNING_CONFIG_SK },
      }),
    );
  }

  async putPolicyVersion(record: PolicyVersionRecord): Promise<'created' | 'exists'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...PolicyVersionRecord.parse(record),
            pk: POLICY_PK,
            sk: `${POLICY_VERSION_PREFIX}${record.version}`,
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

  async getPolicyVersion(version: string): Promise<PolicyVersionRecord | undefined> {
    const item = await this.get(POLICY_PK, `${POLICY_VERSION_PREFIX}${version}`);
    return item === undefined ? undefined : PolicyVersionRecord.parse(item);
  }

  async listPolicyVersions(): Promise<PolicyVersionRecord[]> {
    const items = await this.query(
      'begins_with(sk, :prefix)',
      { ':prefix': POLICY_VERSION_PREFIX },
      POLICY_PK,
    );
    return items
      .map((item) => PolicyVersionRecord.parse(item))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async activatePolicy(policy: Policy, expectedVersion: string): Promise<'activated' | 'conflict'> {
    const condition =
      expectedVersion === DEFAULT_POLICY.version
        ? 'attribute_not_exists(pk) OR #version = :expected'
        : '#version = :expected';
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...Policy.parse(policy), pk: POLICY_PK, sk: ACTIVE_POLICY_SK },
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
      return 'activated';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'conflict';
      throw error;
    }
  }

  async putApprovalRequest(request: ApprovalRequest): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...ApprovalRequest.parse(request),
          pk: TUNING_PK,
          sk: `${APPROVAL_PREFIX}${request.approvalId}`,
        },
      }),
    );
  }

  async getApprovalRequest(approvalId: string): Promise<ApprovalRequest | undefined> {
    const item = await this.get(TUNING_PK, `${APPROVAL_PREFIX}${approvalId}`);
    return item === undefined ? undefined : ApprovalRequest.parse(item);
  }

  async listPendingApprovals(): Promise<ApprovalRequest[]> {
    const items = await this.query('begins_with(sk, :prefix)', { ':prefix': APPROVAL_PREFIX });
    return items.map((item) => ApprovalRequest.parse(item)).filter((request) => request.status === 'pending');
  }

  async resolveApprovalRequest(
    approvalId: string,
    resolution: { status: 'approved' | 'rejected'; by: string; reason: string; at: number },
  ): Promise<'resolved' | 'not-pending'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: TUNING_PK, sk: `${APPROVAL_PREFIX}${approvalId}` },
          UpdateExpression: 'SET #status = :status, #by = :by, #at = :at, #reason = :reason',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#by': 'resolvedBy',
            '#at': 'resolvedAt',
            '#reason': 'reason',
          },
          ExpressionAttributeValues: {
            ':status': resolution.status,
            ':by': resolution.by,
            ':at': new Date(resolution.at).toISOString(),
            ':reason': resolution.reason,
            ':pending': 'pending',
          },
        }),
      );
      return 'resolved';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'not-pending';
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
    pk: string = TUNING_PK,
    filter?: {
      readonly expression: string;
      readonly names: Record<string, string>;
      readonly values: Record<string, unknown>;
    },
  ): Promise<Record<string, unknown>[]> {
    return queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: `pk = :pk AND ${sortCondition}`,
      ExpressionAttributeValues: { ':pk': pk, ...values, ...filter?.values },
      ...(filter === undefined
        ? {}
        : { FilterExpression: filter.expression, ExpressionAttributeNames: filter.names }),
      ConsistentRead: true,
    });
  }
}

/**
 * The current experiment's item and its own copy: the document as JSON, with its id and status
 * beside it as attributes the conditional writes test.
 */
function experimentItems(experiment: Experiment): {
  readonly current: Record<string, unknown>;
  readonly copy: Record<string, unknown>;
} {
  const parsed = Experiment.parse(experiment);
  const attributes = {
    experiment: JSON.stringify(parsed),
    experimentId: parsed.experimentId,
    status: parsed.status,
  };
  return {
    current: { pk: TUNING_PK, sk: EXPERIMENT_SK, ...attributes },
    copy: { pk: TUNING_PK, sk: `${EXPERIMENT_SK}#${parsed.experimentId}`, ...attributes },
  };
}
