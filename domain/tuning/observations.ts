import { z } from 'zod';
import { addMoments, addObservation, EMPTY_MOMENTS, Moments } from './math';

/**
 * What the tuning loop learns from, aggregated per time bucket (a minute by default): arrivals
 * per category, prediction residuals and observed handling times per category (and per
 * category × agent, for re-estimation), the confidence of decisions, SLA outcomes per experiment
 * arm, and quality signals. Every field is a sum, so buckets merge by addition and the DynamoDB
 * store keeps them with atomic ADD; the simulator fills the same buckets from its own clock.
 */

/** Confidence histogram: 10 equal bins over [0, 1]. */
export const CONFIDENCE_BINS = 10;

/** SLA outcomes decided in a bucket for one arm: the experiments' evidence. */
export const ArmOutcomes = z.object({
  decided: z.number().int().min(0),
  met: z.number().int().min(0),
});
export type ArmOutcomes = z.infer<typeof ArmOutcomes>;

export const ObservationBucket = z.object({
  /** Epoch ms of the bucket's start (a multiple of its length). */
  start: z.number(),
  seconds: z.number().positive(),
  arrivals: z.record(z.string(), z.number().int().min(0)),
  /** ln(observed ÷ predicted handling seconds), per category. */
  residuals: z.record(z.string(), Moments),
  /** Predictions off by more than a factor of 2 either way (all categories). */
  largeErrors: z.number().int().min(0),
  /** Observed handling seconds per category. */
  handling: z.record(z.string(), Moments),
  /** Observed handling seconds per `${category}#${agentId}`. */
  handlingByAgent: z.record(z.string(), Moments),
  /** Decisions by model confidence (CONFIDENCE_BINS bins). */
  confidence: z.array(z.number().int().min(0)).length(CONFIDENCE_BINS),
  /** SLA outcomes decided in the bucket, keyed by arm label (`armKey`). */
  outcomes: z.record(z.string(), ArmOutcomes),
  /** Required skills per category as last seen on an arrival (not a sum: the latest wins). */
  skills: z
    .record(z.string(), z.array(z.object({ skill: z.string(), minProficiency: z.number() })))
    .default({}),
  quality: z.object({
    completed: z.number().int().min(0),
    reopened: z.number().int().min(0),
    rework: z.number().int().min(0),
    notFirstTime: z.number().int().min(0),
  }),
});
export type ObservationBucket = z.infer<typeof ObservationBucket>;

/** An item being handled: started, not completed yet, with the handling time it was routed on. */
export const RunningItem = z.object({
  category: z.string().min(1),
  /** Epoch ms at which handling started. */
  startedAt: z.number(),
  predictedSeconds: z.number().positive(),
});
export type RunningItem = z.infer<typeof RunningItem>;

/**
 * The items being handled at `asOf`: started before it and not completed by it. `asOf` must be
 * the end of the last bucket the cycle reads (completions up to `asOf` are in the buckets, the
 * rest of the work is here), so that every item is counted exactly once, as completed or as
 * running. The residual test reads it as censored evidence: an item already running far longer
 * than predicted is evidence before it completes.
 */
export const InProgressSnapshot = z.object({
  asOf: z.number(),
  items: z.array(RunningItem),
});
export type InProgressSnapshot = z.infer<typeof InProgressSnapshot>;

/** Outcomes outside any experiment. */
export const NO_EXPERIMENT_ARM = 'none';

/** The outcome key of an arm: `<experimentId>/<arm>`, or `none`. */
export function armKey(experimentId: string | undefined, arm: 'control' | 'treatment' | 'none'): string {
  return experimentId === undefined || arm === 'none' ? NO_EXPERIMENT_ARM : `${experimentId}/${arm}`;
}

export function emptyBucket(start: number, seconds: number): ObservationBucket {
  return {
    start,
    seconds,
    arrivals: {},
    residuals: {},
    largeErrors: 0,
    handling: {},
    handlingByAgent: {},
    confidence: new Array<number>(CONFIDENCE_BINS).fill(0),
    outcomes: {},
    skills: {},
    quality: { completed: 0, reopened: 0, rework: 0, notFirstTime: 0 },
  };
}

/** Start of the bucket holding `at` (epoch ms). */
export function bucketStart(at: number, seconds: number): number {
  const length = seconds * 1000;
  return Math.floor(at / length) * length;
}

export function confidenceBin(confidence: number): number {
  return Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(confidence * CONFIDENCE_BINS)));
}

/** One observation of the feed; the bucket it lands in is chosen by its time. */
export type Observation =
  | {
      readonly kind: 'arrival';
      readonly at: number;
      readonly category: string;
      readonly requiredSkills?: readonly { readonly skill: string; readonly minProficiency: number }[];
    }
  | {
      readonly kind: 'decision';
      readonly at: number;
      /** Model confidence of the prediction the decision used (0..1). */
      readonly confidence: number;
    }
  | {
      readonly kind: 'completion';
      readonly at: number;
      readonly category: string;
      readonly agentId: string;
      readonly observedSeconds: number;
      /** What the decision predicted; no residual when absent or not positive. */
      readonly predictedSeconds?: number;
      readonly reopened?: boolean;
      readonly rework?: boolean;
      readonly firstTimeResolution?: boolean;
    }
  | { readonly kind: 'outcome'; readonly at: number; readonly arm: string; readonly met: boolean };

const LN_2 = Math.log(2);

