import type { HandlingFeatures, HandlingStats } from '../model';
import type { HandlingPrediction, ShrinkagePrior } from './types';

/** Version stamped on every score and assignment that used this model. */
export const HANDLING_MODEL_VERSION = 'handling-shrinkage-v1';

/** Five pseudo-observations and ten minutes: weak enough that a week of data dominates. */
export const DEFAULT_SHRINKAGE_PRIOR: ShrinkagePrior = { strength: 5, defaultSeconds: 600 };

/** Handling times in service work are right-skewed with a CV near 1.2 (call-centre and ticket logs). */
export const DEFAULT_HANDLING_CV = 1.2;

/**
 * Adds one observed handling time to running statistics with Welford's update, which stays
 * numerically stable over millions of observations and needs no history.
 *
 * @example
 * updateHandlingStats(undefined, 120); // { count: 1, mean: 120, m2: 0 }
 */
export function updateHandlingStats(stats: HandlingStats | undefined, seconds: number): HandlingStats {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(`handling seconds must be a finite number ≥ 0, got ${seconds}`);
  }
  const count = (stats?.count ?? 0) + 1;
  const previousMean = stats?.mean ?? 0;
  const mean = previousMean + (seconds - previousMean) / count;
  const m2 = (stats?.m2 ?? 0) + (seconds - previousMean) * (seconds - mean);
  return { count, mean, m2 };
}

/** Shrinks an observed mean toward a prior mean with `strength` pseudo-observations. */
function shrink(stats: HandlingStats | undefined, priorMean: number, strength: number): number {
  const count = stats?.count ?? 0;
  if (count === 0) return priorMean;
  return (count * (stats?.mean ?? 0) + strength * priorMean) / (count + strength);
}

function confidenceOf(observations: number, strength: number): number {
  return observations / (observations + strength);
}

/** Handling-time estimates for one snapshot of features; build once per round, query many times. */
export interface HandlingModel {
  readonly prior: ShrinkagePrior;
  /** Shrunk global mean, seconds. */
  readonly globalSeconds: number;
  /** Agent-independent estimate for a category. */
  category(category: string): HandlingPrediction;
  /** Estimate for a category on one agent (falls back to the category when the agent is unknown). */
  predict(category: string, agentId?: string): HandlingPrediction;
  /** Coefficient of variation of the category's handling time, shrunk toward 1.2. */
  categoryCv(category: string): number;
}

/**
 * Builds the empirical-Bayes handling model: the global mean is shrunk toward the prior's
 * default, each category toward the global mean, and each category × agent cell toward the
 * category mean scaled by the agent's overall speed (its observed/expected ratio across all
 * categories, itself shrunk toward 1). The speed factor lets one category's evidence about an
 * agent inform the categories it has rarely handled.
 */
export function buildHandlingModel(
  features: HandlingFeatures,
  prior: ShrinkagePrior = DEFAULT_SHRINKAGE_PRIOR,
): HandlingModel {
  const strength = Math.max(prior.strength, 1e-9);
  const globalSeconds = shrink(features.global, prior.defaultSeconds, strength);
  const categoryMeans = new Map<string, number>();
  const categoryMean = (category: string): number => {
    let mean = categoryMeans.get(category);
    if (mean === undefined) {
      mean = shrink(features.byCategory[category], globalSeconds, strength);
      categoryMeans.set(category, mean);
    }
    return mean;
  };

  // Per-agent speed factor: Σ n·observed / Σ n·category mean over the agent's cells.
  const agentTotals = new Map<string, { observations: number; observed: number; expected: number }>();
  for (const [key, stats] of Object.entries(features.byCategoryAgent)) {
    const separator = key.lastIndexOf('#');
    if (separator <= 0 || stats.count === 0) continue;
    const category = key.slice(0, separator);
    const agentId = key.slice(separator + 1);
    const totals = agentTotals.get(agentId) ?? { observations: 0, observed: 0, expected: 0 };
    totals.observations += stats.count;
    totals.observed += stats.count * stats.mean;
    totals.expected += stats.count * categoryMean(category);
    agentTotals.set(agentId, totals);
  }
  const agentFactors = new Map<string, number>();
  for (const [agentId, totals] of agentTotals) {
    const ratio = totals.expected > 0 ? totals.observed / totals.expected : 1;
    agentFactors.set(agentId, (totals.observations * ratio + strength) / (totals.observations + strength));
  }

  const categoryPrediction = (category: string): HandlingPrediction => {
    const observations = features.byCategory[category]?.count ?? 0;
    if (observations > 0) {
      return {
        seconds: categoryMean(category),
        confidence: confidenceOf(observations, strength),
        observations,
      };
    }
    // Only the global level speaks for this category: half confidence, since categories differ.
    const globalObservations = features.global.count;
    return {
      seconds: categoryMean(category),
      confidence: confidenceOf(globalObservations, strength) / 2,
      observations: globalObservations,
    };
  };

  return {
    prior,
    globalSeconds,
    category: categoryPrediction,
    predict(category: string, agentId?: string): HandlingPrediction {
      const base = categoryPrediction(category);
      if (agentId === undefined) return base;
      const cell = features.byCategoryAgent[`${category}#${agentId}`];
      const factor = agentFactors.get(agentId) ?? 1;
      const seconds = shrink(cell, categoryMean(category) * factor, strength);
      const cellObservations = cell?.count ?? 0;
      if (cellObservations === 0) return { ...base, seconds };
      return {
        seconds,
        confidence: Math.max(base.confidence, confidenceOf(cellObservations, strength)),
        observations: cellObservations,
      };
    },
    categoryCv(category: string): number {
      const stats = features.byCategory[category] ?? features.global;
      if (stats.count < 2 || stats.mean <= 0) return DEFAULT_HANDLING_CV;
      const observedCvSquared = stats.m2 / (stats.count - 1) / (stats.mean * stats.mean);
      const cvSquared =
        (stats.count * observedCvSquared + strength * DEFAULT_HANDLING_CV * DEFAULT_HANDLING_CV) /
        (stats.count + strength);
      return Math.sqrt(cvSquared);
    },
  };
}

/**
 * Predicts the handling time of an item of `category`, on `agentId` when given: the category ×
 * agent estimate shrunk toward the category mean (scaled by the agent's overall speed), the
 * category shrunk toward the global mean, the global toward `prior.defaultSeconds`. Confidence
 * is n / (n + strength) for the observations at the most specific level with data.
 *
 * @example
 * predictHandling(features, 'billing', 'agent-7').seconds; // e.g. 412.5
 */
export function predictHandling(
  features: HandlingFeatures,
  category: string,
  agentId?: string,
  prior: ShrinkagePrior = DEFAULT_SHRINKAGE_PRIOR,
): HandlingPrediction {
  return buildHandlingModel(features, prior).predict(category, agentId);
}
