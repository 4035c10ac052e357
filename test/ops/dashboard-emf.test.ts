import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localMidnight } from '../../domain/allocation/forecast';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { DEFAULT_TUNING_CONFIG, startExperiment } from '../../domain/tuning';
import { createAllocationHandler } from '../../lambdas/allocation/handler';
import { DynamoDbOpsStore } from '../../lambdas/ops-api/dynamodb-ops-store';
import { createOpsApi } from '../../lambdas/ops-api/handler';
import { apiGatewayEvent } from '../../lambdas/ops-api/proxy-event';
import { ALLOCATION_PK, ALLOCATION_STATE_SK } from '../../lambdas/shared/allocation-store';
import { DynamoDbAllocationStore } from '../../lambdas/shared/dynamodb-allocation-store';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { ALLOCATION_SETTINGS, DAY, QUARTER, seedArrivals, seedRoster } from '../handlers/allocation-support';
import { synthFlowtune } from '../infra/support';
import { bringAgentsOnline, newWorkItem } from '../reliability/support';
import { describeRead, metricsRead, type ReadMetric } from '../support/dashboard-metrics';
import { waitUntil } from '../support/wait-until';

/**
 * The dashboard tells the truth: every metric a widget or an alarm of the synthesized stack reads
 * (name and dimensions, as CloudWatch matches them) must appear in the EMF the real handlers write
 * during a local workload — items on every path, people acting on them, an A/B experiment, a
 * tuning cycle, allocation runs with and without history, staffing decisions, the backlog snapshot.
 */

const MINUTE = 60_000;
const ANA = 'arn:aws:sts::111122223333:assumed-role/Operators/ana';

interface EmfRecord {
  readonly names: readonly string[];
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Parses Powertools' EMF lines written to stdout from now on. */
function captureEmf(): EmfRecord[] {
  const records: EmfRecord[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) {
      const text = line.trim();
      if (!text.startsWith('{') || !text.includes('"_aws"')) continue;
      const parsed = JSON.parse(text) as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      };
      for (const directive of parsed._aws.CloudWatchMetrics) {
        for (const set of directive.Dimensions) {
          records.push({
            names: directive.Metrics.map((metric) => metric.Name),
            dimensions: Object.fromEntries(set.map((name) => [name, String(parsed[name])])),
          });
        }
      }
    }
    return true;
  });
  return records;
}

function appeared(read: ReadMetric, records: readonly EmfRecord[]): boolean {
  const wanted = Object.keys(read.dimensions).sort().join(',');
  return records.some(
    (record) =>
      record.names.includes(read.name) &&
      Object.keys(record.dimensions).sort().join(',') === wanted &&
      Object.entries(read.dimensions).every(
        ([name, value]) => value === undefined || record.dimensions[name] === value,
      ),
  );
}

