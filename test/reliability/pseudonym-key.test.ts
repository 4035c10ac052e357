import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymiser, type Pseudonymiser } from '../../lambdas/shared/pseudonymise';
import { type SecretsStandIn, startSecretsStandIn } from '../support/secrets-stand-in';

/**
 * The pseudonym key read at run time: the deployed entry points' key source through the real AWS
 * SDK and Powertools Parameters against a local Secrets Manager stand-in, and the wrapper that
 * lets every invocation pseudonymise with the current key.
 */

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:PseudonymKey-AbCdEf';
const FIRST_KEY = 'first-pseudonym-key-0123456789abcdefghijklmnopqrstuvwxyz';
const SECOND_KEY = 'second-pseudonym-key-0123456789abcdefghijklmnopqrstuvwxyz';

describe('the pseudonym key, read from Secrets Manager at run time', () => {
  let standIn: SecretsStandIn;
  let shared: typeof import('../../lambdas/shared/pseudonymise');

  beforeAll(async () => {
    standIn = await startSecretsStandIn(ARN, FIRST_KEY);
    const { port } = standIn.server.address() as AddressInfo;
    // Set before the SDK client is built (Powertools builds it on first use).
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${port}`;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    shared = await import('../../lambdas/shared/pseudonymise');
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    await new Promise<void>((resolve) => standIn.server.close(() => resolve()));
  });

  it('finds the secret through PSEUDONYM_KEY_SECRET_ID on Lambda, reads it once and serves it from the cache', async () => {
    // Prepare
    const deployed = { AWS_LAMBDA_FUNCTION_NAME: 'flowtune-intake', PSEUDONYM_KEY_SECRET_ID: ARN };
    const source = shared.pseudonymKeySourceFromEnv('intake', deployed);
    standIn.requests.length = 0;

    // Act
    const keys = [await source.current(), await source.current()];

    // Assess
    expect(keys).toEqual([FIRST_KEY, FIRST_KEY]);
    expect(standIn.requests).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: ARN }]);
    expect(source.location).toBe(`the secret ${ARN}`);
  });

  it('refuses a binary secret, naming it and never showing a value', async () => {
    // Prepare
    const binaryArn = `${ARN}-binary`;
    standIn.value = { SecretBinary: Buffer.from('not text').toString('base64') };
    const source = new shared.SecretsManagerPseudonymKey(binaryArn, 0);

    // Act
    const reading = source.current();

    // Assess
    await expect(reading).rejects.toThrow(`the secret ${binaryArn} holds a binary value`);
    standIn.value = { SecretString: FIRST_KEY };
  });

  it('builds the handler once and pseudonymises each invocation with the key current then', async () => {
    // Prepare
    let key = FIRST_KEY;
    let builds = 0;
    const handler = shared.builtWithPseudonymKey(
      'intake',
      (pseudonymise: Pseudonymiser) => {
        builds += 1;
        return async (customerId: string) => pseudonymise(customerId);
      },
      () => ({ location: 'a test key', current: async () => key }),
    );

    // Act
    const before = await handler('cust-88213');
    key = SECOND_KEY;
    const after = await handler('cust-88213');

    // Assess
    expect(before).toBe(createPseudonymiser(FIRST_KEY)('cust-88213'));
    expect(after).toBe(createPseudonymiser(SECOND_KEY)('cust-88213'));
    expect(after).not.toBe(before);
    expect(builds).toBe(1);
  });

  it('fails the invocation, not the process, when the key cannot be read', async () => {
    // Prepare
    const handler = shared.builtWithPseudonymKey(
      'intake',
      (pseudonymise: Pseudonymiser) => async (value: string) => pseudonymise(value),
      () => ({
        location: 'a refused secret',
        current: async () => {
          throw new Error('AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue');
        },
      }),
    );

    // Act
    const invoking = handler('cust-1');

    // Assess
    await expect(invoking).rejects.toThrow(/AccessDeniedException/);
  });
});
