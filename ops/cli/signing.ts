import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, Provider, SourceData } from '@smithy/types';

/**
 * SigV4 signing of ops API requests (service `execute-api`), with the AWS SDK's own signer and
 * the standard credential chain (environment, profile, SSO, instance role...): the API's IAM
 * authorisation then knows exactly who acts, and the audit trail records that principal.
 */

/** SHA-256 (or HMAC-SHA-256 when given a secret) on node:crypto, as the signer expects. */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = NodeSha256.create(secret);
  }

  private static create(secret?: SourceData): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = NodeSha256.create(this.secret);
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface SignedRequest {
  readonly headers: Record<string, string>;
}

export type RequestSigner = (request: {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** @default now */
  readonly signingDate?: Date;
}) => Promise<SignedRequest>;

/**
 * A signer for one region. Credentials come from the default provider chain unless given.
 *
 * @example
 * const sign = sigV4Signer({ region: 'eu-west-1' });
 * const { headers } = await sign({ method: 'GET', url: new URL(`${endpoint}/tasks`), headers: {} });
 */
export function sigV4Signer(options: {
  readonly region: string;
  readonly credentials?: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** @default 'execute-api' */
  readonly service?: string;
}): RequestSigner {
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    sha256: NodeSha256,
    // The payload hash header is an S3 convention; API Gateway signs the body through the canonical request.
    applyChecksum: false,
  });
  return async ({ method, url, headers, body, signingDate }) => {
    const signed = await signer.sign(
      {
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams.entries()),
        headers: { ...headers, host: url.host },
        ...(body === undefined ? {} : { body }),
      },
      signingDate === undefined ? {} : { signingDate },
    );
    return { headers: signed.headers };
  };
}

/** The region of an execute-api endpoint (`<id>.execute-api.<region>.amazonaws.com`), if it is one. */
export function regionOfEndpoint(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}
