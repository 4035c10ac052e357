import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OpsApiError, OpsClient, resolveTarget } from '../../ops/cli/client';
import { opsCommand, runOpsSubcommand } from '../../ops/cli/ops';
import { regionOfEndpoint, sigV4Signer } from '../../ops/cli/signing';
import { UsageError } from '../../simulator/cli/command';

const EXECUTE_API = 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/';
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

interface Captured {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** A fetch that records the request and answers with `status` and `body`. */
function stubFetch(status: number, body: string, captured: Captured[] = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    captured.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
    });
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

async function run(argv: string[], fetchImpl?: typeof fetch, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOpsSubcommand(argv, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env,
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('flowtune ops: help and usage', () => {
  it('lists every subcommand in its help, with the target options', () => {
    for (const name of [
      'status',
      'bottlenecks',
      'tasks',
      'approve',
      'override',
      'reject',
      'appeal',
      'propose-policy',
      'serve',
    ]) {
      expect(opsCommand.help).toMatch(new RegExp(`\\n  ${name}\\b`));
    }
    expect(opsCommand.help).toContain('--endpoint URL');
    expect(opsCommand.help).toContain('--outputs FILE');
  });

  it('answers --help on each subcommand with its own usage', async () => {
    const { code, out } = await run(['override', '--help']);

    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: flowtune ops override ITEM_ID --agent AGENT_ID --reason TEXT/);
  });

  it.each([
    [['approve', 'HD-1', '--endpoint', 'http://127.0.0.1:1'], /--reason is required/],
    [
      ['approve', 'HD 1', '--reason', 'fine', '--endpoint', 'http://127.0.0.1:1'],
      /ITEM_ID must be 1-80 characters/,
    ],
    [['override', 'HD-1', '--reason', 'fine', '--endpoint', 'http://127.0.0.1:1'], /--agent is required/],
    [['status', '--endpoint', 'http://127.0.0.1:1'], /expected ITEM_ID, got none/],
    [['approve', 'HD-1', '--reason', 'fine', '--colour', 'red'], /Unknown option '--colour'/],
    [['frobnicate'], /unknown subcommand "frobnicate"/],
    [['tasks'], /no ops API to talk to: pass --endpoint URL/],
    [
      ['tasks', '--limit', '0', '--endpoint', 'http://127.0.0.1:1'],
      /--limit must be a whole number from 1 to 200/,
    ],
  ])('refuses %j with a usage error naming the fix', async (argv, message) => {
    await expect(run(argv)).rejects.toThrow(UsageError);
    await expect(run(argv)).rejects.toThrow(message);
  });
});

describe('flowtune ops: talking to the API', () => {
  it('sends the reason as JSON to the local server, naming the person in a header', async () => {
    // Prepare
    const captured: Captured[] = [];
    const answer = {
      itemId: 'HD-1',
      action: 'approve',
      outcome: 'routed',
      actor: 'local:ana',
      at: '2026-11-20T09:00:00.000Z',
    };

    // Act
    const { code, out } = await run(
      [
        'approve',
        'HD-1',
        '--reason',
        'known customer',
        '--endpoint',
        'http://127.0.0.1:4010',
        '--actor',
        'ana',
      ],
      stubFetch(200, JSON.stringify(answer), captured),
    );

    // Assess
    expect(code).toBe(0);
    expect(out).toBe('HD-1: approve by local:ana at 2026-11-20T09:00:00.000Z → routed');
    expect(captured).toEqual([
      {
        url: 'http://127.0.0.1:4010/items/HD-1/approve',
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'x-flowtune-actor': 'ana',
        },
        body: '{"reason":"known customer"}',
      },
    ]);
  });

  it('prints the API error (status, code, message) without a stack trace and exits 1', async () => {
    const refusal = { error: 'AgentUnavailable', message: 'agent agent-full has no free capacity' };

    const { code, err } = await run(
      [
        'override',
        'HD-1',
        '--agent',
        'agent-full',
        '--reason',
        'expert',
        '--endpoint',
        'http://127.0.0.1:4010',
      ],
      stubFetch(409, JSON.stringify(refusal)),
    );

    expect(code).toBe(1);
    expect(err).toBe('flowtune ops override: 409 AgentUnavailable: agent agent-full has no free capacity');
  });

  it('reads the API URL from the stack outputs file that cdk deploy writes, and from FLOWTUNE_OPS_ENDPOINT', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtune-ops-'));
    const file = join(dir, 'outputs.json');
    writeFileSync(file, JSON.stringify({ Flowtune: { OpsApiUrl: EXECUTE_API, EventBusName: 'bus' } }));

    expect(resolveTarget({ outputsFile: file }).endpoint).toBe(EXECUTE_API);
    expect(() => resolveTarget({ outputsFile: file, stack: 'Other' })).toThrow(/has no Other\.OpsApiUrl/);
  });

  it('signs requests to an execute-api endpoint with SigV4 for its region, and only those', () => {
    expect(resolveTarget({ endpoint: EXECUTE_API }).signer).toBeDefined();
    expect(resolveTarget({ endpoint: 'http://127.0.0.1:4010' }).signer).toBeUndefined();
    expect(regionOfEndpoint(new URL(EXECUTE_API))).toBe('eu-west-1');
    expect(() => resolveTarget({ endpoint: 'https://ops.example.com/', sign: true })).toThrow(
      /pass --region/,
    );
  });

  it('turns a non-JSON gateway error into an OpsApiError with its text', async () => {
    const client = new OpsClient({ endpoint: 'http://127.0.0.1:4010' }, stubFetch(502, 'Bad Gateway'));

    const failing = client.bottlenecks();

    await expect(failing).rejects.toThrow(OpsApiError);
    await expect(client.bottlenecks()).rejects.toMatchObject({
      status: 502,
      code: 'Http502',
      message: 'Bad Gateway',
    });
  });
});

describe('SigV4 signing', () => {
  it('signs with the execute-api scope, the date and the signed headers, and never sends the local actor header', async () => {
    // Prepare
    const captured: Captured[] = [];
    const signer = sigV4Signer({ region: 'eu-west-1', credentials: CREDENTIALS });
    const client = new OpsClient(
      { endpoint: EXECUTE_API, signer, actor: 'ignored' },
      stubFetch(200, '{}', captured),
    );

    // Act
    await client.approve('HD-1', { reason: 'signed' });

    // Assess
    const headers = captured[0]?.headers ?? {};
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*x-amz-date[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['x-flowtune-actor']).toBeUndefined();
  });

  it('produces the signature of the AWS SigV4 test suite vector (get-vanilla)', async () => {
    // Prepare: the vector's request, date and credentials (service "service", us-east-1).
    const signer = sigV4Signer({ region: 'us-east-1', credentials: CREDENTIALS, service: 'service' });

    // Act
    const { headers } = await signer({
      method: 'GET',
      url: new URL('https://example.amazonaws.com/'),
      headers: {},
      signingDate: new Date('2015-08-30T12:36:00Z'),
    });

    // Assess
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });
});
