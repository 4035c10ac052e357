import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURES_TABLE, INSTANCES_TABLE, TABLES } from '../../lib/definitions';
import { AslRunner, type ExecutionHistoryEvent } from '../../local/asl-runner';
import {
  createTables,
  type DynamoDbLocal,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
  type TableNames,
} from '../../local/dynamodb-local';
import { LOCAL_REGION } from '../../local/local-names';
import { localProcessDefinition } from '../../local/process-definition';
import { ReleaseFaults } from './release-faults';

/**
 * The capacity release of process-instance.asl.json run on its own: the states from
 * "Release Capacity" up to "After Release" (which ends the run here), taken from the real
 * definition, against DynamoDB Local. The paths that reach it (timeout, cancel, dispatch failure)
 * are driven through the whole runtime in release-paths.test.ts.
 */

const ENTRY = 'Release Capacity';
const EXIT = 'After Release';
const AGENT = 'agent-ana';

type AslStates = Record<string, Record<string, unknown>>;

/** Every state reachable from ENTRY without passing EXIT, and EXIT as a Succeed. */
function releaseMachine(tableNames: TableNames): string {
  const { States } = JSON.parse(localProcessDefinition(tableNames)) as { States: AslStates };
  const states: AslStates = { [EXIT]: { Type: 'Succeed' } };
  const queue = [ENTRY];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (name in states) continue;
    const state = States[name];
    if (state === undefined) throw new Error(`no state "${name}" in the definition`);
    states[name] = state;
    const choices = (state.Choices ?? []) as { Next: string }[];
    const catchers = (state.Catch ?? []) as { Next: string }[];
    for (const next of [
      state.Next,
      state.Default,
      ...choices.map((c) => c.Next),
      ...catchers.map((c) => c.Next),
    ])
      if (typeof next === 'string') queue.push(next);
  }
  return JSON.stringify({ StartAt: ENTRY, States: states });
}

const entered = (history: readonly ExecutionHistoryEvent[]): string[] =>
  history.flatMap((event) => (event.type === 'StateEntered' ? [event.state.name] : []));

