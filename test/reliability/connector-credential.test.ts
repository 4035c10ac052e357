import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecretsStandIn, startSecretsStandIn } from '../support/secrets-stand-in';

/**
 * The live credential source through the real AWS SDK and Powertools Parameters, against a local
 * stand-in for the Secrets Manager API (test/support/secrets-stand-in.ts), reached through the
 * SDK's service-specific endpoint variable.
 */

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ConnectorCredential-AbCdEf';

describe('the connector credential, read from Secrets Manager at run time', () => {
  let standIn: SecretsStandIn;
  let source: import('../../lambdas/connector/credential').SecretsManagerCredentialSource;

  beforeAll(async () => {
    standIn = await startSecretsStandIn(ARN, 'Bearer first-token');
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
