import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { AgentState, HandlingFeatures, HandlingStats } from '../../domain/model';
import { DEFAULT_POLICY, Policy } from '../../domain/policy';
import { applyAgentProfile, isStaleProfile, type StoredAgentState } from './agent-profile';
import { Expression, isConditionalCheckFailed, transactionCancellationCodes } from './dynamodb-expressions';
import { queryAll } from './dynamodb-query';
import { InvalidStoredPolicyError, StatsContentionError } from './errors';
import {
  type AgentProfile,
  type AssignQueueOutcome,
  type CapacityClaim,
  type ClaimOutcome,
  type Clock,
  type FeatureStore,
  type PutAgentOutcome,
  type QueueAssignment,
  type StatsKey,
  systemClock,
} from './ports';
import {
  ACTIVE_POLICY_SK,
  AGENT_PK,
  POLICY_PK,
  STATS_PK,
  StoredAgent,
  StoredStats,
  statsSortKey,
  toHandlingFeatures,
} from './table-layout';

export interface DynamoDbFeatureStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly featuresTable: string;
  /**
   * The claim and release transactions also write the item's instance record; a store built
   * without it (a function that only updates agents) refuses those calls.
   */
  readonly instancesTable?: string;
  /** Attempts of an optimistic statistics update before giving up. @default 8 */
  readonly maxStatsAttempts?: number;
  /** Stamps updatedAt on profile and statistics writes. @default systemClock */
  readonly clock?: Clock;
}

const MAX_PROFILE_ATTEMPTS = 5;

/**
 * The agent's queue, on its AGENT record (attributes queueId, queueAssignedAt, queueAssignedBy,
 * queueRecommendationId): profile updates SET only their own attributes, so they keep it.
 */
const StoredQueueAssignment = z.object({
  sk: z.string().min(1),
  queueId: z.string().min(1),
  queueAssignedAt: z.number(),
  queueAssignedBy: z.string().min(1),
  queueRecommendationId: z.string().min(1).optional(),
});

