import { describe, expect, it } from 'vitest';
import type { AllocationJobState } from '../../domain/allocation/job';
import type { StaffingRecommended } from '../../domain/events/staffing';
import type { ObservationBucket } from '../../domain/tuning';
import { AllocationStateConflictError, createAllocationHandler } from '../../lambdas/allocation/handler';
import { InMemoryAllocationStore } from '../../lambdas/shared/allocation-store';
import {
  InMemoryAuditLog,
  InMemoryEventPublisher,
  InMemoryFeatureStore,
  InMemoryTables,
  ManualClock,
} from '../../lambdas/shared/in-memory';
import { PolicyStore } from '../../lambdas/shared/policy-store';
import type { AssignQueueOutcome, QueueAssignment } from '../../lambdas/shared/ports';
import { InMemoryTuningStore } from '../../lambdas/shared/tuning-store';
import { ALLOCATION_SETTINGS, MINUTE, QUARTER, ROSTER, seedArrivals, seedRoster } from './allocation-support';

/** A Friday morning, a little into a quarter hour. */
const NOW = Date.parse('2026-11-20T09:07:00Z');
const TWO_DAYS_AGO = Date.parse('2026-11-18T00:00:00Z');
/** History is seeded up to the start of the current quarter; later seeding continues from there. */
const THIS_QUARTER = Date.parse('2026-11-20T09:00:00Z');

async function world(options: { historyFrom?: number; settings?: boolean } = {}) {
  const clock = new ManualClock(NOW);
  const tables = new InMemoryTables();
  const features = new InMemoryFeatureStore(tables, clock);
  const tuning = new InMemoryTuningStore(tables);
  const allocation = new InMemoryAllocationStore();
  const audit = new InMemoryAuditLog(tables);
  const events = new InMemoryEventPublisher();
  if (options.settings ?? true) await allocation.saveSettings(ALLOCATION_SETTINGS);
  await seedArrivals(tuning, options.historyFrom ?? TWO_DAYS_AGO, THIS_QUARTER);
  await seedRoster(features, NOW);
  const readRanges: [number, number][] = [];
  const countingTuning = Object.assign(Object.create(tuning) as InMemoryTuningStore, {
    readBuckets: (from: number, to: number): Promise<ObservationBucket[]> => {
      readRanges.push([from, to]);
      return tuning.readBuckets(from, to);
    },
  });
  const policies = new PolicyStore({ versions: tuning, features, audit, events, clock });
  const deps = { features, tuning: countingTuning, policies, allocation, audit, events, clock };
  return {
    clock,
    tables,
    features,
    tuning,
    allocation,
    audit,
    events,
    readRanges,
    deps,
    handler: createAllocationHandler(deps),
  };
}

const published = (events: InMemoryEventPublisher, detailType = 'StaffingRecommended') =>
  events.published
    .filter((event) => event.detailType === detailType)
    .map((event) => event.detail as StaffingRecommended);

const queueOf = async (features: InMemoryFeatureStore) =>
  Object.fromEntries((await features.listQueueAssignments()).map((entry) => [entry.agentId, entry.queueId]));

