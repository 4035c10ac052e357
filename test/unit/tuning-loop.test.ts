import { describe, expect, it } from 'vitest';
import { DriftDetected, PolicyChanged } from '../../domain/events/tuning';
import type { AgentState, HandlingFeatures } from '../../domain/model';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { createStream, exponential, type RandomSource, standardNormal } from '../../domain/random';
import {
  armKey,
  DEFAULT_TUNING_CONFIG,
  type Experiment,
  emptyBucket,
  type InProgressSnapshot,
  initialTuningState,
  type ObservationBucket,
  observe,
  runTuningCycle,
  startExperiment,
  type TuningCycleResult,
  TuningState,
} from '../../domain/tuning';

const START = Date.parse('2026-03-02T08:00:00Z');
const MINUTE = 60_000;
const CATEGORIES = ['billing', 'orders'] as const;
const SKILLS = {
  billing: [{ skill: 'billing', minProficiency: 1 }],
  orders: [{ skill: 'orders', minProficiency: 1 }],
};
const FEATURES: HandlingFeatures = {
  global: { count: 2000, mean: 200, m2: 2000 * 200 * 200 },
  byCategory: {
    billing: { count: 1000, mean: 200, m2: 1000 * 200 * 200 },
    orders: { count: 1000, mean: 200, m2: 1000 * 200 * 200 },
  },
  byCategoryAgent: {},
};
const ROSTER: AgentState[] = Array.from({ length: 60 }, (_, index) => ({
  agentId: `a-${index}`,
  kind: 'person',
  status: 'available',
  skills: [
    { skill: 'billing', proficiency: 3 },
    { skill: 'orders', proficiency: 3 },
  ],
  capacity: 1,
  activeCount: 0,
  idleSince: 0,
}));

function poisson(random: RandomSource, mean: number): number {
  let count = 0;
  let time = exponential(random, 1 / mean);
  while (time < 1) {
    count++;
    time += exponential(random, 1 / mean);
  }
  return count;
}

interface World {
  /** Arrivals per minute per category at minute m. */
  readonly rate: (minute: number) => number;
  /** Mean log(observed / predicted) of a category's completions at minute m. */
  readonly residualMean: (category: string, minute: number) => number;
  /** SLA attainment of an arm at minute m. */
  readonly attainment?: (arm: 'control' | 'treatment') => number;
}

/** Minute buckets of a synthetic operation: Poisson arrivals, normal log residuals, SLA outcomes by arm. */
function bucketsFor(
  world: World,
  minutes: number,
  seed: number,
  experiment?: Experiment,
): ObservationBucket[] {
  const random = createStream(seed, 'loop-world');
  const buckets: ObservationBucket[] = [];
  for (let minute = 0; minute < minutes; minute++) {
    const start = START + minute * MINUTE;
    let bucket = emptyBucket(start, 60);
    for (const category of CATEGORIES) {
      const arrivals = poisson(random, world.rate(minute) / 2);
      for (let index = 0; index < arrivals; index++) {
        bucket = observe(bucket, { kind: 'arrival', at: start, category, requiredSkills: SKILLS[category] });
        const residual = world.residualMean(category, minute) + 0.8 * standardNormal(random);
        bucket = observe(bucket, {
          kind: 'completion',
          at: start,
          category,
          agentId: `a-${index % 60}`,
          observedSeconds: 200 * Math.exp(residual),
          predictedSeconds: 200,
        });
        bucket = observe(bucket, { kind: 'decision', at: start, confidence: 0.95 });
        const arm =
          experiment === undefined
            ? 'none'
            : random.next() < experiment.treatmentShare
              ? 'treatment'
              : 'control';
        const attainment = arm === 'none' ? 0.95 : (world.attainment?.(arm) ?? 0.95);
        bucket = observe(bucket, {
          kind: 'outcome',
          at: start,
          arm: armKey(experiment?.experimentId, arm),
          met: random.next() < attainment,
        });
      }
    }
    buckets.push(bucket);
  }
  return buckets;
}

