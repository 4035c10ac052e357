/** Descriptive statistics for simulation outputs; pure, no dependencies. */

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let total = 0;
  for (const value of values) total += value;
  return total / values.length;
}

export function sampleStandardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const average = mean(values);
  let sum = 0;
  for (const value of values) sum += (value - average) ** 2;
  return Math.sqrt(sum / (values.length - 1));
}

/** Quantile with linear interpolation between order statistics (type 7, as R and NumPy default). */
export function quantile(values: readonly number[], probability: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((left, right) => left - right);
  return quantileOfSorted(sorted, probability);
}

export function quantileOfSorted(sorted: readonly number[], probability: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * Math.min(Math.max(probability, 0), 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] ?? Number.NaN;
  const high = sorted[upper] ?? Number.NaN;
  return low + (high - low) * (position - lower);
}

/** Two-sided 97.5% Student t quantiles for 1..30 degrees of freedom; 1.96 beyond. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function studentT975(degreesOfFreedom: number): number {
  if (degreesOfFreedom < 1) return Number.POSITIVE_INFINITY;
  return T_975[degreesOfFreedom - 1] ?? 1.96;
}

/** A mean over replications with its 95% confidence half-width (Student t). */
export interface Estimate {
  readonly mean: number;
  /** Half-width of the 95% confidence interval; 0 for a single replication. */
  readonly halfWidth: number;
  readonly replications: number;
}

/**
 * Mean and 95% confidence interval over independent replications.
 *
 * @example
 * estimate([10, 12, 11]); // { mean: 11, halfWidth: 2.48, replications: 3 }
 */
export function estimate(values: readonly number[]): Estimate {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return { mean: Number.NaN, halfWidth: Number.NaN, replications: 0 };
  const halfWidth =
    finite.length < 2
      ? 0
      : (studentT975(finite.length - 1) * sampleStandardDeviation(finite)) / Math.sqrt(finite.length);
  return { mean: mean(finite), halfWidth, replications: finite.length };
}
