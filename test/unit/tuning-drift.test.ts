import { describe, expect, it } from 'vitest';
import { createStream, exponential, type RandomSource, standardNormal } from '../../domain/random';
import {
  addObservation,
  confidenceDrift,
  DEFAULT_TUNING_CONFIG,
  EMPTY_MOMENTS,
  type Moments,
  populationStabilityIndex,
  psiThreshold,
  RATE_CUSUM_START,
  RESIDUAL_CUSUM_START,
  rateCusumSignal,
  residualCusumSignal,
  updateRateCusum,
  updateResidualCusum,
} from '../../domain/tuning';

const MINUTE = 60_000;
const drift = DEFAULT_TUNING_CONFIG.drift;
const RATE = {
  upRatio: drift.arrivalUpRatio,
  downRatio: drift.arrivalDownRatio,
  threshold: drift.arrivalThreshold,
};
const RESIDUAL = {
  shiftSds: drift.residualShiftSds,
  threshold: drift.residualThreshold,
  warmup: drift.residualWarmup,
};

/** Poisson count with the given mean, by counting exponential gaps in a unit interval. */
function poisson(random: RandomSource, mean: number): number {
  let count = 0;
  let time = exponential(random, 1 / mean);
  while (time < 1) {
    count++;
    time += exponential(random, 1 / mean);
  }
  return count;
}

function multinomial(random: RandomSource, shares: readonly number[], draws: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let draw = 0; draw < draws; draw++) {
    let target = random.next();
    let index = 0;
    while (index < shares.length - 1 && target >= (shares[index] ?? 0)) {
      target -= shares[index] ?? 0;
      index++;
    }
    counts[`c${index}`] = (counts[`c${index}`] ?? 0) + 1;
  }
  return counts;
}

/** Alarms of a rate CUSUM over a Poisson series whose mean steps from `base` to `after` at `changeAt`; it restarts after each. */
function rateRun(seed: number, buckets: number, base: number, after: number, changeAt: number) {
  const random = createStream(seed, 'rate-series');
  let state = RATE_CUSUM_START;
  const alarms: { alarmAt: number; signal: NonNullable<ReturnType<typeof rateCusumSignal>> }[] = [];
  for (let bucket = 0; bucket < buckets; bucket++) {
    const at = bucket * MINUTE;
    state = updateRateCusum(state, poisson(random, bucket < changeAt ? base : after), base, RATE, at);
    const signal = rateCusumSignal(state, RATE.threshold, at + MINUTE);
    if (signal !== undefined) {
      alarms.push({ alarmAt: bucket, signal });
      state = RATE_CUSUM_START;
    }
  }
  return alarms;
}

/** Alarms over residual batches of `perBatch` normal residuals whose mean steps by `shift` at `changeAt`; restarts after each. */
function residualRun(seed: number, batches: number, perBatch: number, shift: number, changeAt: number) {
  const random = createStream(seed, 'residual-series');
  let state = RESIDUAL_CUSUM_START;
  const alarms: { alarmAt: number; signal: NonNullable<ReturnType<typeof residualCusumSignal>> }[] = [];
  for (let batch = 0; batch < batches; batch++) {
    let moments: Moments = EMPTY_MOMENTS;
    for (let index = 0; index < perBatch; index++) {
      const mean = -0.35 + (batch >= changeAt ? shift : 0);
      moments = addObservation(moments, mean + 0.83 * standardNormal(random));
    }
    const at = batch * MINUTE;
    state = updateResidualCusum(state, moments, RESIDUAL, at);
    const signal = residualCusumSignal(state, RESIDUAL.threshold, at + MINUTE);
    if (signal !== undefined) {
      alarms.push({ alarmAt: batch, signal });
      // As the loop does: the reference is kept, the statistics restart.
      state = { reference: state.reference, up: 0, down: 0 };
    }
  }
  return alarms;
}

describe('population stability index', () => {
  it('is zero for identical distributions and flags a clear shift in the mix', () => {
    // Prepare
    const baseline = { billing: 400, tech: 300, orders: 300 };

    // Act
    const same = populationStabilityIndex(baseline, { billing: 40, tech: 30, orders: 30 });
    const shifted = populationStabilityIndex(baseline, { billing: 20, tech: 30, orders: 50 });

    // Assess
    expect(same.psi).toBeCloseTo(0, 3);
    expect(same.drift).toBe(false);
    expect(shifted.drift).toBe(true);
    expect(shifted.contributions[0]?.key).toBe('billing');
  });

  it('demands more evidence from small samples than from large ones, never less than the floor', () => {
    const small = psiThreshold(4, 100, 50, 0.001, 0.1);
    const large = psiThreshold(4, 100_000, 50_000, 0.001, 0.1);

    expect(small).toBeGreaterThan(0.3);
    expect(large).toBe(0.1);
  });

  it('keeps its false-alarm rate near alpha on stationary samples of any size', () => {
    // Prepare
    const random = createStream(7, 'psi-null');
    const shares = [0.35, 0.2, 0.35, 0.1];
    let alarms = 0;
    const trials = 2000;

    // Act
    for (let trial = 0; trial < trials; trial++) {
      const window = 60 + (trial % 5) * 100;
      const result = populationStabilityIndex(
        multinomial(random, shares, 800),
        multinomial(random, shares, window),
        { alpha: 0.01, floor: 0 },
      );
      if (result.drift) alarms++;
    }

    // Assess: nominal 1%; the chi-square approximation may err a little either way.
    expect(alarms / trials).toBeLessThan(0.025);
  });
});

