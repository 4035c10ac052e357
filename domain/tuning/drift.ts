import {
  addMoments,
  chiSquareQuantile,
  decayMoments,
  EMPTY_MOMENTS,
  logNormalSurvival,
  type Moments,
  momentMean,
  momentVariance,
} from './math';

/**
 * Drift tests, each a pure function of counts or of a small state and the next batch:
 *
 * - **PSI** (population stability index) on a categorical distribution — the category mix, the
 *   confidence histogram — with a threshold calibrated to the sample sizes: under no change,
 *   PSI ≈ χ²(k−1)·(1/n + 1/m), so the test holds its false-alarm rate whatever the volume, and
 *   a floor (0.1, the usual "moderate shift") keeps huge samples from flagging trivial shifts.
 * - **Poisson CUSUM** on arrival counts against the expected count (Page 1954; Lucas 1985):
 *   the optimal sequential test for a step in a Poisson rate, upward and downward.
 * - **Residual CUSUM** (Page's CUSUM, the Page–Hinkley statistic with a learned reference) on
 *   ln(observed ÷ predicted handling time), standardised by a reference mean and SD learned over a
 *   warm-up, so a model that is biased but stable raises nothing and a step in its error does.
 */

export interface PsiResult {
  readonly psi: number;
  /** The value PSI must exceed: max(floor, chi-square critical value for these sample sizes). */
  readonly threshold: number;
  readonly drift: boolean;
  readonly expectedTotal: number;
  readonly actualTotal: number;
  /** Each key's share in the baseline and in the window, largest contribution first. */
  readonly contributions: readonly {
    readonly key: string;
    readonly expectedShare: number;
    readonly actualShare: number;
    readonly contribution: number;
  }[];
}

/**
 * Population stability index Σ (a − e)·ln(a / e) over shares, with additive smoothing (half a
 * count per bin) so an empty bin does not make it infinite.
 *
 * @example
 * populationStabilityIndex({ a: 50, b: 50 }, { a: 80, b: 20 }).psi; // ≈ 0.38
 */
export function populationStabilityIndex(
  expected: Readonly<Record<string, number>>,
  actual: Readonly<Record<string, number>>,
  options: { readonly alpha?: number; readonly floor?: number; readonly smoothing?: number } = {},
): PsiResult {
  const smoothing = options.smoothing ?? 0.5;
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const expectedTotal = keys.reduce((sum, key) => sum + Math.max(0, expected[key] ?? 0), 0);
  const actualTotal = keys.reduce((sum, key) => sum + Math.max(0, actual[key] ?? 0), 0);
  const bins = keys.length;
  const contributions = keys.map((key) => {
    const expectedShare =
      (Math.max(0, expected[key] ?? 0) + smoothing) / (expectedTotal + smoothing * Math.max(bins, 1));
    const actualShare =
      (Math.max(0, actual[key] ?? 0) + smoothing) / (actualTotal + smoothing * Math.max(bins, 1));
    return {
      key,
      expectedShare,
      actualShare,
      contribution: (actualShare - expectedShare) * Math.log(actualShare / expectedShare),
    };
  });
  const psi = contributions.reduce((sum, entry) => sum + entry.contribution, 0);
  const threshold = psiThreshold(
    bins,
    expectedTotal,
    actualTotal,
    options.alpha ?? 0.001,
    options.floor ?? 0.1,
  );
  return {
    psi,
    threshold,
    drift: bins > 1 && expectedTotal > 0 && actualTotal > 0 && psi > threshold,
    expectedTotal,
    actualTotal,
    contributions: [...contributions].sort((left, right) => right.contribution - left.contribution),
  };
}

/**
 * PSI a sample pair of these sizes exceeds with probability `alpha` when nothing changed:
 * χ²₁₋α(bins − 1)·(1/n + 1/m), never below `floor`.
 */
export function psiThreshold(
  bins: number,
  expectedTotal: number,
  actualTotal: number,
  alpha: number,
  floor: number,
): number {
  if (bins < 2 || expectedTotal <= 0 || actualTotal <= 0) return Number.POSITIVE_INFINITY;
  const critical = chiSquareQuantile(1 - alpha, bins - 1) * (1 / expectedTotal + 1 / actualTotal);
  return Math.max(floor, critical);
}

