import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_TABLE, INSTANCES_TABLE, PROJECT_ROOT, TABLES } from '../../lib/definitions';
import {
  createTables,
  DEFAULT_DYNAMODB_LOCAL_HEAP_MB,
  type DynamoDbLocal,
  startDynamoDbLocal,
} from '../../local/dynamodb-local';

const run = promisify(execFile);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The command line a process runs with, as `ps` shows it. */
async function commandLine(pid: number): Promise<string[]> {
  const { stdout } = await run('ps', ['-o', 'args=', '-p', String(pid)]);
  return stdout.trim().split(/\s+/);
}

async function waitUntilGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return !isAlive(pid);
}

describe('DynamoDB Local with the tables of lib/definitions', () => {
  let dynamo: DynamoDbLocal;

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('creates every table with the key schema, GSIs and TTL of its definition', async () => {
    // Prepare
    const prefix = 'schema-';

    // Act
    const names = await createTables(dynamo.client, TABLES, prefix);

    // Assess
    for (const table of TABLES) {
      expect(names[table.id]).toBe(`${prefix}${table.id}`);
      const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: names[table.id] }));
      const expectedKeys: { AttributeName: string; KeyType: string }[] = [
        { AttributeName: table.partitionKey.name, KeyType: 'HASH' },
      ];
      if ('sortKey' in table) expectedKeys.push({ AttributeName: table.sortKey.name, KeyType: 'RANGE' });
      expect(Table?.KeySchema).toEqual(expectedKeys);
      expect((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName)).toEqual(
        table.globalSecondaryIndexes.map((index) => index.indexName),
      );
      const ttl = await dynamo.client.send(new DescribeTimeToLiveCommand({ TableName: names[table.id] }));
      expect(ttl.TimeToLiveDescription?.AttributeName).toBe(
        'timeToLiveAttribute' in table ? table.timeToLiveAttribute : undefined,
      );
    }
  });

  it('answers a query on the byStage index, oldest first', async () => {
    // Prepare
    const names = await createTables(dynamo.client, [INSTANCES_TABLE], 'gsi-');
    const TableName = names[INSTANCES_TABLE.id];
    for (const [itemId, enteredAt] of [
      ['late', 300],
      ['early', 100],
      ['middle', 200],
    ] as const) {
      await dynamo.client.send(
        new PutItemCommand({
          TableName,
          Item: {
            itemId: { S: itemId },
            stage: { S: 'WAITING_ASSIGNMENT' },
            stageEnteredAt: { N: String(enteredAt) },
          },
        }),
      );
    }

    // Act
    const result = await dynamo.client.send(
      new QueryCommand({
        TableName,
        IndexName: 'byStage',
        KeyConditionExpression: 'stage = :stage',
        ExpressionAttributeValues: { ':stage': { S: 'WAITING_ASSIGNMENT' } },
      }),
    );

    // Assess
    expect(result.Items?.map((item) => item.itemId?.S)).toEqual(['early', 'middle', 'late']);
  });

  it('cancels a transaction whose condition fails and names the reason', async () => {
    // Prepare
    const names = await createTables(dynamo.client, [AUDIT_TABLE], 'tx-');
    const TableName = names[AUDIT_TABLE.id];
    const record = { itemId: { S: 'item-1' }, recordKey: { S: '2026-01-01T00:00:00Z#routed' } };
    await dynamo.client.send(new PutItemCommand({ TableName, Item: record }));

    // Act
    const attempt = dynamo.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName, Item: record, ConditionExpression: 'attribute_not_exists(itemId)' } },
        ],
      }),
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'ConditionalCheckFailed' }],
    });
  });
});

describe('DynamoDB Local settings', () => {
  let dynamo: DynamoDbLocal;

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('runs in memory with a bounded heap by default, so a long soak cannot grow the JVM to a quarter of the machine', async () => {
    // Act
    const args = await commandLine(dynamo.pid);

    // Assess
    expect(args).toContain(`-Xmx${DEFAULT_DYNAMODB_LOCAL_HEAP_MB}m`);
    expect(args).toContain('-XX:+ExitOnOutOfMemoryError');
    expect(args).toContain('-inMemory');
    expect(args).not.toContain('-dbPath');
  });

  it('serves one database whatever the credentials and region of the client (-sharedDb)', async () => {
    // Prepare
    const names = await createTables(dynamo.client, [AUDIT_TABLE], 'shared-');
    const stranger = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'someoneelse', secretAccessKey: 'other' },
    });

    // Act
    const listed = await stranger.send(new ListTablesCommand({}));
    stranger.destroy();

    // Assess
    expect(listed.TableNames).toContain(names[AUDIT_TABLE.id]);
  });
});

describe('DynamoDB Local lifecycle', () => {
  it('starts the JVM with the heap it is given, and serves requests with it', async () => {
    // Prepare
    const dynamo = await startDynamoDbLocal({ heapMb: 128 });

    try {
      // Act
      const args = await commandLine(dynamo.pid);
      const listed = await dynamo.client.send(new ListTablesCommand({}));

      // Assess
      expect(args).toContain('-Xmx128m');
      expect(listed.TableNames).toEqual([]);
    } finally {
      await dynamo.stop();
    }
  });

  it.each([32, 512.5])(
    'refuses a heap of %s MiB before starting anything, naming the limit',
    async (heapMb) => {
      // Act
      const attempt = startDynamoDbLocal({ heapMb });

      // Assess
      await expect(attempt).rejects.toThrow(`heapMb must be a whole number of MiB >= 64, got ${heapMb}`);
    },
  );

  it('stop() kills the Java process and is idempotent', async () => {
    // Prepare
    const dynamo = await startDynamoDbLocal();
    expect(isAlive(dynamo.pid)).toBe(true);

    // Act
    await dynamo.stop();
    await dynamo.stop();

    // Assess
    expect(await waitUntilGone(dynamo.pid)).toBe(true);
  });

  it('fails fast, naming the port, when the port it was given is taken', async () => {
    // Prepare
    const squatter = createServer(() => {});
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;

    // Act
    const attempt = startDynamoDbLocal({ port });

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'PortInUseError' });
    await expect(attempt).rejects.toThrow(`did not start on port ${port}`);
    squatter.close();
  });

  it('names the missing Java prerequisite when java cannot be run', async () => {
    // Prepare
    const javaCommand = 'java-that-is-not-installed';

    // Act
    const attempt = startDynamoDbLocal({ javaCommand });

    // Assess
    await expect(attempt).rejects.toThrow(/install Java 17\+/);
  });

  it.each([
    ['exits without calling stop()', 'exit', 'code 0'],
    ['is interrupted with SIGINT', 'sigint', 'signal SIGINT'],
    ['crashes with an uncaught error', 'throw', 'code 1'],
  ])('kills DynamoDB Local when its Node process %s', async (_, how, expectedEnd) => {
    // Prepare
    const script = join(PROJECT_ROOT, 'test/local/fixtures/start-dynamodb-and-die.ts');

    // Act
    const outcome = await run(process.execPath, ['--import', 'tsx', script, how], { cwd: PROJECT_ROOT }).then(
      (result) => ({ end: 'code 0', stdout: result.stdout }),
      (error: { code: number | null; signal: string | null; stdout: string }) => ({
        end: error.signal ? `signal ${error.signal}` : `code ${error.code}`,
        stdout: error.stdout,
      }),
    );

    // Assess
    expect(outcome.end).toBe(expectedEnd);
    const { pid } = JSON.parse(outcome.stdout.trim().split('\n')[0] ?? '{}') as { pid: number };
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntilGone(pid)).toBe(true);
  });
});
