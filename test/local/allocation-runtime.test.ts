import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localMidnight } from '../../domain/allocation/forecast';
import type { StaffingRecommended } from '../../domain/events/staffing';
import { DynamoDbAllocationStore } from '../../lambdas/shared/dynamodb-allocation-store';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { ALLOCATION_SETTINGS, DAY, QUARTER, seedArrivals, seedRoster } from '../handlers/allocation-support';
import { waitUntil } from '../support/wait-until';

/**
 * The allocation job in the local runtime, on DynamoDB Local: a roster with cards short-handed
 * and cross-skilled people idle in loans, a day and more of arrivals in the tuning loop's
 * observation buckets, the allocation settings; the runtime's timer starts the job, which stores
 * moves as the agents' new queues and publishes StaffingRecommended on the local bus.
 */

let runtime: LocalRuntime;

beforeAll(async () => {
  // Rounds and the tuning loop stay off; only the allocation timer runs, often.
  runtime = await startLocalRuntime({ dispatchTickMs: false, allocationTickMs: 500 });
});

afterAll(async () => {
  await runtime?.stop();
});

describe('allocation job in the local runtime', () => {
  it('runs on its timer, stores a move as the agent’s new queue and publishes StaffingRecommended', async () => {
    // Prepare: since yesterday's midnight, a quarter of cards calls (4 + 1 activation) and one loans call,
    // each taking 12 minutes: the same load as 20 short calls.
    const now = runtime.clock.now();
    const thisQuarter = Math.floor(now / QUARTER) * QUARTER;
    await seedArrivals(runtime.tuning.store, localMidnight(now, 0) - DAY, thisQuarter, {
      cards: 4,
      'card-activation': 1,
      loans: 1,
    });
    await seedRoster(runtime.ports.features, now, undefined, { handlingSeconds: 720 });
    // Settings last: a run before them does nothing at all.
    await new DynamoDbAllocationStore({
      client: runtime.documentClient,
      featuresTable: runtime.tables.featuresTable,
    }).saveSettings(ALLOCATION_SETTINGS);

    // Act: the timer's next run.
    await waitUntil(() => runtime.emittedEvents('StaffingRecommended').length > 0);

    // Assess
    const recommendations = runtime
      .emittedEvents('StaffingRecommended')
      .map((event) => event.detail as StaffingRecommended);
    const applied = recommendations.filter(
      (recommendation) => recommendation.kind === 'move' && recommendation.decision === 'auto-applied',
    );
    expect(applied.length).toBeGreaterThan(0);
    const assignments = await runtime.ports.features.listQueueAssignments();
    for (const move of applied) {
      if (move.kind !== 'move') continue;
      expect(move).toMatchObject({ fromQueue: 'loans', toQueue: 'cards' });
      expect(assignments.find((entry) => entry.agentId === move.agentId)).toMatchObject({
        queueId: 'cards',
        assignedBy: 'flowtune:allocation',
        recommendationId: move.recommendationId,
      });
    }
    const trail = await runtime.auditTrail(`allocation#${applied[0]?.runId}`);
    expect(trail.map((record) => record.kind)).toContain('ALLOCATION_RUN');
  });
});