// ---------------------------------------------------------------------------------------------
// Poisson CUSUM on arrival counts
// ---------------------------------------------------------------------------------------------

export interface RateCusumState {
  /** Log-likelihood ratio of "rate × upRatio" against "rate as expected", floored at 0. */
  readonly up: number;
  readonly down: number;
  /** When `up` last left zero: the estimated change point once it alarms (epoch ms). */
  readonly upSince?: number;
  readonly downSince?: number;
}

export const RATE_CUSUM_START: RateCusumState = { up: 0, down: 0 };

export interface RateCusumSettings {
  readonly upRatio: number;
  readonly downRatio: number;
  readonly threshold: number;
}

export type CusumSignal = { readonly direction: 'up' | 'down'; readonly since: number } | undefined;

/**
 * Adds one bucket's count (`observed`, with `expected` under the baseline rate) to the CUSUM.
 * The increment is the log-likelihood ratio of the bucket under the shifted rate, so the
 * statistic drifts down when nothing changed and up by about KL per bucket after a change.
 *
 * @example
 * let state = RATE_CUSUM_START;
 * state = updateRateCusum(state, 15, 10, { upRatio: 1.4, downRatio: 0.7, threshold: 9 }, at);
 */
export function updateRateCusum(
  state: RateCusumState,
  observed: number,
  expected: number,
  settings: RateCusumSettings,
  at: number,
): RateCusumState {
  const upIncrement = observed * Math.log(settings.upRatio) - expected * (settings.upRatio - 1);
  const downIncrement = observed * Math.log(settings.downRatio) - expected * (settings.downRatio - 1);
  const up = Math.max(0, state.up + upIncrement);
  const down = Math.max(0, state.down + downIncrement);
  return {
    up,
    down,
    ...(up > 0 ? { upSince: state.up > 0 ? (state.upSince ?? at) : at } : {}),
    ...(down > 0 ? { downSince: state.down > 0 ? (state.downSince ?? at) : at } : {}),
  };
}

