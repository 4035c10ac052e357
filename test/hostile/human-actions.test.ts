import type { APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createOpsApi } from '../../lambdas/ops-api/handler';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import type { InstanceRecord } from '../../lambdas/shared/ports';
import { bareInstance } from '../../lambdas/shared/table-layout';
import { T0 } from '../handlers/support';

/** Defect 6 of issue 21: a human rejection left the item in HUMAN_REVIEW with its token. */

const ANA = 'arn:aws:sts::111122223333:assumed-role/ops/ana';
const BO = 'arn:aws:sts::111122223333:assumed-role/ops/bo';

function world() {
  const ports = createInMemoryPorts(T0);
  const api = createOpsApi({
    ...ports,
    store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
  });
  ports.features.seedAgent({
    agentId: 'agent-ana',
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 4 }],
    capacity: 2,
    activeCount: 0,
    idleSince: T0 - 3_600_000,
  });
  const call = async (method: string, path: string, actor: string, body?: unknown) => {
    const answer: APIGatewayProxyResult = await api.http(
      apiGatewayEvent({ method, path, actor, ...(body === undefined ? {} : { body }) }),
      { awsRequestId: 'req-1' },
    );
    return { status: answer.statusCode, json: JSON.parse(answer.body) as Record<string, unknown> };
  };
  return { ports, call };
}

function inReview(ports: InMemoryPorts, itemId: string): string {
  const token = ports.executions.issueToken('human-review');
  const record: InstanceRecord = {
    ...bareInstance(itemId, T0),
    stage: 'HUMAN_REVIEW',
    stageEnteredAt: T0 - 20 * 60_000,
    category: 'billing',
    priority: 4,
    requiredSkills: [{ skill: 'billing', minProficiency: 3 }],
    createdAt: T0 - 30 * 60_000,
    slaDueAt: T0 + 60 * 60_000,
    path: 'human-review',
    predictedHandlingSeconds: 600,
    policyVersion: 'p-7',
    modelVersion: 'm-3',
    taskToken: token,
    waitingFor: 'human-review',
  };
  ports.tables.instances.set(itemId, record);
  return token;
}

describe('a human rejection ends the stage', () => {
  it('takes the rejected item off the task list and the bottleneck view, and a later override changes nothing', async () => {
    // Prepare
    const { ports, call } = world();
    inReview(ports, 'HD-r1');

    // Act
    const rejected = await call('POST', '/items/HD-r1/reject', ANA, { reason: 'spam, not a customer' });
    const tasks = await call('GET', '/tasks', BO);
    const bottlenecks = await call('GET', '/bottlenecks', BO);
    const override = await call('POST', '/items/HD-r1/override', BO, {
      agentId: 'agent-ana',
      reason: 'route it',
    });
    const approve = await call('POST', '/items/HD-r1/approve', BO, { reason: 'looks fine' });

    // Assess
    expect(rejected.status).toBe(200);
    const record = await ports.instances.get('HD-r1');
    expect(record).toMatchObject({ stage: 'REJECTED' });
    expect(record?.taskToken).toBeUndefined();
    expect(record?.assignee).toBeUndefined();
    expect((tasks.json.tasks as unknown[]).length).toBe(0);
    expect(JSON.stringify(bottlenecks.json)).not.toContain('human review');
    expect(override.status).toBe(409);
    expect(approve.status).toBe(409);
    expect((await ports.instances.get('HD-r1'))?.stage).toBe('REJECTED');
    expect((await ports.features.getAgent('agent-ana'))?.activeCount).toBe(0);
  });

  it('lets exactly one of two concurrent reviewers decide; the other is refused and nothing is left half-done', async () => {
    // Prepare
    const { ports, call } = world();
    inReview(ports, 'HD-r2');

    // Act
    const answers = await Promise.all([
      call('POST', '/items/HD-r2/reject', ANA, { reason: 'duplicate of HD-r1' }),
      call('POST', '/items/HD-r2/override', BO, { agentId: 'agent-ana', reason: 'route it now' }),
    ]);

    // Assess
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses[0]).toBe(200);
    expect(statuses[1]).toBeGreaterThanOrEqual(400);
    const record = await ports.instances.get('HD-r2');
    const agent = await ports.features.getAgent('agent-ana');
    if (record?.stage === 'REJECTED') expect(agent?.activeCount).toBe(0);
    else expect(record).toMatchObject({ stage: 'ASSIGNED', assignee: 'agent-ana' });
  });
});
