import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDetail } from '../../domain/events';
import { createOpsApi } from '../../lambdas/ops-api/handler';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { type OpsServer, serveOpsApi } from '../../local/ops-server';
import { loadEvent, T0 } from '../handlers/support';

/** Defect 10 of issue 21: path and encoding attacks on the ops API, 413 and keep-alive, merged skills. */

function api() {
  const ports = createInMemoryPorts(T0);
  return createOpsApi({ ...ports, store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit) });
}

describe('the ops API under path and encoding attacks', () => {
  const ops = api();
  const call = async (method: string, path: string) => {
    const answer = await ops.http(
      apiGatewayEvent({
        method,
        path,
        actor: 'arn:aws:sts::1:assumed-role/ops/ana',
        body: { reason: 'checked and fine' },
      }),
      { awsRequestId: 'req-1' },
    );
    return { status: answer.statusCode, json: JSON.parse(answer.body) as { field?: string } };
  };

  it('answers a malformed percent-encoding in a path with 400 naming the parameter, not 500', async () => {
    const item = await call('POST', '/items/R-%E0%A4%A/approve');
    const version = await call('POST', '/policies/proposals/v%ZZ/approve');

    expect(item).toMatchObject({ status: 400, json: { field: 'itemId' } });
    expect(version).toMatchObject({ status: 400, json: { field: 'version' } });
  });

  it('never answers 500 to any path, whatever its bytes and encodings (property)', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.stringMatching(/^(%[0-9A-Fa-f]{0,2}|[A-Za-z0-9._~-]|%E0%A4|%C0%AF|\.\.){0,8}$/),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
        fc.array(
          fc.oneof(fc.constantFrom('items', 'policies', 'proposals', 'approve', 'reject', 'tasks'), segment),
          {
            maxLength: 5,
          },
        ),
        async (method, segments) => {
          const { status } = await call(method, `/${segments.join('/')}`);
          expect(status).toBeGreaterThanOrEqual(200);
          expect(status).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the local ops server after a 413', () => {
  let server: OpsServer;
  beforeAll(async () => {
    server = await serveOpsApi(api());
  });
  afterAll(async () => {
    await server.close();
  });

  const send = (agent: Agent, method: string, path: string, body?: string) =>
    new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const url = new URL(path, server.url);
      const req = httpRequest(
        url,
        { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
        (response) => {
          response.resume();
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, connection: response.headers.connection }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('answers 413 with connection: close, and the next request on the same client succeeds', async () => {
    // Prepare: one keep-alive client, as the ops CLI uses
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });

    // Act
    const tooLarge = await send(agent, 'POST', '/policies/proposals', `{"x":"${'a'.repeat(300 * 1024)}"}`);
    const next = await send(agent, 'GET', '/bottlenecks');
    agent.destroy();

    // Assess
    expect(tooLarge).toEqual({ status: 413, connection: 'close' });
    expect(next.status).toBe(200);
  });

  it('routes a request target that starts with // by its whole path (404 naming it), not as a host (500)', async () => {
    // Prepare
    const answer = (method: string, path: string) =>
      fetch(`${server.url}${path}`, { method, ...(method === 'GET' ? {} : { body: '{}' }) }).then(
        async (response) => ({ status: response.status, body: await response.text() }),
      );

    // Act
    const bracketHost = await answer('POST', '//%5BOdWBI');
    const emptyHost = await answer('POST', '//');
    const hostLike = await answer('GET', '//evil.example/tasks');

    // Assess
    expect(bracketHost.status).toBe(404);
    expect(bracketHost.body).toContain('POST //%5BOdWBI');
    expect(emptyHost.status).toBe(404);
    expect(hostLike.status).toBe(404);
    expect(hostLike.body).toContain('GET //evil.example/tasks');
  });
});

describe('skills listed twice', () => {
  it('refuses a work item that requires one skill twice, naming the repeated entry', () => {
    const detail = {
      ...loadEvent('helpdesk/work-item-created').detail,
      requiredSkills: [
        { skill: 'billing', minProficiency: 2 },
        { skill: 'billing', minProficiency: 4 },
      ],
    };

    const result = validateDetail('WorkItemCreated', detail);

    expect(result).toMatchObject({ ok: false, field: 'requiredSkills.1.skill' });
  });
});
