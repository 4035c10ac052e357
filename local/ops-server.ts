import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDbOpsStore } from '../lambdas/ops-api/dynamodb-ops-store';
import { createOpsApi, type OpsApi } from '../lambdas/ops-api/handler';
import { apiGatewayEvent } from '../lambdas/ops-api/proxy-event';
import { DynamoDbAllocationStore } from '../lambdas/shared/dynamodb-allocation-store';
import type { Clock } from '../lambdas/shared/ports';
import type { LocalRuntime } from './runtime';

/**
 * The operations API over node:http, against the local runtime: the real ops handler on the
 * runtime's DynamoDB Local tables and its task tokens, each request turned into the API Gateway
 * proxy event the deployed API would send. It listens on 127.0.0.1 only and trusts the caller:
 * the `x-flowtune-actor` header names the person (recorded as `local:<actor>`), where the deployed
 * API takes the signed IAM principal.
 */

/** Header naming the person acting, locally (the deployed API uses the SigV4 signer instead). */
export const ACTOR_HEADER = 'x-flowtune-actor';
export const DEFAULT_LOCAL_ACTOR = 'local-operator';

/** Largest request body accepted (a policy proposal is a few KB). */
const MAX_BODY_BYTES = 256 * 1024;

export interface OpsServer {
  /** e.g. http://127.0.0.1:43125 */
  readonly url: string;
  readonly api: OpsApi;
  close(): Promise<void>;
}

export interface OpsServerOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default the runtime's clock (scaled with it), so expiries agree with the jobs that set them */
  readonly clock?: Clock;
}

/**
 * Starts the ops API for a running local runtime. Close it before stopping the runtime.
 *
 * @example
 * const runtime = await startLocalRuntime();
 * const server = await startOpsServer(runtime);
 * // npx tsx bin/flowtune.ts ops tasks --endpoint <server.url>
 * await server.close(); await runtime.stop();
 */
export async function startOpsServer(
  runtime: LocalRuntime,
  options: OpsServerOptions = {},
): Promise<OpsServer> {
  const api = createOpsApi({
    features: runtime.ports.features,
    policies: runtime.policies,
    instances: runtime.ports.instances,
    audit: runtime.ports.audit,
    executions: runtime.ports.executions,
    store: new DynamoDbOpsStore({ client: runtime.documentClient, ...runtime.tables }),
    tuning: runtime.tuning.store,
    // The allocation job's store: the same Features table its timer runs on (local/allocation-runtime.ts).
    allocation: new DynamoDbAllocationStore({
      client: runtime.documentClient,
      featuresTable: runtime.tables.featuresTable,
    }),
    clock: options.clock ?? runtime.clock,
  });

  return serveOpsApi(api, options.port);
}

/**
 * Serves an ops API over node:http on 127.0.0.1 (startOpsServer's transport, also used by tests
 * with in-memory ports). A body over the limit is answered 413 with `connection: close` after the
 * rest of it was read and discarded, so the client sees the answer and opens a new connection
 * instead of writing its next request into a half-read one.
 */
export async function serveOpsApi(api: OpsApi, port = 0): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    void (async () => {
      try {
        const rawBody = await readBody(request);
        const url = requestUrl(request.url);
        if (url === undefined) {
          response.writeHead(400, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              error: 'BadRequest',
              message: 'the request target is not a path (send /items/{itemId}, /tasks, ...)',
            }),
          );
          return;
        }
        const actorHeader = request.headers[ACTOR_HEADER];
        const actor =
          typeof actorHeader === 'string' && actorHeader !== '' ? actorHeader : DEFAULT_LOCAL_ACTOR;
        const event = apiGatewayEvent({
          method: request.method ?? 'GET',
          path: url.pathname,
          actor: `local:${actor}`,
          ...(rawBody === '' ? {} : { rawBody }),
          query: Object.fromEntries(url.searchParams.entries()),
          headers: Object.fromEntries(
            Object.entries(request.headers).flatMap(([name, value]) =>
              typeof value === 'string' ? [[name, value]] : [],
            ),
          ),
        });
        const answer = await api.http(event, { awsRequestId: event.requestContext.requestId });
        response.writeHead(answer.statusCode, { ...(answer.headers as Record<string, string>) });
        response.end(answer.body);
      } catch (error) {
        const tooLarge = error instanceof BodyTooLargeError;
        if (response.headersSent) {
          response.destroy();
          return;
        }
        response.writeHead(tooLarge ? 413 : 500, {
          'content-type': 'application/json',
          // The connection's state is not trusted after a refused body: the client reconnects.
          ...(tooLarge ? { connection: 'close' } : {}),
        });
        response.end(
          JSON.stringify({
            error: tooLarge ? 'PayloadTooLarge' : 'InternalError',
            message: tooLarge
              ? `bodies are limited to ${MAX_BODY_BYTES} bytes`
              : 'the local ops server failed',
          }),
        );
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${bound}`,
    api,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * The request target as a URL on this server. Resolving it against a base would read a target
 * that starts with `//` as a host (`//x/tasks` is host x, path /tasks, or no URL at all), so an
 * origin-form target is appended to this server's origin instead; anything unparsable is none.
 */
function requestUrl(target: string | undefined): URL | undefined {
  const path = target ?? '/';
  try {
    return new URL(path.startsWith('/') ? `http://127.0.0.1${path}` : path);
  } catch {
    return undefined;
  }
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Past this, an oversized body is not even drained: the connection is cut. */
const MAX_DRAINED_BYTES = 16 * MAX_BODY_BYTES;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    // Over the limit: keep reading (and discarding) to the end of the body, so the 413 is read by
    // a client that is still writing; past the drain limit, give up on the connection.
    if (size > MAX_DRAINED_BYTES) {
      request.destroy();
      break;
    }
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
  return Buffer.concat(chunks).toString('utf8');
}