describe('Release Capacity, the one atomic step that gives a claimed slot back', () => {
  let dynamo: DynamoDbLocal;
  let tables: TableNames;
  let client: DynamoDBClient;
  let faults: ReleaseFaults;
  let runner: AslRunner;
  let run = 0;

  const featuresTable = () => tables[FEATURES_TABLE.id] as string;
  const instancesTable = () => tables[INSTANCES_TABLE.id] as string;

  /** An agent showing `activeCount` and an item holding one of its slots (or none). */
  async function seed(itemId: string, activeCount: number, heldBy: string | undefined): Promise<void> {
    await dynamo.client.send(
      new PutItemCommand({
        TableName: featuresTable(),
        Item: { pk: { S: 'AGENT' }, sk: { S: AGENT }, activeCount: { N: String(activeCount) } },
      }),
    );
    await dynamo.client.send(
      new PutItemCommand({
        TableName: instancesTable(),
        Item: {
          itemId: { S: itemId },
          stage: { S: 'ASSIGNED' },
          ...(heldBy === undefined ? {} : { capacityHeldBy: { S: heldBy } }),
        },
      }),
    );
  }

  async function state(itemId: string): Promise<{ activeCount: number; heldBy: string | undefined }> {
    const agent = await dynamo.client.send(
      new GetItemCommand({
        TableName: featuresTable(),
        Key: { pk: { S: 'AGENT' }, sk: { S: AGENT } },
        ConsistentRead: true,
      }),
    );
    const instance = await dynamo.client.send(
      new GetItemCommand({
        TableName: instancesTable(),
        Key: { itemId: { S: itemId } },
        ConsistentRead: true,
      }),
    );
    return { activeCount: Number(agent.Item?.activeCount?.N), heldBy: instance.Item?.capacityHeldBy?.S };
  }

  /** Runs the release for `itemId` as the process does after a missed completion window. */
  async function release(itemId: string) {
    run += 1;
    const name = `${itemId}-${run}`;
    runner.startExecution({
      name,
      input: {
        itemId,
        assignment: { agentId: AGENT },
        error: { Error: 'States.Timeout', Cause: 'completion window closed' },
      },
    });
    const done = await runner.waitForExecution(name, 20_000);
    return {
      done,
      path: entered(runner.getExecutionHistory(name)),
      history: runner.getExecutionHistory(name),
    };
  }

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    tables = await createTables(dynamo.client, TABLES, 'release-');
    // The runner's own client, so faults aimed at it leave the test's reads and seeds alone.
    client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    faults = new ReleaseFaults(client, featuresTable());
    runner = new AslRunner({
      definition: releaseMachine(tables),
      stateMachineName: 'Release',
      bindings: { dynamodb: client },
      retryIntervalMs: 0,
    });
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.stop();
  });

  it('drops the hold and frees one slot in a single transactWriteItems task', async () => {
    // Prepare
    await seed('ITEM-release', 2, AGENT);

    // Act
    const { done, path } = await release('ITEM-release');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(runner.taskBindings[ENTRY]).toBe('aws-sdk:dynamodb');
    expect(path).toEqual([ENTRY, EXIT]);
    expect(await state('ITEM-release')).toEqual({ activeCount: 1, heldBy: undefined });
  });

  it('frees nothing more when the release runs again for the same claim', async () => {
    // Prepare
    await seed('ITEM-replayed', 2, AGENT);
    await release('ITEM-replayed');

    // Act
    const { done, path } = await release('ITEM-replayed');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(await state('ITEM-replayed')).toEqual({ activeCount: 1, heldBy: undefined });
    // Caught as already released: cancelled on the instance's condition, named as on AWS.
    expect(done.output).toMatchObject({
      releaseCancellation: {
        Error: 'DynamoDb.TransactionCanceledException',
        Cause: expect.stringContaining('[ConditionalCheckFailed, None]'),
      },
    });
    expect(path).toEqual([ENTRY, 'Which Release Condition Failed?', EXIT]);
  });

  it('frees one slot when the reply of the applied release is lost and the Retry runs it again', async () => {
    // Prepare
    await seed('ITEM-lost-reply', 2, AGENT);
    faults.loseNextReply();

    // Act
    const { done, history } = await release('ITEM-lost-reply');

    // Assess
    expect(faults.pending).toBe(0);
    expect(done.status).toBe('SUCCEEDED');
    const retried = history.filter((event) => event.type === 'StateRetried');
    expect(retried.length).toBeGreaterThan(0);
    expect(await state('ITEM-lost-reply')).toEqual({ activeCount: 1, heldBy: undefined });
  });

  it('retries a release cancelled by a concurrent transaction, then frees the slot', async () => {
    // Prepare
    await seed('ITEM-conflict', 2, AGENT);
    faults.conflictOnNextWrite();

    // Act
    const { done, path } = await release('ITEM-conflict');

    // Assess
    expect(faults.pending).toBe(0);
    expect(done.status).toBe('SUCCEEDED');
    expect(path).toEqual([ENTRY, EXIT]);
    expect(await state('ITEM-conflict')).toEqual({ activeCount: 1, heldBy: undefined });
  });

  it('frees nothing for an item that holds no slot (never claimed, or released by Record Outcome)', async () => {
    // Prepare
    await seed('ITEM-unheld', 1, undefined);

    // Act
    const { done, path } = await release('ITEM-unheld');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(path).toEqual([ENTRY, 'Which Release Condition Failed?', EXIT]);
    expect(await state('ITEM-unheld')).toEqual({ activeCount: 1, heldBy: undefined });
  });

  it('drops the hold without going below 0 when the agent already shows no active item', async () => {
    // Prepare
    await seed('ITEM-stale-hold', 0, AGENT);

    // Act
    const { done, path } = await release('ITEM-stale-hold');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(path).toEqual([ENTRY, 'Which Release Condition Failed?', 'Drop Stale Hold', EXIT]);
    expect(await state('ITEM-stale-hold')).toEqual({ activeCount: 0, heldBy: undefined });
  });

  it('names the transaction as Step Functions does: instance first, then the agent, both on exact keys', () => {
    // Prepare
    const { States } = JSON.parse(releaseMachine(tables)) as { States: AslStates };

    // Act
    const parameters = States[ENTRY]?.Parameters as TransactWriteItemsCommandInput;

    // Assess
    expect(States[ENTRY]?.Resource).toBe('arn:aws:states:::aws-sdk:dynamodb:transactWriteItems');
    expect(parameters.TransactItems?.map((item) => item.Update?.TableName)).toEqual([
      instancesTable(),
      featuresTable(),
    ]);
  });
});
