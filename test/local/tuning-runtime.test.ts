import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { TuningCycleOutput } from '../../domain/tuning';
import { wallTimerClock } from '../../lambdas/shared/ports';
import { PROJECT_ROOT } from '../../lib/definitions';
import { TUNING_RULES } from '../../lib/definitions/tuning';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { waitUntil } from '../support/wait-until';

const MINUTE = 60_000;

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

/** The wall clock, moved forward on demand (a tuning cycle reads only buckets that settled a minute ago). */
function adjustableClock() {
  let offset = 0;
  return {
    ...wallTimerClock(() => Date.now() + offset),
    now: () => Date.now() + offset,
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

let dynamoDb: DynamoDbLocal;

beforeAll(async () => {
  dynamoDb = await startDynamoDbLocal();
});

afterAll(async () => {
  await dynamoDb?.stop();
});

describe('the tuning loop in the local runtime', { timeout: 60_000 }, () => {
  const clock = adjustableClock();
  const itemIds = ['TCK-tuning-1', 'TCK-tuning-2', 'TCK-tuning-3'];
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dynamoDb, clock, dispatchTickMs: false, retryIntervalMs: 10 });
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'tuning-runtime-1',
      minConfidence: 0,
    });
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        changedAt: new Date(clock.now()).toISOString(),
        shiftEndsAt: new Date(clock.now() + 8 * 60 * MINUTE).toISOString(),
      },
      'workforce',
    );
    await runtime.idle();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('feeds the observation buckets and the work in progress from the bus and runs a tuning cycle over them to SUCCEEDED', async () => {
    // Prepare: three items created, routed and completed through the process.
    const startedAt = clock.now();
    for (const id of itemIds) {
      await runtime.putEvent(
        'WorkItemCreated',
        { ...fixtureDetail('work-item-created'), id, createdAt: new Date(clock.now()).toISOString() },
        'helpdesk',
      );
      await runtime.waitForEmitted('WorkItemRouted', id, 30_000);
    }
    await waitUntil(
      () => runtime.tokens.pending({ stateName: 'Wait For Completion' }).length === itemIds.length,
    );
    await runtime.idle();
    // Flowtune's WorkItemRouted reached the observe function: each item is running, as routed.
    const routedBy = clock.now();
    const running = await runtime.tuning.store.listRunning(routedBy + 1);
    expect(running.map((item) => item.itemId).sort()).toEqual([...itemIds].sort());
    for (const item of running) {
      expect(item).toMatchObject({ category: fixtureDetail('work-item-created').category, attempt: 1 });
      expect(item.startedAt).toBeGreaterThanOrEqual(startedAt);
      expect(item.predictedSeconds).toBeGreaterThan(0);
    }
    clock.advance(2 * MINUTE);
    const completedAt = clock.now();
    for (const id of itemIds) {
      await runtime.putEvent(
        'WorkItemCompleted',
        { id, outcome: 'resolved', handledBy: 'agent-ana', completedAt: new Date(completedAt).toISOString() },
        'helpdesk',
      );
    }
    await Promise.all(itemIds.map((id) => runtime.waitForExecution(id, 30_000)));
    await runtime.idle();
    // The completions ended them: running until their completion time, not after.
    expect(await runtime.tuning.store.listRunning(completedAt - 1)).toHaveLength(itemIds.length);
    expect(await runtime.tuning.store.listRunning(completedAt)).toEqual([]);
    clock.advance(3 * MINUTE);

    // Act
    const name = runtime.tuning.startCycle();
    const execution = await runtime.tuning.waitForExecution(name, 30_000);

    // Assess: what the cycle saw is what the bus carried.
    expect(execution.status).toBe('SUCCEEDED');
    const { cycle } = execution.output as { cycle: unknown };
    const output = TuningCycleOutput.parse(cycle);
    expect(output.kpis.completions).toBe(itemIds.length);
    expect(output.kpis.slaAttainment).toBe(1);
    expect(output.kpis.arrivalsPerHour).toBeGreaterThan(0);
    const buckets = await runtime.tuning.store.readBuckets(startedAt - MINUTE, clock.now());
    const sum = (pick: (bucket: (typeof buckets)[number]) => number) =>
      buckets.reduce((total, bucket) => total + pick(bucket), 0);
    expect(sum((bucket) => Object.values(bucket.arrivals).reduce((a, b) => a + b, 0))).toBe(itemIds.length);
    expect(sum((bucket) => bucket.quality.completed)).toBe(itemIds.length);
    expect(sum((bucket) => bucket.outcomes.none?.met ?? 0)).toBe(itemIds.length);
    // Score stored each decision's confidence; observe counted it on completion.
    expect(sum((bucket) => bucket.confidence.reduce((a, b) => a + b, 0))).toBe(itemIds.length);
    const state = await runtime.tuning.store.readState();
    expect(state?.revision).toBe(1);
    expect(state?.state.processedUntil).toBeGreaterThan(startedAt);
  });

  it('loses no observation and no tuning invocation fails', async () => {
    // Prepare
    await runtime.idle();

    // Act
    const failures = runtime.failures();

    // Assess
    expect(failures.filter((failure) => failure.where === `rule ${TUNING_RULES.observations.id}`)).toEqual(
      [],
    );
    expect(runtime.tuning.functionStats.tuningObserve.invocations).toBeGreaterThanOrEqual(2 * itemIds.length);
    const erroring = Object.entries(runtime.tuning.functionStats).filter(([, stats]) => stats.errors > 0);
    expect(erroring).toEqual([]);
  });
});

describe('the tuning schedule in the local runtime', { timeout: 30_000 }, () => {
  it('starts tuning executions on its timer', async () => {
    // Prepare
    const runtime = await startLocalRuntime({ dynamoDb, dispatchTickMs: false, tuningTickMs: 100 });

    try {
      // Act
      await waitUntil(() => runtime.tuning.executions({ status: 'SUCCEEDED' }).length >= 2, 20_000);

      // Assess
      expect(runtime.tuning.executions({ status: 'FAILED' })).toEqual([]);
    } finally {
      await runtime.stop();
    }
  });

  it('keeps the timer off when the caller drives the dispatch rounds itself', async () => {
    // Prepare: at this scale the default period would be 200 ms.
    const runtime = await startLocalRuntime({ dynamoDb, dispatchTickMs: false, timeScale: 600 });

    try {
      // Act
      await new Promise((resolve) => setTimeout(resolve, 700));

      // Assess
      expect(runtime.tuning.executions()).toEqual([]);
    } finally {
      await runtime.stop();
    }
  });
});
