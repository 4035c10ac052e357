import { describe, expect, it } from 'vitest';
import { InMemoryConnector } from '../../lambdas/shared/connector';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { auditRecord } from '../../lambdas/shared/table-layout';
import { FaultPlan, isInjectedFault } from '../../local/faults';

const T0 = Date.parse('2026-11-20T09:00:00.000Z');

function record(index: number) {
  return auditRecord({ itemId: `HD-${index}`, kind: 'RECEIVED', at: T0 + index, actor: 'test' });
}

/** Appends `count` records through the plan's decorated audit port; returns which calls failed. */
async function appendThrough(plan: FaultPlan, count: number): Promise<boolean[]> {
  const ports = plan.decoratePorts(createInMemoryPorts(T0));
  const failed: boolean[] = [];
  for (let index = 0; index < count; index++) {
    failed.push(
      await ports.audit.append(record(index)).then(
        () => false,
        () => true,
      ),
    );
  }
  return failed;
}

describe('fault plan', () => {
  it('injects the same faults at the same calls for the same seed, and others for another seed', async () => {
    // Prepare
    const options = { dynamoDb: { throttleRate: 0.3 } };

    // Act
    const first = await appendThrough(new FaultPlan({ seed: 11, ...options }), 200);
    const again = await appendThrough(new FaultPlan({ seed: 11, ...options }), 200);
    const other = await appendThrough(new FaultPlan({ seed: 12, ...options }), 200);

    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    const rate = first.filter(Boolean).length / first.length;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.4);
  });

  it('refuses a throttled port call before it has any effect, named as the SDK names it', async () => {
    // Prepare
    const raw = createInMemoryPorts(T0);
    const plan = new FaultPlan({ seed: 1, dynamoDb: { throttleRate: 1 } });
    const ports = plan.decoratePorts(raw);

    // Act
    const error = await ports.audit.append(record(1)).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(isInjectedFault(error)).toBe(true);
    expect(raw.audit.all()).toEqual([]);
    expect(plan.byKind()).toEqual({ throttle: 1 });
  });

  it('applies an ambiguous call and then fails it, as when the reply is lost', async () => {
    // Prepare
    const raw = createInMemoryPorts(T0);
    const ports = new FaultPlan({ seed: 1, dynamoDb: { ambiguousRate: 1 } }).decoratePorts(raw);

    // Act
    const error = await ports.audit.append(record(1)).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'InternalServerError' });
    expect(raw.audit.all()).toHaveLength(1);
  });

  it('faults only the listed methods when methods are given', async () => {
    // Prepare
    const raw = createInMemoryPorts(T0);
    const ports = new FaultPlan({
      seed: 1,
      dynamoDb: { errorRate: 1, methods: ['listForItem'] },
    }).decoratePorts(raw);

    // Act
    const appended = await ports.audit.append(record(1));
    const listed = ports.audit.listForItem('HD-1');

    // Assess
    expect(appended).toBe('appended');
    await expect(listed).rejects.toMatchObject({ name: 'InternalServerError' });
  });

  it('crashes a handler before it runs, and times one out after it has done its work', async () => {
    // Prepare
    const effects: string[] = [];
    const handler = async (event: string) => {
      effects.push(event);
      return 'ok';
    };
    const crashing = new FaultPlan({ seed: 1, handlers: { score: { crashRate: 1 } } });
    const timingOut = new FaultPlan({ seed: 1, handlers: { score: { timeoutRate: 1 } } });

    // Act
    const crashed = await crashing
      .decorateHandler(
        'score',
        handler,
      )('a')
      .catch((error: unknown) => error);
    const timedOut = await timingOut
      .decorateHandler(
        'score',
        handler,
      )('b')
      .catch((error: unknown) => error);
    const untouched = await crashing.decorateHandler('validate', handler)('c');

    // Assess
    expect(crashed).toMatchObject({ name: 'Runtime.ExitError' });
    expect(timedOut).toMatchObject({ name: 'Sandbox.Timedout' });
    expect(untouched).toBe('ok');
    expect(effects).toEqual(['b', 'c']);
  });

  it('takes a connector down (503, retryable) or makes it slow past its timeout', async () => {
    // Prepare
    const connector = new InMemoryConnector('rpa');
    const slept: number[] = [];
    const sleep = async (ms: number) => void slept.push(ms);
    const down = new FaultPlan({ seed: 1, sleep }).decorateConnector(connector);
    const slow = new FaultPlan({
      seed: 1,
      sleep,
      connector: { slowRate: 1, slowMs: 5_000, timeoutMs: 3_000 },
    });
    const delivery = {
      itemId: 'HD-1',
      attempt: 1,
      agentId: 'automation-billing',
      agentKind: 'automation' as const,
      path: 'automation' as const,
      routedAt: '2026-11-20T09:00:05.000Z',
      policyVersion: 'p-1',
      idempotencyKey: 'HD-1#1',
    };

    // Act
    const plan = new FaultPlan({ seed: 1, sleep });
    plan.setConnectorDown(true);
    const refused = await plan
      .decorateConnector(connector)
      .deliver(delivery)
      .catch((error: unknown) => error);
    plan.setConnectorDown(false);
    const delivered = await plan.decorateConnector(connector).deliver(delivery);
    const timedOut = await slow
      .decorateConnector(connector)
      .deliver(delivery)
      .catch((error: unknown) => error);

    // Assess
    expect(refused).toMatchObject({ name: 'ConnectorError', retryable: true, status: 503 });
    expect(delivered).toEqual({ externalRef: 'ref-HD-1#1' });
    expect(timedOut).toMatchObject({ name: 'TimeoutError' });
    expect(slept).toEqual([3_000]);
    expect(connector.calls).toBe(1);
    expect(await down.deliver(delivery)).toEqual({ externalRef: 'ref-HD-1#1' });
  });

  it('refuses a rate outside [0, 1], naming it', () => {
    expect(() => new FaultPlan({ seed: 1, dynamoDb: { throttleRate: 1.5 } })).toThrow(
      /dynamoDb.throttleRate/,
    );
  });
});
