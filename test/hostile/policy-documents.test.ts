import type { APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PATH_PARAMETERS } from '../../domain/ops/api';
import {
  completionWait,
  DEFAULT_POLICY,
  MAX_COMPLETION_WINDOW_SECONDS,
  MAX_TASK_TIMEOUT_SECONDS,
  Policy,
  planSla,
} from '../../domain/policy';
import { FLOWTUNE_WEIGHT_NAMES } from '../../domain/routing';
import { createDispatcherHandler, routingPolicyFor } from '../../lambdas/dispatcher/handler';
import { createOpsApi } from '../../lambdas/ops-api/handler';
import { InMemoryOpsStore } from '../../lambdas/ops-api/in-memory-ops-store';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import type { Telemetry } from '../../lambdas/shared/observability';
import { telemetryFor } from '../../lambdas/shared/observability';
import { agent, MINUTE, sqsEvent, T0 } from '../handlers/support';

/** Defect 3 of issue 21: a policy that could be approved but not run stopped all dispatch. */

const policyDocument = fc.record({
  version: fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom('v2', 'v/2', '../active', '.', 'v2.1', 'x'.repeat(2000)),
  ),
  minConfidence: fc.double({ min: -1, max: 2 }),
  maxAutoRisk: fc.double({ min: -1, max: 2 }),
  automationCategories: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  automationMaxPriority: fc.integer({ min: 0, max: 7 }),
  maxReroutes: fc.integer({ min: -1, max: 12 }),
  minCompletionWindowSeconds: fc.oneof(
    fc.integer({ min: -5, max: 10_000 }),
    fc.constantFrom(1e12, 99_999_999),
  ),
  routing: fc.record({
    strategy: fc.oneof(
      fc.constantFrom('flowtune', 'round-robin', 'edf', 'cmu-aging', 'fifo', 'Flowtune', ''),
      fc.string({ maxLength: 12 }),
    ),
    weights: fc.dictionary(
      fc.oneof(fc.constantFrom('handling', 'sla', 'balance', 'load'), fc.string({ maxLength: 8 })),
      fc.oneof(fc.double({ min: -200, max: 200, noNaN: true }), fc.constant(1e300)),
      { maxKeys: 3 },
    ),
  }),
});

