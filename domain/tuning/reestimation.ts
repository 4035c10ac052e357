import type { HandlingFeatures, HandlingStats } from '../model';
import { addMoments, type Moments, toHandlingStats } from './math';
import type { ObservationBucket } from './observations';

/**
 * Re-estimation after residual drift: the handling model of the drifted category forgets what
 * it learned before the change point and restarts from the observations since, at the category
 * level and for each agent on that category. Production writes these statistics over the
 * category's STATS rows (online learning then continues from them); the simulator lays them over
 * the engine's statistics. Both use this function.
 */

export interface Reestimation {
  readonly category: string;
  /** Estimated change point (epoch ms): only observations from here on count. */
  readonly since: number;
  /** When the loop decided it (epoch ms). */
  readonly at: number;
}

export interface CategoryStatistics {
  readonly category: string;
  readonly stats: HandlingStats;
  /** By agent id. */
  readonly byAgent: Readonly<Record<string, HandlingStats>>;
}

/** The category's handling statistics over the buckets that start at or after `since`. */
export function statisticsSince(
  buckets: readonly ObservationBucket[],
  category: string,
  since: number,
): CategoryStatistics {
  let total: Moments | undefined;
  const byAgent = new Map<string, Moments>();
  const prefix = `${category}#`;
  for (const bucket of buckets) {
    if (bucket.start < since) continue;
    total = addMoments(total, bucket.handling[category]);
    for (const [cell, moments] of Object.entries(bucket.handlingByAgent)) {
      if (!cell.startsWith(prefix)) continue;
      const agentId = cell.slice(prefix.length);
      byAgent.set(agentId, addMoments(byAgent.get(agentId), moments));
    }
  }
  return {
    category,
    stats: toHandlingStats(total ?? { count: 0, sum: 0, sumSq: 0 }),
    byAgent: Object.fromEntries(
      [...byAgent].map(([agentId, moments]) => [agentId, toHandlingStats(moments)]),
    ),
  };
}

/**
 * The features with each re-estimated category's statistics replaced: the category row by the
 * statistics since the change point (absent when there are none yet, so the model falls back on
 * the global mean with low confidence), and its category × agent cells likewise.
 *
 * @example
 * const features = applyReestimation(live, [statisticsSince(buckets, 'orders', changePoint)]);
 */
export function applyReestimation(
  features: HandlingFeatures,
  reestimated: readonly CategoryStatistics[],
): HandlingFeatures {
  if (reestimated.length === 0) return features;
  const byCategory: Record<string, HandlingStats> = { ...features.byCategory };
  const byCategoryAgent: Record<string, HandlingStats> = {};
  const replaced = new Set(reestimated.map((entry) => entry.category));
  for (const [cell, stats] of Object.entries(features.byCategoryAgent)) {
    const separator = cell.lastIndexOf('#');
    if (!replaced.has(cell.slice(0, separator))) byCategoryAgent[cell] = stats;
  }
  for (const entry of reestimated) {
    if (entry.stats.count > 0) byCategory[entry.category] = entry.stats;
    else delete byCategory[entry.category];
    for (const [agentId, stats] of Object.entries(entry.byAgent)) {
      if (stats.count > 0) byCategoryAgent[`${entry.category}#${agentId}`] = stats;
    }
  }
  return { global: features.global, byCategory, byCategoryAgent };
}
