import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * A local stand-in for the Secrets Manager API (its JSON 1.1 protocol: POST with X-Amz-Target),
 * for tests of the live secret sources through the real AWS SDK and Powertools Parameters; point
 * the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER before the client is built.
 */
export interface SecretsStandIn {
  readonly server: Server;
  /** What GetSecretValue answers (any secret id). */
  value: { SecretString: string } | { SecretBinary: string };
  /** Every request, in order. */
  readonly requests: { target: string; secretId: unknown }[];
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Starts the stand-in on a free local port, answering for the secret `arn`. */
export async function startSecretsStandIn(arn: string, initial: string): Promise<SecretsStandIn> {
  const standIn: SecretsStandIn = {
    server: createServer(async (request, response) => {
      const body = JSON.parse(await readBody(request)) as { SecretId?: unknown };
      standIn.requests.push({ target: String(request.headers['x-amz-target']), secretId: body.SecretId });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          ARN: arn,
          Name: arn.split(':').at(-1),
          VersionId: 'v1',
          CreatedDate: 0,
          ...standIn.value,
        }),
      );
    }),
    value: { SecretString: initial },
    requests: [],
  };
  await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
  return standIn;
}