/**
 * Items that take time: orders and billing start as Poisson streams (4 a minute each), each runs
 * 200 s × e^residual, and from `changeAtMinute` on orders that start take twice as long. Buckets
 * hold arrivals at the start and completions at the end; `running(asOf)` is the work in progress.
 */
function itemWorld(seed: number, minutes: number, changeAtMinute: number) {
  const random = createStream(seed, 'loop-items');
  const items: { category: string; start: number; end: number; residual: number }[] = [];
  for (const category of CATEGORIES) {
    for (let at = exponential(random, 1 / 4); at < minutes; at += exponential(random, 1 / 4)) {
      const slower = category === 'orders' && at >= changeAtMinute ? Math.LN2 : 0;
      const residual = -0.3 + slower + 0.8 * standardNormal(random);
      const start = START + at * MINUTE;
      items.push({ category, start, end: start + 200_000 * Math.exp(residual), residual });
    }
  }
  const byMinute = new Map<number, ObservationBucket>();
  const bucketAt = (at: number) => {
    const start = START + Math.floor((at - START) / MINUTE) * MINUTE;
    return byMinute.get(start) ?? emptyBucket(start, 60);
  };
  const put = (bucket: ObservationBucket) => byMinute.set(bucket.start, bucket);
  for (const [index, item] of items.entries()) {
    const skills = SKILLS[item.category as (typeof CATEGORIES)[number]];
    put(
      observe(bucketAt(item.start), {
        kind: 'arrival',
        at: item.start,
        category: item.category,
        requiredSkills: skills,
      }),
    );
    put(
      observe(bucketAt(item.end), {
        kind: 'completion',
        at: item.end,
        category: item.category,
        agentId: `a-${index % 60}`,
        observedSeconds: 200 * Math.exp(item.residual),
        predictedSeconds: 200,
      }),
    );
  }
  const buckets = [...byMinute.values()]
    .filter((bucket) => bucket.start < START + minutes * MINUTE)
    .sort((left, right) => left.start - right.start);
  const running = (asOf: number): InProgressSnapshot => ({
    asOf,
    items: items
      .filter((item) => item.start < asOf && item.end >= asOf)
      .map((item) => ({ category: item.category, startedAt: item.start, predictedSeconds: 200 })),
  });
  return { buckets, running };
}

/** Runs a cycle every two minutes over the buckets, as the scheduled workflow does. */
function runLoop(
  buckets: readonly ObservationBucket[],
  options: {
    policy?: Policy;
    experiment?: Experiment;
    standby?: readonly AgentState[];
    inProgress?: (now: number) => InProgressSnapshot;
  } = {},
) {
  let state = initialTuningState(START);
  let experiment = options.experiment;
  const results: (TuningCycleResult & { minute: number })[] = [];
  for (let minute = 2; minute <= buckets.length; minute += 2) {
    const now = START + minute * MINUTE;
    const result = runTuningCycle(state, {
      now,
      config: DEFAULT_TUNING_CONFIG,
      policy: options.policy ?? DEFAULT_POLICY,
      modelVersion: 'handling-shrinkage-v1',
      buckets: buckets.filter((bucket) => bucket.start >= state.processedUntil),
      features: FEATURES,
      roster: ROSTER,
      standby: options.standby ?? [],
      ...(experiment === undefined ? {} : { experiment }),
      ...(options.inProgress === undefined ? {} : { inProgress: options.inProgress(now) }),
    });
    state = result.state;
    experiment = result.experiment ?? experiment;
    results.push({ ...result, minute });
  }
  return { results, state, experiment };
}

const steady: World = { rate: () => 10, residualMean: () => -0.3 };

