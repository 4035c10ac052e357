import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The live credential source through the real AWS SDK and Powertools Parameters, against a local
 * stand-in for the Secrets Manager API (its JSON 1.1 protocol: POST with X-Amz-Target), reached
 * through the SDK's service-specific endpoint variable.
 */

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ConnectorCredential-AbCdEf';

interface SecretsStandIn {
  readonly server: Server;
  value: { SecretString: string } | { SecretBinary: string };
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

async function startSecretsStandIn(): Promise<SecretsStandIn> {
  const standIn: SecretsStandIn = {
    server: createServer(async (request, response) => {
      const body = JSON.parse(await readBody(request)) as { SecretId?: unknown };
      standIn.requests.push({ target: String(request.headers['x-amz-target']), secretId: body.SecretId });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          ARN,
          Name: 'ConnectorCredential',
          VersionId: 'v1',
          CreatedDate: 0,
          ...standIn.value,
        }),
      );
    }),
    value: { SecretString: 'Bearer first-token' },
    requests: [],
  };
  await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
  return standIn;
}

describe('the connector credential, read from Secrets Manager at run time', () => {
  let standIn: SecretsStandIn;
  let source: import('../../lambdas/connector/credential').SecretsManagerCredentialSource;

  beforeAll(async () => {
    standIn = await startSecretsStandIn();
    const { port } = standIn.server.address() as AddressInfo;
    // Set before the SDK client is built (Powertools builds it on first use).
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${port}`;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    const { SecretsManagerCredentialSource } = await import('../../lambdas/connector/credential');
    source = new SecretsManagerCredentialSource(ARN, 300);
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    await new Promise<void>((resolve) => standIn.server.close(() => resolve()));
  });

  it('reads the header value with GetSecretValue on the secret, then serves it from the cache', async () => {
    // Act
    const first = await source.current();
    const second = await source.current();

    // Assess
    expect([first, second]).toEqual(['Bearer first-token', 'Bearer first-token']);
    expect(standIn.requests).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: ARN }]);
  });

  it('reads the secret again at once after the system refused the cached value', async () => {
    // Prepare
    standIn.value = { SecretString: 'Bearer replaced-token' };

    // Act
    const cached = await source.current();
    source.invalidate();
    const fresh = await source.current();

    // Assess
    expect(cached).toBe('Bearer first-token');
    expect(fresh).toBe('Bearer replaced-token');
  });

  it('sends no credential for a blank secret, and refuses a binary one naming the secret', async () => {
    // Prepare
    standIn.value = { SecretString: ' ' };
    source.invalidate();

    // Act
    const blank = await source.current();
    standIn.value = { SecretBinary: Buffer.from('not text').toString('base64') };
    source.invalidate();
    const binary = source.current();

    // Assess
    expect(blank).toBeUndefined();
    await expect(binary).rejects.toThrow(/ConnectorCredential-AbCdEf.*binary value/);
  });
});
