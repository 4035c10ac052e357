import { z } from 'zod';
import type { HandlingStats } from '../model';
import { logErfcNonNegative } from '../scoring/distributions';

/**
 * Small statistics the tuning loop needs: moment sums that add (so DynamoDB can keep them with
 * atomic ADD and windows merge by addition), the normal and chi-square quantiles for thresholds.
 */

/** count, Σx, Σx²: additive, so buckets merge by addition and DynamoDB can ADD them atomically. */
export const Moments = z.object({
  count: z.number().int().min(0),
  sum: z.number(),
  sumSq: z.number().min(0),
});
export type Moments = z.infer<typeof Moments>;

export const EMPTY_MOMENTS: Moments = { count: 0, sum: 0, sumSq: 0 };

/** Moments that forget (each term weighted by its age): the count need not be whole. */
export const DecayedMoments = z.object({
  count: z.number().min(0),
  sum: z.number(),
  sumSq: z.number().min(0),
});

/** `moments` weighted by 2^(−elapsed ÷ half-life). */
export function decayMoments(moments: Moments, elapsedMs: number, halfLifeMs: number): Moments {
  if (!(elapsedMs > 0) || !Number.isFinite(halfLifeMs)) return moments;
  const weight = 2 ** (-elapsedMs / halfLifeMs);
  return { count: moments.count * weight, sum: moments.sum * weight, sumSq: moments.sumSq * weight };
}

export function addObservation(moments: Moments | undefined, value: number): Moments {
  const base = moments ?? EMPTY_MOMENTS;
  return { count: base.count + 1, sum: base.sum + value, sumSq: base.sumSq + value * value };
}

export function addMoments(left: Moments | undefined, right: Moments | undefined): Moments {
  const a = left ?? EMPTY_MOMENTS;
  const b = right ?? EMPTY_MOMENTS;
  return { count: a.count + b.count, sum: a.sum + b.sum, sumSq: a.sumSq + b.sumSq };
}

export function momentMean(moments: Moments): number {
  return moments.count === 0 ? Number.NaN : moments.sum / moments.count;
}

/** Sample variance (n − 1); 0 below two observations. */
export function momentVariance(moments: Moments): number {
  if (moments.count < 2) return 0;
  const mean = moments.sum / moments.count;
  return Math.max(0, (moments.sumSq - moments.count * mean * mean) / (moments.count - 1));
}

/** The scorer's Welford form of the same observations. */
export function toHandlingStats(moments: Moments): HandlingStats {
  if (moments.count === 0) return { count: 0, mean: 0, m2: 0 };
  const mean = moments.sum / moments.count;
  return { count: moments.count, mean, m2: Math.max(0, moments.sumSq - moments.count * mean * mean) };
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Standard normal CDF (Zelen & Severo 26.2.17, |error| < 7.5e-8). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const density = Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  const tail =
    density *
    t *
    (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return x >= 0 ? 1 - tail : tail;
}

/**
 * ln P(Z > x) for a standard normal Z, accurate in relative terms far into the tail (where
 * 1 − Φ(x) underflows long before its logarithm does): the Chebyshev fit of erfc from Numerical
 * Recipes (fractional error < 1.2e-7 everywhere), kept in log form.
 */
export function logNormalSurvival(x: number): number {
  const logErfc = logErfcNonNegative(Math.abs(x) / Math.SQRT2);
  // erfc(−z) = 2 − erfc(z); P(Z > x) = erfc(x / √2) / 2.
  return x >= 0 ? logErfc - Math.LN2 : Math.log1p(-Math.exp(logErfc) / 2);
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(probability: number): number {
  if (!(probability > 0 && probability < 1)) {
    throw new RangeError(`probability must be in (0, 1), got ${probability}`);
  }
  const [a1, a2, a3, a4, a5, a6] = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const [b1, b2, b3, b4, b5] = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const [c1, c2, c3, c4, c5, c6] = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const [d1, d2, d3, d4] = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / ((((d1 * q + d2) * q + d3) * q + d4) * q + 1);
  const low = 0.02425;
  if (probability < low) return tail(Math.sqrt(-2 * Math.log(probability)));
  if (probability > 1 - low) return -tail(Math.sqrt(-2 * Math.log(1 - probability)));
  const q = probability - 0.5;
  const r = q * q;
  return (
    ((((((a1 * r + a2) * r + a3) * r + a4) * r + a5) * r + a6) * q) /
    (((((b1 * r + b2) * r + b3) * r + b4) * r + b5) * r + 1)
  );
}

/**
 * Chi-square quantile by the Wilson–Hilferty cube-root approximation: within 1% of the exact
 * value from 3 degrees of freedom up, which is ample for a drift threshold.
 */
export function chiSquareQuantile(probability: number, degreesOfFreedom: number): number {
  if (degreesOfFreedom <= 0) return 0;
  const z = normalQuantile(probability);
  const k = degreesOfFreedom;
  const term = 1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k));
  return k * Math.max(term, 0) ** 3;
}