describe('the dashboard and the alarms read only what the code emits', { timeout: 600_000 }, () => {
  let runtime: LocalRuntime;
  let records: EmfRecord[];
  const read = metricsRead(synthFlowtune().template.toJSON() as Parameters<typeof metricsRead>[0]);

  beforeAll(async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    records = captureEmf();
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
  });

  afterAll(async () => {
    await runtime?.stop();
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('finds every widget and alarm metric, with its dimensions, in the EMF of a local workload', async () => {
    const ops = createOpsApi({
      features: runtime.ports.features,
      policies: runtime.policies,
      instances: runtime.ports.instances,
      audit: runtime.ports.audit,
      executions: runtime.ports.executions,
      store: new DynamoDbOpsStore({ client: runtime.documentClient, ...runtime.tables }),
      tuning: runtime.tuning.store,
      allocation: new DynamoDbAllocationStore({
        client: runtime.documentClient,
        featuresTable: runtime.tables.featuresTable,
      }),
      clock: runtime.clock,
    });
    const act = async (method: string, path: string, body?: unknown) => {
      const answer = await ops.http(
        apiGatewayEvent({ method, path, actor: ANA, ...(body === undefined ? {} : { body }) }),
      );
      expect(answer.statusCode, `${method} ${path}: ${answer.body}`).toBeLessThan(300);
      return JSON.parse(answer.body) as Record<string, unknown>;
    };
    const stage = async (itemId: string) => (await runtime.ports.instances.get(itemId))?.stage;
    const reason = { reason: 'checked by the dashboard test' };
    await bringAgentsOnline(runtime, ['agent-ana', 'agent-ben'], 5);
    await runtime.idle();

    // 1. Everything to human review (confidence below 1): a person approves, rejects, overrides.
    const base = await runtime.policies.active();
    const review: Policy = { ...DEFAULT_POLICY, version: 'emf-review', minConfidence: 1 };
    await runtime.policies.change({
      policy: review,
      baseVersion: base.version,
      kind: 'manual',
      reason: 'review all',
      actor: 'test',
    });
    for (const id of ['EMF-R1', 'EMF-R2', 'EMF-R3', 'EMF-R4'])
      await runtime.putEvent('WorkItemCreated', newWorkItem(id), 'helpdesk');
    for (const id of ['EMF-R1', 'EMF-R2', 'EMF-R3', 'EMF-R4'])
      await waitUntil(async () => (await stage(id)) === 'HUMAN_REVIEW');
    await act('POST', '/items/EMF-R1/approve', reason);
    await act('POST', '/items/EMF-R2/reject', reason);
    await act('POST', '/items/EMF-R3/override', { agentId: 'agent-ben', ...reason });

    // 2. Routing and automation, with an A/B experiment splitting the routed items.
    const routing: Policy = {
      ...DEFAULT_POLICY,
      version: 'emf-route',
      automationCategories: ['password-reset'],
      automationMaxPriority: 5,
    };
    await runtime.policies.change({
      policy: routing,
      baseVersion: review.version,
      kind: 'manual',
      reason: 'route',
      actor: 'test',
    });
    const now = runtime.clock.now();
    await runtime.tuning.store.saveExperiment(
      startExperiment({
        experimentId: 'emf-ab',
        candidate: {
          ...routing,
          version: 'emf-candidate',
          routing: { strategy: 'flowtune', weights: { sla: 2 } },
        },
        active: routing,
        mode: 'ab',
        treatmentShare: 0.5,
        now: now - MINUTE,
        startedBy: 'test',
      }),
    );
    await runtime.putEvent(
      'WorkItemCreated',
      newWorkItem('EMF-A1', { category: 'password-reset', requiredSkills: [], priority: 1 }),
      'helpdesk',
    );
    const routed = ['EMF-T1', 'EMF-T2', 'EMF-T3', 'EMF-T4', 'EMF-T5', 'EMF-T6'];
    for (const id of routed) await runtime.putEvent('WorkItemCreated', newWorkItem(id), 'helpdesk');
    for (const id of routed) await runtime.waitForEmitted('WorkItemRouted', id, 60_000);
    await act('POST', '/items/EMF-T1/appeal', reason);
    const quality = [
      { reopened: false, firstTimeResolution: true, rework: false },
      { reopened: true, firstTimeResolution: false, rework: false },
      { reopened: false, firstTimeResolution: false, rework: true },
      { reopened: false, firstTimeResolution: true, rework: false },
      { reopened: false, firstTimeResolution: true, rework: false },
    ];
    for (const [index, id] of routed.slice(1).entries()) {
      const instance = await runtime.ports.instances.get(id);
      await runtime.putEvent(
        'WorkItemCompleted',
        {
          id,
          outcome: index === 3 ? 'escalated' : 'resolved',
          handledBy: instance?.assignee ?? 'agent-ana',
          completedAt: new Date(runtime.clock.now()).toISOString(),
          quality: quality[index],
        },
        'helpdesk',
      );
    }
    for (const id of routed.slice(1)) await waitUntil(async () => (await stage(id)) === 'COMPLETED');

    // 3. The backlog snapshot (the schedule's input to the ops function).
    await ops.snapshot();

    // 4. A tuning cycle over an hour of observations: every drift test runs.
    await runtime.tuning.store.saveConfig({
      ...DEFAULT_TUNING_CONFIG,
      drift: { ...DEFAULT_TUNING_CONFIG.drift, minBaselineArrivals: 100, minConfidenceDecisions: 50 },
    });
    for (const category of ['billing', 'orders']) {
      await runtime.ports.features.updateHandlingStats({ scope: 'category', category }, () => ({
        count: 1000,
        mean: 200,
        m2: 1000 * 200 * 200,
      }));
    }
    const hourAgo = runtime.clock.now() - 60 * MINUTE;
    let seeded = 0;
    for (let minute = 0; minute < 60; minute++) {
      const at = hourAgo + minute * MINUTE;
      for (let index = 0; index < 4; index++) {
        const key = `S-${seeded++}`;
        const category = index % 2 === 0 ? 'billing' : 'orders';
        const store = runtime.tuning.store;
        await store.record(
          { kind: 'arrival', at, category, requiredSkills: [{ skill: category, minProficiency: 1 }] },
          `${key}#arrival`,
          60,
        );
        await store.record(
          {
            kind: 'completion',
            at,
            category,
            agentId: 'agent-ana',
            observedSeconds: 150 + ((seeded * 37) % 100),
            predictedSeconds: 200,
          },
          `${key}#completion`,
          60,
        );
        await store.record(
          { kind: 'outcome', at, arm: 'none', met: seeded % 10 !== 0 },
          `${key}#outcome`,
          60,
        );
        if (index < 2)
          await store.record(
            { kind: 'decision', at, confidence: 0.5 + (seeded % 40) / 100 },
            `${key}#decision`,
            60,
          );
      }
    }
    const cycle = runtime.tuning.startCycle();
    expect((await runtime.tuning.waitForExecution(cycle, 120_000)).status).toBe('SUCCEEDED');

    // 5. Allocation: a run without a day of history, then one with it; a person decides two holds.
    const allocationStore = new DynamoDbAllocationStore({
      client: runtime.documentClient,
      featuresTable: runtime.tables.featuresTable,
    });
    const allocation = createAllocationHandler({
      features: runtime.ports.features,
      tuning: runtime.tuning.store,
      policies: runtime.policies,
      allocation: allocationStore,
      audit: runtime.ports.audit,
      events: runtime.ports.events,
      clock: runtime.clock,
    });
    // No move without a person: every move and the offload (half of cards' calls) wait for one.
    await allocationStore.saveSettings({
      ...ALLOCATION_SETTINGS,
      policy: { ...ALLOCATION_SETTINGS.policy, maxAutoMovesPerHour: 0 },
    });
    expect((await allocation({})).status).toBe('insufficient-history');
    const allocationNow = runtime.clock.now();
    await seedArrivals(
      runtime.tuning.store,
      localMidnight(allocationNow, 0) - DAY,
      Math.floor(allocationNow / QUARTER) * QUARTER,
      { cards: 4, 'card-activation': 4, loans: 1 },
    );
    await seedRoster(runtime.ports.features, allocationNow, undefined, { handlingSeconds: 720 });
    // The job rolls its history up once: start it afresh (as a new deployment would) to see the day.
    await runtime.documentClient.send(
      new DeleteCommand({
        TableName: runtime.tables.featuresTable,
        Key: { pk: ALLOCATION_PK, sk: ALLOCATION_STATE_SK },
      }),
    );
    expect((await allocation({})).status).toBe('ran');
    const [held] = await allocationStore.listApprovals(['pending']);
    if (held === undefined) throw new Error('the guardrails held no staffing move for a person');
    await act('POST', `/allocation/approvals/${held.recommendationId}/approve`, reason);
    // A second hold like it (its recommendation under another id), for a person to reject.
    const second = `${held.recommendationId}-b`;
    await allocationStore.putApproval({
      ...held,
      recommendationId: second,
      recommendation: { ...held.recommendation, recommendationId: second },
    });
    await act('POST', `/allocation/approvals/${second}/reject`, reason);

    // Half an hour later (the job's own clock; the runtime's stays): the forecasts of the last run
    // meet the arrivals of their intervals, and the job reports its forecast error.
    const later = allocationNow + 2 * QUARTER;
    await seedArrivals(
      runtime.tuning.store,
      Math.floor(allocationNow / QUARTER) * QUARTER,
      Math.floor(later / QUARTER) * QUARTER,
      { cards: 4, 'card-activation': 4, loans: 1 },
    );
    const laterRun = await createAllocationHandler({
      features: runtime.ports.features,
      tuning: runtime.tuning.store,
      policies: runtime.policies,
      allocation: allocationStore,
      audit: runtime.ports.audit,
      events: runtime.ports.events,
      clock: { now: () => later },
    })({});
    expect(laterRun.forecastWape).not.toBeNull();

    // Assess: nothing the dashboard or an alarm reads is missing from what was emitted.
    expect(read.length).toBeGreaterThan(40);
    const missing = read
      .filter((metric) => !appeared(metric, records))
      .map((metric) => `${describeRead(metric)} (${metric.readBy})`);
    expect(missing).toEqual([]);
  });

  it('would notice a metric nobody emits (the check can fail)', () => {
    expect(
      appeared({ name: 'NeverEmitted', dimensions: { service: 'flowtune-score' }, readBy: 'test' }, records),
    ).toBe(false);
    expect(
      appeared(
        { name: 'ItemsScored', dimensions: { service: 'flowtune-tuning' }, readBy: 'a wrong service' },
        records,
      ),
    ).toBe(false);
  });
});