function toAgentState(item: Record<string, unknown>): StoredAgentState {
  const stored = StoredAgent.parse(item);
  return {
    agentId: stored.sk,
    kind: stored.kind,
    status: stored.status,
    capacity: stored.capacity,
    activeCount: stored.activeCount,
    skills: stored.skills,
    idleSince: stored.idleSince,
    ...(stored.shiftEndsAt === undefined ? {} : { shiftEndsAt: stored.shiftEndsAt }),
    ...(stored.changedAt === undefined ? {} : { changedAt: stored.changedAt }),
    ...(stored.updatedAt === undefined ? {} : { updatedAt: stored.updatedAt }),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** FeatureStore on the Features table (and, for capacity transactions, the Instances table). */
export class DynamoDbFeatureStore implements FeatureStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly instances: string | undefined;
  private readonly maxStatsAttempts: number;
  private readonly clock: Clock;

  constructor(options: DynamoDbFeatureStoreOptions) {
    this.client = options.client;
    this.table = options.featuresTable;
    this.instances = options.instancesTable;
    this.maxStatsAttempts = options.maxStatsAttempts ?? 8;
    this.clock = options.clock ?? systemClock;
  }

  private get instancesTable(): string {
    if (this.instances === undefined) {
      throw new Error('this FeatureStore was built without the Instances table; capacity claims need it');
    }
    return this.instances;
  }

  async getAgent(agentId: string): Promise<StoredAgentState | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: AGENT_PK, sk: agentId }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toAgentState(Item);
  }

  async listAgents(): Promise<AgentState[]> {
    return (await this.queryPartition(AGENT_PK)).map(toAgentState);
  }

  async putAgentProfile(profile: AgentProfile): Promise<PutAgentOutcome> {
    for (let attempt = 0; attempt < MAX_PROFILE_ATTEMPTS; attempt++) {
      const previous = await this.getAgent(profile.agentId);
      if (isStaleProfile(previous, profile)) return 'stale';
      const next = applyAgentProfile(previous, profile, this.clock.now());
      const expression = new Expression();
      const update = expression.update(
        {
          status: next.status,
          kind: next.kind,
          capacity: next.capacity,
          skills: next.skills,
          idleSince: next.idleSince,
          shiftEndsAt: next.shiftEndsAt,
          changedAt: next.changedAt,
          updatedAt: next.updatedAt,
        },
        next.shiftEndsAt === undefined ? ['shiftEndsAt'] : [],
        // activeCount belongs to claims and releases: only initialise it.
        [
          `${expression.name('activeCount')} = if_not_exists(${expression.name('activeCount')}, ${expression.value(0)})`,
        ],
      );
      // The status we computed idleSince from must still be the stored one.
      const condition =
        previous === undefined
          ? 'attribute_not_exists(pk)'
          : `${expression.name('status')} = ${expression.value(previous.status)} AND (attribute_not_exists(${expression.name('changedAt')}) OR ${expression.name('changedAt')} < ${expression.value(profile.changedAt)})`;
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: AGENT_PK, sk: profile.agentId },
            UpdateExpression: update,
            ConditionExpression: condition,
            ...expression.attributes(),
          }),
        );
        return previous === undefined ? 'created' : 'updated';
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    throw new StatsContentionError(`agent ${profile.agentId} kept changing while its profile was written`);
  }

  async claimCapacity(claim: CapacityClaim): Promise<ClaimOutcome> {
    const agent = new Expression();
    const instance = new Expression();
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { pk: AGENT_PK, sk: claim.agentId },
                UpdateExpression: agent.update(
                  { updatedAt: claim.at },
                  [],
                  [`${agent.name('activeCount')} = ${agent.name('activeCount')} + ${agent.value(1)}`],
                ),
                ConditionExpression: `${agent.name('status')} = ${agent.value('available')} AND ${agent.name('activeCount')} < ${agent.name('capacity')}`,
                ...agent.attributes(),
              },
            },
            {
              Update: {
                TableName: this.instancesTable,
                Key: { itemId: claim.itemId },
                UpdateExpression: instance.update(
                  {
                    stage: 'ASSIGNED',
                    stageEnteredAt: claim.at,
                    assignee: claim.agentId,
                    capacityHeldBy: claim.agentId,
                    lastAssignmentToken: claim.taskToken,
                    assignedAt: claim.at,
                  },
                  ['taskToken', 'waitingFor'],
                ),
                ConditionExpression: `${instance.name('stage')} = ${instance.value('WAITING_ASSIGNMENT')} AND ${instance.name('taskToken')} = ${instance.value(claim.taskToken)}`,
                ...instance.attributes(),
              },
            },
          ],
        }),
      );
      return { outcome: 'claimed' };
    } catch (error) {
      const codes = transactionCancellationCodes(error);
      if (codes === undefined) throw error;
      const agentFailed = codes[0] === 'ConditionalCheckFailed';
      const instanceFailed = codes[1] === 'ConditionalCheckFailed';
      // A conflict with a concurrent transaction is worth retrying next round, like a failed condition.
      if (!agentFailed && !instanceFailed && !codes.includes('TransactionConflict')) throw error;
      return {
        outcome: 'conflict',
        reason: agentFailed && instanceFailed ? 'both' : agentFailed ? 'agent' : 'instance',
      };
    }
  }

  async releaseCapacity(release: {
    itemId: string;
    agentId: string;
    at: number;
  }): Promise<'released' | 'not-held'> {
    const instance = new Expression();
    const instanceUpdate = {
      TableName: this.instancesTable,
      Key: { itemId: release.itemId },
      UpdateExpression: instance.update({}, ['capacityHeldBy']),
      ConditionExpression: `${instance.name('capacityHeldBy')} = ${instance.value(release.agentId)}`,
      ...instance.attributes(),
    };
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: this.freeAgentSlot(release.agentId, release.at) },
            { Update: instanceUpdate },
          ],
        }),
      );
    } catch (error) {
      const codes = transactionCancellationCodes(error);
      if (codes === undefined) throw error;
      if (codes[1] === 'ConditionalCheckFailed') return 'not-held';
      if (codes[0] !== 'ConditionalCheckFailed') throw error;
      // The agent already shows 0 active (or is gone): drop the hold without going negative.
      try {
        await this.client.send(new UpdateCommand(instanceUpdate));
      } catch (fallbackError) {
        if (isConditionalCheckFailed(fallbackError)) return 'not-held';
        throw fallbackError;
      }
      return 'released';
    }
    await this.restartIdleClockIfFree(release.agentId, release.at);
    return 'released';
  }

  /** One agent slot given back (never below 0): the shared half of a release and a revert. */
  private freeAgentSlot(agentId: string, at: number) {
    const agent = new Expression();
    return {
      TableName: this.table,
      Key: { pk: AGENT_PK, sk: agentId },
      UpdateExpression: agent.update(
        { updatedAt: at },
        [],
        [`${agent.name('activeCount')} = ${agent.name('activeCount')} - ${agent.value(1)}`],
      ),
      ConditionExpression: `${agent.name('activeCount')} > ${agent.value(0)}`,
      ...agent.attributes(),
    };
  }

  async revertClaim(claim: CapacityClaim): Promise<'reverted' | 'not-claimed'> {
    const current = await this.client.send(
      new GetCommand({ TableName: this.instancesTable, Key: { itemId: claim.itemId }, ConsistentRead: true }),
    );
    const enqueuedAt = typeof current.Item?.enqueuedAt === 'number' ? current.Item.enqueuedAt : claim.at;
    const instance = new Expression();
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: this.freeAgentSlot(claim.agentId, claim.at) },
            {
              Update: {
                TableName: this.instancesTable,
                Key: { itemId: claim.itemId },
                UpdateExpression: instance.update(
                  {
                    stage: 'WAITING_ASSIGNMENT',
                    stageEnteredAt: enqueuedAt,
                    taskToken: claim.taskToken,
                    waitingFor: 'assignment',
                  },
                  ['assignee', 'capacityHeldBy', 'lastAssignmentToken', 'assignedAt'],
                ),
                ConditionExpression: `${instance.name('stage')} = ${instance.value('ASSIGNED')} AND ${instance.name('lastAssignmentToken')} = ${instance.value(claim.taskToken)} AND ${instance.name('capacityHeldBy')} = ${instance.value(claim.agentId)}`,
                ...instance.attributes(),
              },
            },
          ],
        }),
      );
      return 'reverted';
    } catch (error) {
      if (transactionCancellationCodes(error)?.includes('ConditionalCheckFailed')) return 'not-claimed';
      throw error;
    }
  }

  /** Longest-idle fairness counts from when an available agent's last item finished. */
  private async restartIdleClockIfFree(agentId: string, at: number): Promise<void> {
    const expression = new Expression();
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: AGENT_PK, sk: agentId },
          UpdateExpression: expression.update({ idleSince: at }),
          ConditionExpression: `${expression.name('activeCount')} = ${expression.value(0)} AND ${expression.name('status')} = ${expression.value('available')}`,
          ...expression.attributes(),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async readHandlingFeatures(): Promise<HandlingFeatures> {
    const rows = (await this.queryPartition(STATS_PK)).flatMap((item) => {
      const parsed = StoredStats.safeParse(item);
      return parsed.success ? [parsed.data] : [];
    });
    return toHandlingFeatures(rows);
  }

  async updateHandlingStats(
    key: StatsKey,
    update: (current: HandlingStats | undefined) => HandlingStats,
  ): Promise<void> {
    const sk = statsSortKey(key);
    for (let attempt = 0; attempt < this.maxStatsAttempts; attempt++) {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.table, Key: { pk: STATS_PK, sk }, ConsistentRead: true }),
      );
      const current = Item === undefined ? undefined : StoredStats.parse(Item);
      const next = update(
        current === undefined ? undefined : { count: current.count, mean: current.mean, m2: current.m2 },
      );
      const expression = new Expression();
      const condition =
        current === undefined
          ? 'attribute_not_exists(pk)'
          : `${expression.name('version')} = ${expression.value(current.version)}`;
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: STATS_PK, sk },
            UpdateExpression: expression.update({
              count: next.count,
              mean: next.mean,
              m2: next.m2,
              version: (current?.version ?? 0) + 1,
              updatedAt: this.clock.now(),
            }),
            ConditionExpression: condition,
            ...expression.attributes(),
          }),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // Someone else updated it first: back off with jitter and recompute from their result.
        await pause(Math.random() * 20 * 2 ** attempt);
      }
    }
    throw new StatsContentionError(
      `statistics ${sk} kept changing; gave up after ${this.maxStatsAttempts} attempts`,
    );
  }

  /** The version of a statistics record (for tests of optimistic concurrency). */
  async statsVersion(key: StatsKey): Promise<number | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: STATS_PK, sk: statsSortKey(key) },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : StoredStats.parse(Item).version;
  }

  async getActivePolicy(): Promise<Policy> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: POLICY_PK, sk: ACTIVE_POLICY_SK } }),
    );
    if (Item === undefined) return DEFAULT_POLICY;
    const parsed = Policy.safeParse(Item);
    if (!parsed.success) throw InvalidStoredPolicyError.from(parsed.error);
    return parsed.data;
  }

  async putActivePolicy(policy: Policy): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...Policy.parse(policy), pk: POLICY_PK, sk: ACTIVE_POLICY_SK },
      }),
    );
  }

  async listQueueAssignments(): Promise<QueueAssignment[]> {
    const items = await this.queryPartition(AGENT_PK);
    return items
      .flatMap((item) => {
        if (item.queueId === undefined) return [];
        const stored = StoredQueueAssignment.parse(item);
        return [
          {
            agentId: stored.sk,
            queueId: stored.queueId,
            assignedAt: stored.queueAssignedAt,
            assignedBy: stored.queueAssignedBy,
            ...(stored.queueRecommendationId === undefined
              ? {}
              : { recommendationId: stored.queueRecommendationId }),
          },
        ];
      })
      .sort((a, b) => a.agentId.localeCompare(b.agentId));
  }

  async assignQueue(
    assignment: QueueAssignment,
    expectedQueueId: string | undefined,
  ): Promise<AssignQueueOutcome> {
    const expression = new Expression();
    const queue = expression.name('queueId');
    const update = expression.update(
      {
        queueId: assignment.queueId,
        queueAssignedAt: assignment.assignedAt,
        queueAssignedBy: assignment.assignedBy,
        queueRecommendationId: assignment.recommendationId,
      },
      assignment.recommendationId === undefined ? ['queueRecommendationId'] : [],
    );
    const expected =
      expectedQueueId === undefined
        ? `attribute_not_exists(${queue})`
        : `${queue} = ${expression.value(expectedQueueId)}`;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: AGENT_PK, sk: assignment.agentId },
          UpdateExpression: update,
          // attribute_exists: a move never creates an agent the workforce system has not announced.
          ConditionExpression: `attribute_exists(${expression.name('pk')}) AND ${expected}`,
          ...expression.attributes(),
        }),
      );
      return 'assigned';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return (await this.getAgent(assignment.agentId)) === undefined ? 'unknown-agent' : 'conflict';
    }
  }

  private queryPartition(pk: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    });
  }
}