describe('Poisson CUSUM on arrivals', () => {
  it('raises a false alarm less than once in ten days of minute buckets at 10 arrivals a minute', () => {
    const alarms = Array.from({ length: 60 }, (_, day) =>
      rateRun(day, 1440, 10, 10, Number.POSITIVE_INFINITY),
    );

    // 86,400 stationary buckets: at most 6 alarms means a mean run of more than 10 days between them.
    expect(alarms.flat().length).toBeLessThanOrEqual(6);
  });

  it('detects a 50% surge within 15 buckets in most runs (median about 8) and within 30 in all, placing the change point near it', () => {
    const delays = Array.from({ length: 20 }, (_, seed) => {
      const alarm = rateRun(seed, 700, 10, 15, 600).find((entry) => entry.alarmAt >= 600);
      expect(alarm?.signal.direction).toBe('up');
      expect(alarm?.signal.since).toBeGreaterThanOrEqual(560 * MINUTE);
      return (alarm?.alarmAt ?? Number.POSITIVE_INFINITY) - 600 + 1;
    });

    expect(delays.filter((delay) => delay <= 15).length).toBeGreaterThanOrEqual(16);
    expect(Math.max(...delays)).toBeLessThanOrEqual(30);
  });

  it('detects a drop in arrivals as a downward change', () => {
    const alarm = rateRun(3, 700, 10, 5, 600).find((entry) => entry.alarmAt >= 600);

    expect(alarm?.signal.direction).toBe('down');
    expect(alarm?.alarmAt).toBeLessThan(620);
  });
});

describe('residual CUSUM', () => {
  it('raises a false alarm less than once per 20,000 completions on a stable model', () => {
    const alarms = Array.from({ length: 10 }, (_, seed) =>
      residualRun(seed, 1440, 4, 0, Number.POSITIVE_INFINITY),
    );

    // 57,600 completions after a 300-completion warm-up each.
    expect(alarms.flat().length).toBeLessThanOrEqual(2);
  });

  it('detects handling times doubling (ln 2 in log residual) within 48 completions in most runs and within 100 in all', () => {
    const delays = Array.from({ length: 20 }, (_, seed) => {
      const alarm = residualRun(seed, 400, 4, Math.log(2), 200).find((entry) => entry.alarmAt >= 200);
      expect(alarm?.signal.direction).toBe('up');
      return ((alarm?.alarmAt ?? Number.POSITIVE_INFINITY) - 200 + 1) * 4;
    });

    expect(delays.filter((completions) => completions <= 48).length).toBeGreaterThanOrEqual(16);
    expect(Math.max(...delays)).toBeLessThanOrEqual(100);
  });

  it('does not test during its warm-up, whatever the residuals', () => {
    // Prepare: a wildly biased model from the first completion.
    let state = RESIDUAL_CUSUM_START;

    // Act
    for (let batch = 0; batch < 10; batch++) {
      state = updateResidualCusum(state, { count: 10, sum: 30, sumSq: 90 }, RESIDUAL, batch * MINUTE);
    }

    // Assess: 100 of 300 warm-up completions seen, nothing tested yet.
    expect(state.reference.count).toBe(100);
    expect(residualCusumSignal(state, RESIDUAL.threshold, 0)).toBeUndefined();
  });
});

describe('confidence drift', () => {
  it('flags a marked fall in decision confidence and ignores the same distribution', () => {
    const baseline = [0, 0, 0, 0, 0, 10, 20, 60, 200, 700];
    const lower = [20, 30, 40, 40, 40, 30, 20, 20, 30, 30];

    const fell = confidenceDrift(baseline, lower, { drop: 0.1, alpha: 0.001, floor: 0.1 });
    const same = confidenceDrift(baseline, [0, 0, 0, 0, 0, 1, 2, 6, 20, 71], {
      drop: 0.1,
      alpha: 0.001,
      floor: 0.1,
    });

    expect(fell.drift).toBe(true);
    expect(fell.windowMean).toBeLessThan(fell.baselineMean);
    expect(same.drift).toBe(false);
  });
});