describe('policy documents are validated completely, so an approvable policy can always run', () => {
  it('every document the schema accepts builds a routing policy and a bounded completion window (property)', () => {
    fc.assert(
      fc.property(
        policyDocument,
        fc.integer({ min: -10_000_000, max: 100_000_000 }),
        (document, secondsToDue) => {
          const parsed = Policy.safeParse(document);
          if (!parsed.success) return;
          expect(() => routingPolicyFor(parsed.data)).not.toThrow();
          expect(PATH_PARAMETERS.version.safeParse(parsed.data.version).success).toBe(true);
          expect(parsed.data.minCompletionWindowSeconds).toBeLessThanOrEqual(MAX_COMPLETION_WINDOW_SECONDS);
          const policy = parsed.data;
          const plan = planSla({
            createdAt: 0,
            dueAt: secondsToDue * 1000,
            maxAttempts: policy.maxReroutes + 1,
            minWindowSeconds: policy.minCompletionWindowSeconds,
            clock: policy.slaClock,
          });
          const wait = completionWait(plan, 1, 0).seconds;
          expect(Number.isSafeInteger(wait) && wait <= MAX_TASK_TIMEOUT_SECONDS).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses an unknown strategy, an unbounded window and an unroutable version at proposal, naming the field', async () => {
    // Prepare
    const ports = createInMemoryPorts(T0);
    const api = createOpsApi({
      ...ports,
      store: new InMemoryOpsStore(ports.tables, ports.instances, ports.audit),
    });
    const propose = async (policy: unknown) => {
      const answer: APIGatewayProxyResult = await api.http(
        apiGatewayEvent({
          method: 'POST',
          path: '/policies/proposals',
          actor: 'arn:aws:sts::111122223333:assumed-role/ops/ana',
          body: { policy, rationale: 'hostile input' },
        }),
        { awsRequestId: 'req-1' },
      );
      return { status: answer.statusCode, json: JSON.parse(answer.body) as { field?: string } };
    };

    // Act
    const answers = await Promise.all([
      propose({ ...DEFAULT_POLICY, version: 'v2', routing: { strategy: 'fifo', weights: {} } }),
      propose({ ...DEFAULT_POLICY, version: 'v3', minCompletionWindowSeconds: 1e12 }),
      propose({ ...DEFAULT_POLICY, version: 'v/2', minConfidence: 0.5 }),
      propose({ ...DEFAULT_POLICY, version: '../active', minConfidence: 0.5 }),
      propose({ ...DEFAULT_POLICY, version: 'x'.repeat(2000), minConfidence: 0.5 }),
      propose({ ...DEFAULT_POLICY, version: 'v4', routing: { strategy: 'flowtune', weights: { slaa: 4 } } }),
    ]);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 400, 400]);
    expect(answers.map((answer) => answer.json.field)).toEqual([
      'policy.routing.strategy',
      'policy.minCompletionWindowSeconds',
      'policy.version',
      'policy.version',
      'policy.version',
      'policy.routing.weights.slaa',
    ]);
  });
});

describe('the dispatcher keeps dispatching when the stored policy turns unreadable', () => {
  function world(): { ports: InMemoryPorts; telemetry: Telemetry; metrics: string[] } {
    const ports = createInMemoryPorts(T0);
    const telemetry = telemetryFor('dispatcher');
    const metrics: string[] = [];
    const addMetric = telemetry.metrics.addMetric.bind(telemetry.metrics);
    telemetry.metrics.addMetric = (name, unit, value) => {
      metrics.push(name);
      return addMetric(name, unit, value);
    };
    return { ports, telemetry, metrics };
  }
  const enqueue = (ports: InMemoryPorts, itemId: string) => ({
    kind: 'enqueue' as const,
    taskToken: ports.executions.issueToken(`assign-${itemId}`),
    itemId,
    category: 'billing',
    requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
    priority: 3,
    createdAt: new Date(T0 - 10 * MINUTE).toISOString(),
    slaDueAt: new Date(T0 + 4 * 60 * MINUTE).toISOString(),
    attempt: 1,
    excludedAgents: [],
    enqueuedAt: new Date(T0 - MINUTE).toISOString(),
  });

  it('refuses a number too small to store (a 0–1 fraction of 1e-161), naming the field, so a proposal never fails its write', () => {
    // Prepare
    const tiny = { ...DEFAULT_POLICY, minConfidence: 9.738709184314351e-161 };
    const weightName = FLOWTUNE_WEIGHT_NAMES[0] as string;
    const tinyWeight = {
      ...DEFAULT_POLICY,
      routing: { strategy: 'flowtune', weights: { [weightName]: -1e-200 } },
    };

    // Act
    const fraction = Policy.safeParse(tiny);
    const weight = Policy.safeParse(tinyWeight);

    // Assess
    expect(fraction.success).toBe(false);
    expect(fraction.error?.issues[0]?.path).toEqual(['minConfidence']);
    expect(fraction.error?.issues[0]?.message).toMatch(/1e-130/);
    expect(weight.success).toBe(false);
    expect(weight.error?.issues.map((issue) => issue.message).join('; ')).toMatch(/1e-130/);
    expect(Policy.safeParse({ ...DEFAULT_POLICY, minConfidence: 1e-6 }).success).toBe(true);
  });

  it('routes with the last good policy and counts InvalidStoredPolicy when an unknown strategy is stored', async () => {
    // Prepare: a good policy, one round, then a document no schema check stopped (written by hand)
    const { ports, telemetry, metrics } = world();
    ports.features.seedAgent(
      agent({ agentId: 'agent-ana', capacity: 3, skills: [{ skill: 'billing', proficiency: 4 }] }),
    );
    const good = { ...DEFAULT_POLICY, version: 'good-7', routing: { strategy: 'round-robin', weights: {} } };
    await ports.features.putActivePolicy(good);
    const handler = createDispatcherHandler({ ...ports, telemetry });
    await handler(sqsEvent([enqueue(ports, 'HD-1')], { fifo: true }));
    ports.tables.activePolicy = {
      ...good,
      version: 'bad-8',
      routing: { strategy: 'no-such-strategy', weights: {} },
    };

    // Act
    const response = await handler(sqsEvent([enqueue(ports, 'HD-2')], { fifo: true }));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect((await ports.instances.get('HD-2'))?.stage).toBe('ASSIGNED');
    const assigned = (await ports.audit.listForItem('HD-2')).find((record) => record.kind === 'ASSIGNED');
    expect(assigned?.policyVersion).toBe('good-7');
    expect(JSON.parse(assigned?.details ?? '{}')).toMatchObject({ routingPolicy: 'round-robin' });
    expect(metrics).toContain('InvalidStoredPolicy');
  });
});