describe('tuning cycle', () => {
  it('raises nothing over a steady six hours, and its state survives a round trip through JSON and its schema', () => {
    // Act
    const { results, state } = runLoop(bucketsFor(steady, 360, 1));

    // Assess
    expect(results.flatMap((result) => result.drift)).toEqual([]);
    expect(TuningState.parse(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it('detects a 50% surge in arrivals within 15 minutes with a valid DriftDetected, once', () => {
    const surge: World = { ...steady, rate: (minute) => (minute < 180 ? 10 : 15) };

    const { results } = runLoop(bucketsFor(surge, 300, 2));

    const rate = results
      .flatMap((result) => result.drift.map((event) => ({ event, minute: result.minute })))
      .filter((entry) => entry.event.kind === 'arrival-rate');
    expect(rate).toHaveLength(1);
    expect(rate[0]?.event.direction).toBe('up');
    expect(rate[0]?.minute).toBeGreaterThan(180);
    expect(rate[0]?.minute).toBeLessThan(195);
    expect(DriftDetected.safeParse(rate[0]?.event).success).toBe(true);
  });

  it('restarts the model of the category whose handling times doubled, from about the change point', () => {
    const slower: World = {
      ...steady,
      residualMean: (category, minute) => (category === 'orders' && minute >= 180 ? -0.3 + Math.LN2 : -0.3),
    };

    const { results } = runLoop(bucketsFor(slower, 260, 3));

    const reestimations = results.flatMap((result) => result.reestimations);
    expect(reestimations.map((entry) => entry.category)).toEqual(['orders']);
    expect(reestimations[0]?.since).toBeGreaterThanOrEqual(START + 170 * MINUTE);
    const event = results.flatMap((result) => result.drift).find((entry) => entry.kind === 'residual');
    expect(event?.actions).toEqual(['re-estimate-model']);
    expect(DriftDetected.safeParse(event).success).toBe(true);
  });

  it('detects handling times doubling sooner when it is told the work in progress, and only from a snapshot that matches its buckets', () => {
    // Prepare: orders double at minute 420 (7 h: the residual references are warm); 8 days.
    const worlds = Array.from({ length: 8 }, (_, seed) => itemWorld(10 + seed, 480, 420));
    const firstResidual = (results: readonly (TuningCycleResult & { minute: number })[]) =>
      results.find((result) => result.minute > 420 && result.drift.some((event) => event.kind === 'residual'))
        ?.minute ?? Number.POSITIVE_INFINITY;

    // Act
    const completionsOnly = worlds.map((world) => firstResidual(runLoop(world.buckets).results));
    const withRunning = worlds.map((world) =>
      firstResidual(runLoop(world.buckets, { inProgress: world.running }).results),
    );
    const stale = worlds.map((world) =>
      firstResidual(runLoop(world.buckets, { inProgress: (now) => world.running(now - MINUTE) }).results),
    );

    // Assess: every doubling found; sooner in total with the running items; a snapshot that is not
    // as of the last bucket read is ignored.
    const total = (minutes: readonly number[]) => minutes.reduce((sum, minute) => sum + minute - 420, 0);
    expect(withRunning.every(Number.isFinite)).toBe(true);
    expect(total(withRunning)).toBeLessThan(0.8 * total(completionsOnly));
    expect(stale).toEqual(completionsOnly);
  });

  it('calls standby people within the hourly guardrail when the roster can no longer carry the demand', () => {
    // Prepare: demand 10/min × 200 s ≈ 33 busy slots; only 30 agents on duty.
    const standby: AgentState[] = Array.from(
      { length: 10 },
      (_, index) => ({ ...ROSTER[0], agentId: `sb-${index}`, status: 'offline' }) as AgentState,
    );
    const buckets = bucketsFor(steady, 120, 4);
    let state = initialTuningState(START);
    const calls: string[] = [];

    // Act
    for (let minute = 2; minute <= 120; minute += 2) {
      const result = runTuningCycle(state, {
        now: START + minute * MINUTE,
        config: DEFAULT_TUNING_CONFIG,
        policy: DEFAULT_POLICY,
        modelVersion: 'm',
        buckets: buckets.filter((bucket) => bucket.start >= state.processedUntil),
        features: FEATURES,
        roster: ROSTER.slice(0, 30),
        standby: standby.filter((agent) => !calls.includes(agent.agentId)),
      });
      state = result.state;
      calls.push(...result.standby.filter((call) => call.decision === 'auto').map((call) => call.agentId));
    }

    // Assess: never before the rates' warm-up, never more than 4 automatic calls in an hour.
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThanOrEqual(2 * DEFAULT_TUNING_CONFIG.capacity.maxAutoActivationsPerHour);
    expect(
      state.activations.every(
        (entry) => entry.at >= START + DEFAULT_TUNING_CONFIG.capacity.warmupMinutes * MINUTE,
      ),
    ).toBe(true);
  });

  it('rolls a worse candidate back without asking anyone, and emits a valid PolicyChanged', () => {
    // Prepare
    const candidate: Policy = {
      ...DEFAULT_POLICY,
      version: 'candidate-1',
      routing: { strategy: 'flowtune', weights: { sla: 4.2 } },
    };
    const experiment = startExperiment({
      experimentId: 'exp-worse',
      candidate,
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.2,
      now: START,
      startedBy: 'ops:ana',
    });
    const world: World = { ...steady, attainment: (arm) => (arm === 'treatment' ? 0.8 : 0.95) };

    // Act
    const { results, experiment: final } = runLoop(bucketsFor(world, 240, 5, experiment), { experiment });

    // Assess
    const change = results.find((result) => result.policyChange !== undefined)?.policyChange;
    expect(change?.kind).toBe('rolled-back');
    expect(change?.needsApproval).toBe(false);
    expect(final?.status).toBe('rolled-back');
    const event = {
      schemaVersion: '1',
      policyVersion: change?.policy.version,
      previousVersion: change?.previousVersion,
      kind: change?.kind,
      changes: change?.changes,
      reason: change?.reason,
      actor: 'flowtune:tuning',
      approval: 'automatic',
      experimentId: change?.experimentId,
      evidence: change?.evidence,
      changedAt: new Date(START).toISOString(),
    };
    expect(PolicyChanged.safeParse(event).success).toBe(true);
  });

  it('holds the promotion of a better candidate with a new routing strategy for a person to approve', () => {
    const candidate: Policy = {
      ...DEFAULT_POLICY,
      version: 'candidate-2',
      routing: { strategy: 'edf', weights: {} },
    };
    const experiment = startExperiment({
      experimentId: 'exp-better',
      candidate,
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.5,
      now: START,
      startedBy: 'ops:ana',
    });
    const world: World = { ...steady, attainment: (arm) => (arm === 'treatment' ? 0.99 : 0.9) };

    const { results, experiment: final } = runLoop(bucketsFor(world, 300, 6, experiment), { experiment });

    const change = results.find((result) => result.policyChange !== undefined)?.policyChange;
    expect(change?.kind).toBe('promoted');
    expect(change?.needsApproval).toBe(true);
    expect(change?.approvalReasons.join(' ')).toMatch(/routing strategy flowtune → edf/);
    expect(final?.status).toBe('awaiting-approval');
  });

  it('keeps the thresholds still while an A/B experiment runs, and glides them in new versions otherwise', () => {
    const erratic: World = { ...steady, residualMean: () => 0 };
    const candidate: Policy = { ...DEFAULT_POLICY, version: 'candidate-3' };
    const experiment = startExperiment({
      experimentId: 'exp-aa',
      candidate,
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.5,
      now: START,
      startedBy: 'ops:ana',
    });

    const during = runLoop(bucketsFor(erratic, 120, 7, experiment), { experiment });
    const without = runLoop(bucketsFor(erratic, 120, 7));

    expect(during.results.filter((result) => result.policyChange?.kind === 'threshold-adapted')).toEqual([]);
    const adapted = without.results.flatMap((result) =>
      result.policyChange === undefined ? [] : [result.policyChange],
    );
    expect(adapted.length).toBeGreaterThan(0);
    expect(adapted.map((change) => change.policy.version)).toEqual(
      adapted.map((_, index) => `default-1+t${index + 1}`),
    );
  });
});