/** The alarm, if the statistic is past its threshold; `since` is the estimated change point. */
export function rateCusumSignal(state: RateCusumState, threshold: number, at: number): CusumSignal {
  if (state.up > threshold) return { direction: 'up', since: state.upSince ?? at };
  if (state.down > threshold) return { direction: 'down', since: state.downSince ?? at };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Residual CUSUM on ln(observed / predicted)
// ---------------------------------------------------------------------------------------------

export interface ResidualCusumState {
  /**
   * What residuals normally look like: the warm-up's, then every completion once it is older than
   * the reference lag, forgetting with the reference half-life (so the count need not be whole).
   */
  readonly reference: Moments;
  /** Residuals folded into the reference since the (re)start, undecayed: the warm-up counter. */
  readonly seen?: number;
  /** Time (epoch ms) of the last batch folded into the reference. */
  readonly referenceAt?: number;
  /** Batches tested but not yet old enough to join the reference, oldest first. */
  readonly pending?: (Moments & { readonly at: number })[];
  readonly up: number;
  readonly down: number;
  readonly upSince?: number;
  readonly downSince?: number;
  /**
   * Censored evidence of the items that were still running at the last snapshot, up and down (in
   * reference SDs, as the statistics): what the next snapshot's evidence is compared with.
   */
  readonly censoredUp?: number;
  readonly censoredDown?: number;
}

export const RESIDUAL_CUSUM_START: ResidualCusumState = { reference: EMPTY_MOMENTS, up: 0, down: 0 };

export interface ResidualCusumSettings {
  /** Shift it is tuned to, in reference SDs; the CUSUM's allowance is half of it. */
  readonly shiftSds: number;
  /** Decision threshold, in reference SDs. */
  readonly threshold: number;
  readonly warmup: number;
  /**
   * A tested batch joins the reference once it is this old (ms), so a change is compared with
   * what came before it and not with itself. Absent: the reference is the warm-up's alone.
   */
  readonly referenceLagMs?: number;
  /** The reference forgets with this half-life (ms), so the model's slow improvement is not drift. */
  readonly referenceHalfLifeMs?: number;
}

/** A floor on the reference SD, so a near-deterministic warm-up cannot make every residual an alarm. */
const MIN_RESIDUAL_SD = 0.05;

export function residualReference(state: ResidualCusumState): { readonly mean: number; readonly sd: number } {
  return {
    mean: momentMean(state.reference),
    sd: Math.max(MIN_RESIDUAL_SD, Math.sqrt(momentVariance(state.reference))),
  };
}

/**
 * Evidence of items still running, each known only to have lasted at least its age so far:
 * `ln(age ÷ predicted)` is a residual censored from the right. Under the reference its survival
 * is S₀(u) = P(Z > u), u the standardised log-age; under a shift of s SDs it is P(Z > u − s). The
 * log-likelihood ratio ln[S(u − s) / S(u)] of every running item, summed and divided by s (the
 * CUSUM's units), for s = +shift (up) and −shift (down). An item young for its prediction weighs
 * almost nothing; one running three times as long as predicted weighs about as much as its
 * completion would.
 *
 * @example
 * censoredResidualEvidence([Math.log(3), Math.log(0.5)], { mean: -0.35, sd: 0.83 }, 0.8); // { up: ≈ 2.4, down: ≈ −1.9 }
 */
export function censoredResidualEvidence(
  logAgeRatios: readonly number[],
  reference: { readonly mean: number; readonly sd: number },
  shiftSds: number,
): { readonly up: number; readonly down: number } {
  let up = 0;
  let down = 0;
  for (const ratio of logAgeRatios) {
    if (!Number.isFinite(ratio)) continue;
    const u = (ratio - reference.mean) / reference.sd;
    const survival = logNormalSurvival(u);
    up += logNormalSurvival(u - shiftSds) - survival;
    down += logNormalSurvival(u + shiftSds) - survival;
  }
  return { up: up / shiftSds, down: down / shiftSds };
}

/**
 * Adds a batch of residuals (their moments) to a category's CUSUM: while warming up, they build
 * the reference; afterwards each standardised residual z moves the statistics by z − k (up) and
 * −z − k (down), k half the shift: the log-likelihood ratio of a shift of that size, divided by
 * the shift. A batch is applied as the sum of its residuals, which equals one-by-one updates
 * whenever the statistic does not touch zero inside the batch.
 *
 * `running`, when given, is `ln(age ÷ predicted)` of every item of the category still running at
 * the end of the batch (a snapshot): the statistics then move by the change of their censored
 * evidence since the last snapshot too. Completions plus the running items' evidence make up the
 * log-likelihood ratio of everything observed so far, whose exponential is a martingale when
 * nothing changed; a CUSUM on it keeps Lorden's bound (at most one false alarm per e^(threshold ×
 * shift) updates on average) and sees a longer handling time in the items that have not finished
 * yet, instead of waiting for their completion. Without snapshots it is the completion CUSUM.
 */
export function updateResidualCusum(
  state: ResidualCusumState,
  batch: Moments,
  settings: ResidualCusumSettings,
  at: number,
  running?: readonly number[],
): ResidualCusumState {
  if (batch.count === 0 && running === undefined) return state;
  if ((state.seen ?? state.reference.count) < settings.warmup) {
    // Warming up: the batch joins the reference at once (nothing is tested yet).
    const warmed = foldIntoReference(state, { ...batch, at }, settings);
    if ((warmed.seen ?? 0) < settings.warmup || running === undefined) return warmed;
    // The reference is ready: this snapshot is what the next one is compared with.
    const evidence = censoredResidualEvidence(running, residualReference(warmed), settings.shiftSds);
    return { ...warmed, censoredUp: evidence.up, censoredDown: evidence.down };
  }
  const { mean, sd } = residualReference(state);
  const standardisedSum = (batch.sum - batch.count * mean) / sd;
  const allowance = (settings.shiftSds / 2) * batch.count;
  let censoredUp = state.censoredUp;
  let censoredDown = state.censoredDown;
  let upEvidence = 0;
  let downEvidence = 0;
  if (running !== undefined) {
    const evidence = censoredResidualEvidence(running, { mean, sd }, settings.shiftSds);
    upEvidence = evidence.up - (censoredUp ?? evidence.up);
    downEvidence = evidence.down - (censoredDown ?? evidence.down);
    censoredUp = evidence.up;
    censoredDown = evidence.down;
  }
  const up = Math.max(0, state.up + standardisedSum - allowance + upEvidence);
  const down = Math.max(0, state.down - standardisedSum - allowance + downEvidence);
  const tested: ResidualCusumState = {
    reference: state.reference,
    ...(state.seen === undefined ? {} : { seen: state.seen }),
    ...(state.referenceAt === undefined ? {} : { referenceAt: state.referenceAt }),
    pending: batch.count > 0 ? [...(state.pending ?? []), { ...batch, at }] : (state.pending ?? []),
    up,
    down,
    ...(up > 0 ? { upSince: state.up > 0 ? (state.upSince ?? at) : at } : {}),
    ...(down > 0 ? { downSince: state.down > 0 ? (state.downSince ?? at) : at } : {}),
    ...(censoredUp === undefined ? {} : { censoredUp }),
    ...(censoredDown === undefined ? {} : { censoredDown }),
  };
  // Batches older than the lag join the reference; without a lag the reference stays the warm-up's.
  const lag = settings.referenceLagMs;
  if (lag === undefined) return { ...tested, pending: [] };
  const pending = tested.pending ?? [];
  const ready = pending.filter((entry) => entry.at <= at - lag);
  if (ready.length === 0) return tested;
  let folded: ResidualCusumState = { ...tested, pending: pending.filter((entry) => entry.at > at - lag) };
  for (const entry of ready) folded = foldIntoReference(folded, entry, settings);
  return folded;
}

/** Adds a batch to the reference, the reference first forgetting for the time since its last batch. */
function foldIntoReference(
  state: ResidualCusumState,
  batch: Moments & { readonly at: number },
  settings: ResidualCusumSettings,
): ResidualCusumState {
  const halfLife = settings.referenceHalfLifeMs ?? Number.POSITIVE_INFINITY;
  const elapsed = state.referenceAt === undefined ? 0 : batch.at - state.referenceAt;
  const reference = addMoments(decayMoments(state.reference, elapsed, halfLife), batch);
  return {
    ...state,
    reference: { count: reference.count, sum: reference.sum, sumSq: reference.sumSq },
    seen: (state.seen ?? state.reference.count) + batch.count,
    referenceAt: Math.max(state.referenceAt ?? batch.at, batch.at),
  };
}

export function residualCusumSignal(state: ResidualCusumState, threshold: number, at: number): CusumSignal {
  if (state.up > threshold) return { direction: 'up', since: state.upSince ?? at };
  if (state.down > threshold) return { direction: 'down', since: state.downSince ?? at };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Confidence drift
// ---------------------------------------------------------------------------------------------

export interface ConfidenceDriftResult {
  readonly baselineMean: number;
  readonly windowMean: number;
  readonly psi: PsiResult;
  /** The window's mean confidence fell by at least `drop` and its histogram differs significantly. */
  readonly drift: boolean;
}

/** Mean of a histogram of CONFIDENCE_BINS equal bins over [0, 1], taking bin midpoints. */
export function histogramMean(histogram: readonly number[]): number {
  let total = 0;
  let weighted = 0;
  histogram.forEach((count, bin) => {
    total += count;
    weighted += count * ((bin + 0.5) / histogram.length);
  });
  return total === 0 ? Number.NaN : weighted / total;
}

/**
 * Confidence drift: the decisions of the window are markedly less confident than the baseline's
 * (new categories, new agents without history, a model reset), by a mean drop of at least `drop`
 * and a significant PSI between the two histograms.
 */
export function confidenceDrift(
  baseline: readonly number[],
  window: readonly number[],
  settings: { readonly drop: number; readonly alpha: number; readonly floor: number },
): ConfidenceDriftResult {
  const asRecord = (histogram: readonly number[]) =>
    Object.fromEntries(histogram.map((count, bin) => [String(bin).padStart(2, '0'), count]));
  const psi = populationStabilityIndex(asRecord(baseline), asRecord(window), {
    alpha: settings.alpha,
    floor: settings.floor,
  });
  const baselineMean = histogramMean(baseline);
  const windowMean = histogramMean(window);
  return {
    baselineMean,
    windowMean,
    psi,
    drift: psi.drift && baselineMean - windowMean >= settings.drop,
  };
}
