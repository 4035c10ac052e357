import type { ItemOutcome } from '../../domain/metrics';
import type { HarnessLog } from './harness';

/**
 * How a run is judged. SLA attainment over time is measured by arrival: the attainment at time t
 * is the share of items that arrived in [t − window, t) and completed by their due time, pooled
 * over replications (so the curve at each point rests on thousands of items, not a hundred).
 * Time to correct is the first t after the shift from which that curve stays within the
 * tolerance of its pre-shift level to the end of the horizon; time to detect is the first
 * detection of the expected kind after the shift.
 */

export interface SlaPoint {
  /** Seconds from the start: the end of the trailing window. */
  readonly at: number;
  readonly attainment: number;
  readonly items: number;
}

const met = (outcome: ItemOutcome) =>
  outcome.completedAt !== undefined && outcome.completedAt <= outcome.slaDueAt;

/** Attainment of the items that arrived in [from, to), pooled over runs. */
export function attainmentBetween(
  runs: readonly (readonly ItemOutcome[])[],
  from: number,
  to: number,
): number {
  let items = 0;
  let good = 0;
  for (const outcomes of runs) {
    for (const outcome of outcomes) {
      if (outcome.arrivedAt < from || outcome.arrivedAt >= to) continue;
      items++;
      if (met(outcome)) good++;
    }
  }
  return items === 0 ? Number.NaN : good / items;
}

/** The trailing-window attainment curve from `from` to `to`, every `stepSeconds`. */
export function slaCurve(
  runs: readonly (readonly ItemOutcome[])[],
  options: {
    readonly from: number;
    readonly to: number;
    readonly windowSeconds: number;
    readonly stepSeconds: number;
  },
): SlaPoint[] {
  // Bin once by step, then slide: each run's outcomes are read a single time.
  const bins = Math.ceil((options.to - options.from + options.windowSeconds) / options.stepSeconds);
  const origin = options.from - options.windowSeconds;
  const items = new Float64Array(bins);
  const good = new Float64Array(bins);
  for (const outcomes of runs) {
    for (const outcome of outcomes) {
      const bin = Math.floor((outcome.arrivedAt - origin) / options.stepSeconds);
      if (bin < 0 || bin >= bins) continue;
      items[bin] = (items[bin] ?? 0) + 1;
      if (met(outcome)) good[bin] = (good[bin] ?? 0) + 1;
    }
  }
  const perWindow = Math.max(1, Math.round(options.windowSeconds / options.stepSeconds));
  const points: SlaPoint[] = [];
  for (let at = options.from; at <= options.to + 1e-9; at += options.stepSeconds) {
    const last = Math.round((at - origin) / options.stepSeconds) - 1;
    let count = 0;
    let hits = 0;
    for (let bin = last - perWindow + 1; bin <= last; bin++) {
      count += items[bin] ?? 0;
      hits += good[bin] ?? 0;
    }
    points.push({ at, attainment: count === 0 ? Number.NaN : hits / count, items: count });
  }
  return points;
}

export interface Correction {
  /** Seconds after the shift until the curve is back for good; undefined when it never is. */
  readonly timeToCorrect?: number;
  /** Lowest point of the curve after the shift. */
  readonly lowest: number;
  readonly lowestAt: number;
}

/** When the curve returns within `tolerance` (a fraction) of `level` after `shiftAt` and stays there. */
export function timeToCorrect(
  curve: readonly SlaPoint[],
  shiftAt: number,
  level: number,
  tolerance: number,
): Correction {
  const after = curve.filter((point) => point.at > shiftAt && Number.isFinite(point.attainment));
  let lowest = Number.POSITIVE_INFINITY;
  let lowestAt = shiftAt;
  for (const point of after) {
    if (point.attainment < lowest) {
      lowest = point.attainment;
      lowestAt = point.at;
    }
  }
  let lastBad = -1;
  after.forEach((point, index) => {
    if (point.attainment < level - tolerance) lastBad = index;
  });
  if (lastBad === -1) return { timeToCorrect: 0, lowest, lowestAt };
  const recovered = after[lastBad + 1];
  return recovered === undefined
    ? { lowest, lowestAt }
    : { timeToCorrect: recovered.at - shiftAt, lowest, lowestAt };
}

/** Seconds from the shift to the first detection of `kind` after it (within `until`); undefined if none. */
export function timeToDetect(
  log: HarnessLog,
  kind: string,
  shiftAt: number,
  until: number,
): number | undefined {
  const first = log.drift.find(
    (entry) => entry.event.kind === kind && entry.atSeconds >= shiftAt && entry.atSeconds <= until,
  );
  return first === undefined ? undefined : first.atSeconds - shiftAt;
}

/** Drift events raised before the shift (after the warm-up): false alarms, since nothing changed yet. */
export function falseAlarms(log: HarnessLog, before: number): number {
  return log.drift.filter((entry) => entry.atSeconds < before).length;
}

/** Wilson score interval for a proportion (95%). */
export function wilsonInterval(
  successes: number,
  trials: number,
): { readonly low: number; readonly high: number } {
  if (trials === 0) return { low: 0, high: 1 };
  const z = 1.959964;
  const p = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