function increment(record: Readonly<Record<string, number>>, key: string, by = 1): Record<string, number> {
  return { ...record, [key]: (record[key] ?? 0) + by };
}

/**
 * Adds one observation to a bucket (a new bucket is returned; the input is not changed).
 *
 * @example
 * let bucket = emptyBucket(bucketStart(now, 60), 60);
 * bucket = observe(bucket, { kind: 'arrival', at: now, category: 'billing' });
 */
export function observe(bucket: ObservationBucket, observation: Observation): ObservationBucket {
  switch (observation.kind) {
    case 'arrival': {
      const skills = observation.requiredSkills;
      return {
        ...bucket,
        arrivals: increment(bucket.arrivals, observation.category),
        ...(skills === undefined
          ? {}
          : { skills: { ...bucket.skills, [observation.category]: skills.map((level) => ({ ...level })) } }),
      };
    }
    case 'decision': {
      const confidence = [...bucket.confidence];
      const bin = confidenceBin(observation.confidence);
      confidence[bin] = (confidence[bin] ?? 0) + 1;
      return { ...bucket, confidence };
    }
    case 'outcome': {
      const current = bucket.outcomes[observation.arm] ?? { decided: 0, met: 0 };
      return {
        ...bucket,
        outcomes: {
          ...bucket.outcomes,
          [observation.arm]: { decided: current.decided + 1, met: current.met + (observation.met ? 1 : 0) },
        },
      };
    }
    case 'completion': {
      const { category, agentId, observedSeconds, predictedSeconds } = observation;
      const cell = `${category}#${agentId}`;
      const next: ObservationBucket = {
        ...bucket,
        handling: {
          ...bucket.handling,
          [category]: addObservation(bucket.handling[category], observedSeconds),
        },
        handlingByAgent: {
          ...bucket.handlingByAgent,
          [cell]: addObservation(bucket.handlingByAgent[cell], observedSeconds),
        },
        quality: {
          completed: bucket.quality.completed + 1,
          reopened: bucket.quality.reopened + (observation.reopened ? 1 : 0),
          rework: bucket.quality.rework + (observation.rework ? 1 : 0),
          notFirstTime: bucket.quality.notFirstTime + (observation.firstTimeResolution === false ? 1 : 0),
        },
      };
      // Zero-second handling (an automation) says nothing about relative error.
      if (predictedSeconds === undefined || !(predictedSeconds > 0) || !(observedSeconds > 0)) return next;
      const residual = Math.log(observedSeconds / predictedSeconds);
      return {
        ...next,
        residuals: { ...next.residuals, [category]: addObservation(next.residuals[category], residual) },
        largeErrors: next.largeErrors + (Math.abs(residual) > LN_2 ? 1 : 0),
      };
    }
  }
}

function mergeCounts(
  left: Readonly<Record<string, number>>,
  right: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = { ...left };
  for (const [key, value] of Object.entries(right)) out[key] = (out[key] ?? 0) + value;
  return out;
}

function mergeMoments(
  left: Readonly<Record<string, Moments>>,
  right: Readonly<Record<string, Moments>>,
): Record<string, Moments> {
  const out: Record<string, Moments> = { ...left };
  for (const [key, value] of Object.entries(right)) out[key] = addMoments(out[key], value);
  return out;
}

/** Sum of several buckets (a window); start and length span them all. */
export function mergeBuckets(buckets: readonly ObservationBucket[]): ObservationBucket {
  if (buckets.length === 0) return emptyBucket(0, 1);
  const first = buckets.reduce((low, bucket) => Math.min(low, bucket.start), Number.POSITIVE_INFINITY);
  const last = buckets.reduce(
    (high, bucket) => Math.max(high, bucket.start + bucket.seconds * 1000),
    Number.NEGATIVE_INFINITY,
  );
  let merged = emptyBucket(first, (last - first) / 1000);
  for (const bucket of buckets) {
    const outcomes: Record<string, ArmOutcomes> = { ...merged.outcomes };
    for (const [arm, value] of Object.entries(bucket.outcomes)) {
      const current = outcomes[arm] ?? { decided: 0, met: 0 };
      outcomes[arm] = { decided: current.decided + value.decided, met: current.met + value.met };
    }
    merged = {
      ...merged,
      arrivals: mergeCounts(merged.arrivals, bucket.arrivals),
      residuals: mergeMoments(merged.residuals, bucket.residuals),
      largeErrors: merged.largeErrors + bucket.largeErrors,
      handling: mergeMoments(merged.handling, bucket.handling),
      handlingByAgent: mergeMoments(merged.handlingByAgent, bucket.handlingByAgent),
      confidence: merged.confidence.map((count, bin) => count + (bucket.confidence[bin] ?? 0)),
      outcomes,
      skills: { ...merged.skills, ...bucket.skills },
      quality: {
        completed: merged.quality.completed + bucket.quality.completed,
        reopened: merged.quality.reopened + bucket.quality.reopened,
        rework: merged.quality.rework + bucket.quality.rework,
        notFirstTime: merged.quality.notFirstTime + bucket.quality.notFirstTime,
      },
    };
  }
  return merged;
}

/** Total arrivals of a bucket. */
export function totalArrivals(bucket: ObservationBucket): number {
  let total = 0;
  for (const count of Object.values(bucket.arrivals)) total += count;
  return total;
}

export { EMPTY_MOMENTS };