describe('allocation job', () => {
  it('stores the moves the guardrails allow as the agents’ new queues and leaves the rest for approval', async () => {
    // Prepare: cards needs about six agents for 80 calls an hour and has two.
    const { handler, features, allocation, events } = await world();

    // Act
    const output = await handler({});

    // Assess: at most two moves an hour without approval; the next waits for a person.
    expect(output).toMatchObject({ status: 'ran', autoApplied: expect.any(Number) });
    const moves = published(events).filter((event) => event.kind === 'move');
    const applied = moves.filter((move) => move.decision === 'auto-applied');
    const waiting = moves.filter((move) => move.decision === 'approval-required');
    expect(applied).toHaveLength(2);
    expect(waiting.length).toBeGreaterThanOrEqual(1);
    const queues = await queueOf(features);
    for (const move of applied) {
      expect(move.fromQueue).toBe('loans');
      expect(move.toQueue).toBe('cards');
      expect(move.agentId).toMatch(/^flex-/);
      expect(queues[move.agentId]).toBe('cards');
    }
    for (const move of waiting) {
      if (move.kind !== 'move') continue;
      expect(queues[move.agentId]).toBe('loans');
      expect(move.approvalReason).toContain('moves applied without approval this hour');
    }
    const pending = await allocation.listApprovals(['pending']);
    expect(pending.map((approval) => approval.recommendationId)).toEqual(
      waiting.map((move) => move.recommendationId),
    );
    expect(applied[0]?.reason).toMatch(
      /^Move flex-\d from loans to cards for the next 60 min: cards expects 80 arrivals\/h/,
    );
  });

  it('records the run and every recommendation in the audit trail, with the inputs behind them', async () => {
    // Prepare
    const { handler, audit, events } = await world();

    // Act
    const output = await handler({});

    // Assess
    const trail = await audit.listForItem(`allocation#${output.runId}`);
    expect(trail.map((record) => record.kind)).toEqual([
      'ALLOCATION_RUN',
      ...published(events).map(() => 'STAFFING_RECOMMENDED'),
    ]);
    const run = trail[0];
    expect(run?.actor).toBe('flowtune:allocation');
    expect(run?.policyVersion).toBe('alloc-test-1');
    const inputs = JSON.parse(run?.inputs ?? '{}') as {
      forecasts: Record<string, number[]>;
      roster: unknown[];
    };
    expect(inputs.forecasts.cards?.[0]).toBeCloseTo(20, 0);
    expect(inputs.roster).toHaveLength(ROSTER.length);
  });

  it('applies an offload within the guardrails as a new decision-policy version, and takes it back out once it lapses', async () => {
    // Prepare
    const { handler, features, events, clock, tuning } = await world();

    // Act: the first run cannot spare enough people, so card activations go to automation.
    const first = await handler({});
    const offload = published(events).find((event) => event.kind === 'offload');
    const automatedThen = (await features.getActivePolicy()).automationCategories;
    // Four more card agents arrive; an hour and a quarter later the offload has lapsed.
    await seedRoster(
      features,
      clock.now(),
      ['card-3', 'card-4', 'card-5', 'card-6'].map((agentId) => ({
        agentId,
        skills: { cards: 3 },
        queueId: 'cards',
      })),
    );
    clock.advance(75 * MINUTE);
    await seedArrivals(tuning, THIS_QUARTER, clock.now());
    const second = await handler({});

    // Assess
    expect(offload).toMatchObject({ kind: 'offload', decision: 'auto-applied', category: 'card-activation' });
    expect(first.policyVersion).toBe('default-1+a202611200907');
    expect(automatedThen).toEqual(['card-activation']);
    expect(second.policyVersion).toBe('default-1+a202611201022');
    expect((await features.getActivePolicy()).automationCategories).toEqual([]);
    const changes = events.published.filter((event) => event.detailType === 'PolicyChanged');
    expect(changes.map((event) => (event.detail as { policyVersion: string }).policyVersion)).toEqual([
      'default-1+a202611200907',
      'default-1+a202611201022',
    ]);
    expect((await tuning.getPolicyVersion('default-1+a202611200907'))?.createdBy).toBe('flowtune:allocation');
  });

  it('leaves an offload for approval when automating the category would send more than the guardrail allows', async () => {
    // Prepare: card activations are now half of cards' calls, above the 30 % limit.
    const { deps, allocation, tuning } = await world({ historyFrom: THIS_QUARTER });
    await seedArrivals(tuning, TWO_DAYS_AGO, THIS_QUARTER, { cards: 10, 'card-activation': 10, loans: 4 });

    // Act
    await createAllocationHandler(deps)({});

    // Assess
    const offload = (await allocation.listApprovals(['pending'])).find(
      (approval) => approval.recommendation.kind === 'offload',
    )?.recommendation;
    expect(offload?.decision).toBe('approval-required');
    expect(offload?.approvalReason).toContain('sends all of it (50% of cards) to automation, above the 30%');
  });

  it('applies a move a person approved, under their name, and expires one nobody decided in time', async () => {
    // Prepare: a first run leaves at least one move for approval.
    const { handler, allocation, features, clock, tuning } = await world();
    await handler({});
    const [approve, ...others] = await allocation.listApprovals(['pending']);
    if (approve === undefined || approve.recommendation.kind !== 'move')
      throw new Error('expected a pending move');
    await allocation.transitionApproval(approve.recommendationId, 'pending', 'approved', {
      by: 'ops:ana',
      reason: 'cards is drowning',
      at: clock.now() + MINUTE,
    });

    // Act: the next run, a quarter later.
    clock.advance(QUARTER);
    await seedArrivals(tuning, THIS_QUARTER, clock.now());
    const output = await handler({});

    // Assess
    expect(output.approvalsApplied).toBe(1);
    const assignment = (await features.listQueueAssignments()).find(
      (entry) =>
        entry.agentId === (approve.recommendation.kind === 'move' ? approve.recommendation.agentId : ''),
    );
    expect(assignment).toMatchObject({ queueId: 'cards', assignedBy: 'ops:ana' });
    expect((await allocation.listApprovals(['applied'])).map((entry) => entry.recommendationId)).toEqual([
      approve.recommendationId,
    ]);
    // Nobody decides on the others: once their horizon has passed they expire.
    clock.advance(60 * MINUTE);
    await seedArrivals(tuning, THIS_QUARTER + QUARTER, clock.now());
    const later = await handler({});
    expect(later.approvalsExpired).toBeGreaterThanOrEqual(others.length);
    const expired = await allocation.listApprovals(['expired']);
    for (const other of others)
      expect(expired.map((entry) => entry.recommendationId)).toContain(other.recommendationId);
  });

  it('sends a planned move to a person instead when the agent changed queue while the plan was made', async () => {
    // Prepare: every automatic move finds the agent's queue changed (an operator moved them meanwhile).
    const { deps, features } = await world();
    const racing = Object.assign(Object.create(features) as InMemoryFeatureStore, {
      assignQueue: async (
        _assignment: QueueAssignment,
        _expected: string | undefined,
      ): Promise<AssignQueueOutcome> => 'conflict',
    });

    // Act
    const output = await createAllocationHandler({ ...deps, features: racing })({});

    // Assess
    const moves = published(deps.events).filter((event) => event.kind === 'move');
    expect(moves.length).toBeGreaterThan(0);
    expect(output.autoApplied).toBe(
      published(deps.events).filter((event) => event.kind === 'offload').length,
    );
    for (const move of moves) expect(move.decision).toBe('approval-required');
    expect(moves.some((move) => move.approvalReason?.includes('while the plan was made'))).toBe(true);
  });

  it('rolls each observation bucket up once: later runs read only the intervals that settled since', async () => {
    // Prepare
    const { handler, readRanges, clock, tuning } = await world();
    await handler({});
    const firstRunReads = readRanges.length;
    clock.advance(QUARTER);
    await seedArrivals(tuning, THIS_QUARTER, clock.now());

    // Act
    await handler({});

    // Assess: one short range, from where the first run stopped.
    const secondRun = readRanges.slice(firstRunReads);
    expect(firstRunReads).toBeGreaterThan(1);
    expect(secondRun).toEqual([[THIS_QUARTER, THIS_QUARTER + QUARTER]]);
  });

  it('tracks the one-interval-ahead forecast error against the arrivals that then came', async () => {
    // Prepare
    const { handler, clock, tuning } = await world();
    await handler({});
    clock.advance(2 * QUARTER);
    // Half the usual cards calls in the quarter that was forecast.
    await seedArrivals(tuning, THIS_QUARTER, THIS_QUARTER + QUARTER, {
      cards: 8,
      'card-activation': 2,
      loans: 4,
    });
    await seedArrivals(tuning, THIS_QUARTER + QUARTER, clock.now());

    // Act
    const output = await handler({});

    // Assess: forecasts 20 + 4, actuals 10 + 4 → WAPE 10 / 14.
    expect(output.forecastWape).toBeCloseTo(10 / 14, 1);
  });

  it('does nothing without settings, and plans nothing from less than a day of history', async () => {
    // Prepare
    const unconfigured = await world({ settings: false });
    const young = await world({ historyFrom: NOW - 6 * 60 * MINUTE });

    // Act
    const none = await unconfigured.handler({});
    const tooYoung = await young.handler({});

    // Assess
    expect(none.status).toBe('not-configured');
    expect(tooYoung.status).toBe('insufficient-history');
    expect(young.events.published).toEqual([]);
    expect(await queueOf(young.features)).toMatchObject({ 'flex-1': 'loans' });
  });

  it('stops before acting when another run holds the state', async () => {
    // Prepare: a second run claims the state between this run's read and its claim.
    const { deps, allocation, features, events } = await world();
    const stale = Object.assign(Object.create(allocation) as InMemoryAllocationStore, {
      saveState: async (_state: AllocationJobState, _expected: number | undefined) => 'conflict' as const,
    });

    // Act
    const run = createAllocationHandler({ ...deps, allocation: stale })({});

    // Assess
    await expect(run).rejects.toBeInstanceOf(AllocationStateConflictError);
    expect(events.published).toEqual([]);
    expect((await queueOf(features))['flex-1']).toBe('loans');
  });

  it('plans only from a full local day after the first observation (the days before are unknown, not quiet)', async () => {
    // Prepare: observations began yesterday at 15:00, so the first full local day is today, not yet over.
    const partial = await world({ historyFrom: Date.parse('2026-11-19T15:00:00Z') });

    // Act
    const output = await partial.handler({});

    // Assess
    expect(output.status).toBe('insufficient-history');
    expect(partial.events.published).toEqual([]);
  });
});
