import { describe, expect, it } from 'vitest';
import { createStream, exponential, type RandomSource, standardNormal } from '../../domain/random';
import {
  addObservation,
  censoredResidualEvidence,
  confidenceDrift,
  DEFAULT_TUNING_CONFIG,
  EMPTY_MOMENTS,
  logNormalSurvival,
  type Moments,
  populationStabilityIndex,
  psiThreshold,
  RATE_CUSUM_START,
  RESIDUAL_CUSUM_START,
  type ResidualCusumSettings,
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

/** Item-level residual stream: starts, censored running items, completions, a cycle every 2 minutes. */
function itemRun(options: {
  seed: number;
  cycles: number;
  changeAtCycle: number;
  withRunning: boolean;
  settings: ResidualCusumSettings;
  residualMean?: (minute: number) => number;
  perMinute?: number;
}) {
  const random = createStream(options.seed, 'item-stream');
  const perMinute = options.perMinute ?? 4;
  const predicted = 120;
  const meanAt = options.residualMean ?? (() => -0.35);
  let running: { start: number; end: number; residual: number }[] = [];
  let state = RESIDUAL_CUSUM_START;
  let clock = 0;
  const alarms: { cycle: number; direction: 'up' | 'down' }[] = [];
  for (let cycle = 1; cycle <= options.cycles; cycle++) {
    const now = cycle * 2 * MINUTE;
    // Arrivals start at once (a Poisson stream); the shift lengthens the items that start after it.
    for (;;) {
      const next = clock + exponential(random, 1 / perMinute) * MINUTE;
      if (next >= now) break;
      clock = next;
      const shifted = cycle > options.changeAtCycle ? Math.LN2 : 0;
      const residual = meanAt(clock / MINUTE) + shifted + 0.83 * standardNormal(random);
      running.push({ start: clock, end: clock + predicted * Math.exp(residual) * 1000, residual });
    }
    let batch: Moments = EMPTY_MOMENTS;
    for (const item of running) if (item.end <= now) batch = addObservation(batch, item.residual);
    running = running.filter((item) => item.end > now);
    const ages = running.map((item) => Math.log((now - item.start) / 1000 / predicted));
    state = updateResidualCusum(state, batch, options.settings, now, options.withRunning ? ages : undefined);
    const signal = residualCusumSignal(state, options.settings.threshold, now);
    if (signal !== undefined) {
      alarms.push({ cycle, direction: signal.direction });
      // As in a sweep: the statistics restart, the reference and the last snapshot stay.
      const { upSince: _u, downSince: _d, ...rest } = state;
      state = { ...rest, up: 0, down: 0 };
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

describe('residual CUSUM with the evidence of running items', () => {
  const LAGGED: ResidualCusumSettings = {
    ...RESIDUAL,
    referenceLagMs: drift.testWindowMinutes * MINUTE,
    referenceHalfLifeMs: drift.baselineHalfLifeMinutes * MINUTE,
  };
  const median = (values: readonly number[]) =>
    [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)] ?? Number.NaN;

  it('computes the normal tail in log form, exact far beyond where 1 − Φ underflows', () => {
    expect(logNormalSurvival(0)).toBeCloseTo(Math.log(0.5), 6);
    expect(logNormalSurvival(1.959964)).toBeCloseTo(Math.log(0.025), 5);
    expect(logNormalSurvival(-2)).toBeCloseTo(Math.log(0.9772499), 6);
    expect(logNormalSurvival(5) / Math.log(2.866516e-7)).toBeCloseTo(1, 6);
    expect(logNormalSurvival(10) / Math.log(7.619853e-24)).toBeCloseTo(1, 6);
  });

  it('weighs a running item by how long it has run against its prediction: nothing when young, about a completion when three times late', () => {
    const reference = { mean: -0.35, sd: 0.83 };

    const young = censoredResidualEvidence([Math.log(0.05)], reference, 0.8);
    const late = censoredResidualEvidence([Math.log(3)], reference, 0.8);
    const both = censoredResidualEvidence([Math.log(3), Math.log(0.5)], reference, 0.8);

    expect(young.up).toBeGreaterThan(0);
    expect(young.up).toBeLessThan(0.05);
    // A completion at 3× predicted would move the up statistic by z − k = 1.75 − 0.4.
    expect(late.up).toBeGreaterThan(1.3);
    expect(late.up).toBeLessThan(2);
    expect(late.down).toBeLessThan(-2);
    expect(both.up).toBeCloseTo(2.18, 2);
    expect(both.down).toBeCloseTo(-3.3, 2);
  });

  it('sees handling times double sooner than completions alone do, at a false-alarm rate of the same order', () => {
    // Prepare: a low threshold (7 SD = 5.6 log-likelihood units), so false alarms are countable.
    const settings = { ...LAGGED, threshold: 7 };
    const falseAlarms = (withRunning: boolean) =>
      Array.from(
        { length: 5 },
        (_, seed) =>
          itemRun({ seed, cycles: 7200, changeAtCycle: Number.POSITIVE_INFINITY, withRunning, settings })
            .length,
      ).reduce((sum, count) => sum + count, 0);
    const delays = (withRunning: boolean) =>
      Array.from({ length: 30 }, (_, seed) => {
        const alarm = itemRun({
          seed: 100 + seed,
          cycles: 400,
          changeAtCycle: 300,
          withRunning,
          settings,
        }).find((entry) => entry.cycle > 300);
        return alarm === undefined ? Number.POSITIVE_INFINITY : (alarm.cycle - 300) * 2;
      });

    // Act: 50 stationary days; 30 doublings, 4 completions a minute.
    const alarmsWith = falseAlarms(true);
    const alarmsWithout = falseAlarms(false);
    const delaysWith = delays(true);
    const delaysWithout = delays(false);

    // Assess: Lorden's bound (at least e^5.6 ≈ 270 cycles between false alarms of each direction)
    // holds for both; the running items cut the median delay by minutes and the worst by more.
    expect(alarmsWith).toBeLessThan((2 * 36_000) / 270);
    expect(alarmsWith).toBeLessThan(1.3 * alarmsWithout);
    expect(median(delaysWith)).toBeLessThanOrEqual(median(delaysWithout) - 2);
    expect(Math.max(...delaysWith)).toBeLessThan(Math.max(...delaysWithout));
  });

  it('keeps learning its reference from completions older than its lag, so a model that slowly improves is not drift', () => {
    // Prepare: the mean log residual falls from −0.2 to −0.5 over each 8-hour day.
    const improving = (minute: number) => -0.2 - 0.3 * ((minute % 480) / 480);
    const alarms = (settings: ResidualCusumSettings) =>
      Array.from(
        { length: 20 },
        (_, seed) =>
          itemRun({
            seed,
            cycles: 240,
            changeAtCycle: Number.POSITIVE_INFINITY,
            withRunning: true,
            settings,
            residualMean: improving,
          }).length,
      ).reduce((sum, count) => sum + count, 0);

    // Act
    const frozen = alarms(RESIDUAL);
    const learning = alarms(LAGGED);

    // Assess
    expect(frozen).toBeGreaterThan(4);
    expect(learning).toBeLessThanOrEqual(frozen / 2);
  });

  it('lets a tested batch join its reference only once it is older than the lag', () => {
    // Prepare: a reference ready from the warm-up.
    let state = updateResidualCusum(RESIDUAL_CUSUM_START, { count: 300, sum: -90, sumSq: 240 }, LAGGED, 0);

    // Act: 20 minutes of completions, then 40 more.
    for (let minute = 1; minute <= 20; minute++) {
      state = updateResidualCusum(state, { count: 4, sum: -1.2, sumSq: 3 }, LAGGED, minute * MINUTE);
    }
    const within = state.reference.count;
    for (let minute = 21; minute <= 60; minute++) {
      state = updateResidualCusum(state, { count: 4, sum: -1.2, sumSq: 3 }, LAGGED, minute * MINUTE);
    }

    // Assess: nothing joined within the 30-minute lag; the first 30 minutes' batches by the end.
    expect(within).toBe(300);
    expect(state.seen).toBe(300 + 30 * 4);
    expect(state.pending).toHaveLength(30);
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
