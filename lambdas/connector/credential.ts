import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { CONNECTOR_CREDENTIAL_MAX_AGE_SECONDS } from '../../lib/definitions/connectors';
import { type CredentialSource, credentialOrNone } from '../shared/connector';

/**
 * The connector's credential from Secrets Manager, read at run time (never from the environment,
 * where anyone who may read the function's configuration would see it), through Powertools
 * Parameters' cache: a warm container reads the secret at most every `maxAgeSeconds`, and at once
 * after the system refused the cached value, so a credential just replaced is picked up.
 *
 * @example
 * const source = new SecretsManagerCredentialSource('arn:aws:secretsmanager:...:secret:ConnectorCredential-abc');
 * await source.current(); // 'Bearer ...', or undefined when the secret is blank
 */
export class SecretsManagerCredentialSource implements CredentialSource {
  private stale = false;

  constructor(
    private readonly secretArn: string,
    private readonly maxAgeSeconds = CONNECTOR_CREDENTIAL_MAX_AGE_SECONDS,
  ) {}

  get location(): string {
    return `the secret ${this.secretArn}`;
  }

  async current(): Promise<string | undefined> {
    const forceFetch = this.stale;
    const value = await getSecret(this.secretArn, { maxAge: this.maxAgeSeconds, forceFetch });
    this.stale = false;
    if (value !== undefined && typeof value !== 'string') {
      throw new TypeError(`${this.location} holds a binary value; it must hold the header value as text`);
    }
    return credentialOrNone(value);
  }

  invalidate(): void {
    this.stale = true;
  }
}
