import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectorDelivery } from '../lambdas/shared/connector';

/**
 * A stand-in for an executing system (an RPA queue, an automation platform) that Flowtune's
 * connector calls directly: a small HTTP server that takes POSTed ConnectorDelivery bodies, acts
 * once per Idempotency-Key as a well-behaved real one does (a repeated key gets the first answer
 * back, nothing is done twice), and can be told to be down, slow or failing, so the connector's
 * retries, circuit breaker and dead-lettering meet a real network path locally.
 */

/** How the system answers from now on. */
export type ExecutingSystemBehaviour =
  /** Acts on each new key and answers 200 `{ ref }`. */
  | { readonly kind: 'up' }
  /** Drops every connection without an answer (the caller sees a network error). */
  | { readonly kind: 'down' }
  /** Waits `delayMs` before acting and answering (a caller with a shorter timeout gives up). */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Answers `status` (5xx, 429, a 4xx...) without acting. */
  | { readonly kind: 'failing'; readonly status: number };

/** One delivery the system acted on. */
export interface ReceivedDelivery {
  readonly idempotencyKey: string;
  readonly delivery: ConnectorDelivery;
  /** The system's own reference, returned to the caller. */
  readonly ref: string;
  /** Epoch ms when it acted. */
  readonly at: number;
}

export interface ExecutingSystemOptions {
  /** Its name, in refs and errors. @default 'executing-system' */
  readonly name?: string;
  /** @default 0: a free port chosen by the OS */
  readonly port?: number;
  /** @default { kind: 'up' } */
  readonly behaviour?: ExecutingSystemBehaviour;
  /**
   * The credential it requires, as a real system does: a request without exactly this value in
   * `header` is answered 401 and not acted on. @default none required
   */
  readonly requireCredential?: { readonly header?: string; readonly value: string };
}

export interface LocalExecutingSystem {
  readonly name: string;
  /** Where to POST deliveries: `http://127.0.0.1:<port>/deliveries`. */
  readonly url: string;
  /** What it acted on, once per Idempotency-Key, in order. */
  readonly deliveries: readonly ReceivedDelivery[];
  /** Every request that reached it (duplicates, refusals and failures included; dropped ones too). */
  readonly requests: number;
  /** Requests whose key it had already acted on (answered with the first answer). */
  readonly duplicates: number;
  /** Requests refused with 401 for a missing or wrong credential. */
  readonly unauthorized: number;
  readonly behaviour: ExecutingSystemBehaviour;
  /** Changes how it answers from the next request on. */
  setBehaviour(behaviour: ExecutingSystemBehaviour): void;
  /** Deliveries acted on for one item (any attempt). */
  deliveriesFor(itemId: string): readonly ReceivedDelivery[];
  /** Closes the server and every open connection; idempotent. */
  stop(): Promise<void>;
}

const PATH = '/deliveries';
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Starts the stand-in on 127.0.0.1. Always pair it with `stop()`.
 *
 * @example
 * const system = await startExecutingSystem({ name: 'rpa' });
 * const runtime = await startLocalRuntime({ connector: { endpoint: system.url, name: system.name } });
 * system.setBehaviour({ kind: 'down' }); // deliveries now fail, the circuit opens
 */
export async function startExecutingSystem(
  options: ExecutingSystemOptions = {},
): Promise<LocalExecutingSystem> {
  const name = options.name ?? 'executing-system';
  let behaviour: ExecutingSystemBehaviour = checked(options.behaviour ?? { kind: 'up' });
  const deliveries: ReceivedDelivery[] = [];
  const byKey = new Map<string, ReceivedDelivery>();
  let requests = 0;
  let duplicates = 0;
  let unauthorized = 0;
  const required = options.requireCredential;
  const credentialHeader = (required?.header ?? 'Authorization').toLowerCase();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    requests += 1;
    const current = behaviour;
    if (current.kind === 'down') {
      request.socket.destroy();
      return;
    }
    if (request.method !== 'POST' || request.url !== PATH) {
      return answer(response, 404, { message: `POST ${PATH} is the only route` });
    }
    if (required !== undefined && request.headers[credentialHeader] !== required.value) {
      unauthorized += 1;
      return answer(response, 401, { message: `a valid ${credentialHeader} header is required` });
    }
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) {
      return answer(response, 400, { message: 'the Idempotency-Key header is required' });
    }
    const text = await readBody(request);
    if (text === undefined) return answer(response, 413, { message: `body over ${MAX_BODY_BYTES} bytes` });
    if (current.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, current.delayMs));
    if (current.kind === 'failing')
      return answer(response, current.status, { message: `${name} is failing` });
    const earlier = byKey.get(key);
    if (earlier !== undefined) {
      duplicates += 1;
      return answer(response, 200, { ref: earlier.ref, duplicate: true });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return answer(response, 400, { message: 'the body is not JSON' });
    }
    const parsed = ConnectorDelivery.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return answer(response, 422, {
        message: `invalid delivery at ${issue?.path.join('.')}: ${issue?.message}`,
      });
    }
    const received: ReceivedDelivery = {
      idempotencyKey: key,
      delivery: parsed.data,
      ref: `${name}-${deliveries.length + 1}`,
      at: Date.now(),
    };
    byKey.set(key, received);
    deliveries.push(received);
    return answer(response, 200, { ref: received.ref });
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) answer(response, 500, { message: String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    name,
    url: `http://127.0.0.1:${port}${PATH}`,
    deliveries,
    get requests() {
      return requests;
    },
    get duplicates() {
      return duplicates;
    },
    get unauthorized() {
      return unauthorized;
    },
    get behaviour() {
      return behaviour;
    },
    setBehaviour: (next) => {
      behaviour = checked(next);
    },
    deliveriesFor: (itemId) => deliveries.filter((received) => received.delivery.itemId === itemId),
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

function checked(behaviour: ExecutingSystemBehaviour): ExecutingSystemBehaviour {
  if (behaviour.kind === 'slow' && !(Number.isFinite(behaviour.delayMs) && behaviour.delayMs >= 0)) {
    throw new RangeError(`slow: delayMs must be a number of ms >= 0, got ${behaviour.delayMs}`);
  }
  if (
    behaviour.kind === 'failing' &&
    !(Number.isInteger(behaviour.status) && behaviour.status >= 400 && behaviour.status <= 599)
  ) {
    throw new RangeError(`failing: status must be an HTTP error status (400-599), got ${behaviour.status}`);
  }
  return behaviour;
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** The request body as text, or undefined when it is larger than MAX_BODY_BYTES. */
async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
