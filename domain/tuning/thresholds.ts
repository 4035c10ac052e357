import type { Policy } from '../policy';
import type { ThresholdSettings } from './config';
import { clamp } from './math';

/**
 * Adaptive thresholds: the human-review confidence floor follows the recent rate of large
 * prediction errors (a model that is often off by 2× should send more items to people), and the
 * risk ceiling follows the reopen rate (quality slipping: more review) and the load (when
 * everyone is busy, review capacity is scarce too: only the riskiest go). Each target is clamped
 * to its guardrail interval and approached by at most `maxStepPerCycle` per cycle, so the
 * thresholds glide and can never leave their guardrails, whatever the inputs.
 */

export interface ThresholdSignals {
  /** Completions in the window. */
  readonly completions: number;
  /** Share of predictions in the window off by more than 2× either way. */
  readonly largeErrorRate: number;
  readonly reopenRate: number;
  /** Demand over supply of the whole workforce (0..), NaN when unknown. */
  readonly occupancy: number;
}

export interface ThresholdChange {
  readonly field: 'minConfidence' | 'maxAutoRisk';
  readonly from: number;
  readonly to: number;
  readonly target: number;
  readonly reason: string;
}

export interface ThresholdAdaptation {
  /** The policy with the adapted thresholds (version unchanged: the caller versions it). */
  readonly policy: Policy;
  readonly changes: readonly ThresholdChange[];
}

const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

function glide(current: number, target: number, guard: { min: number; max: number }, step: number): number {
  // A threshold found outside its guardrail is brought inside at once: a guardrail is a hard bound.
  const inside = clamp(current, guard.min, guard.max);
  const moved = inside + clamp(target - inside, -step, step);
  return clamp(round4(moved), guard.min, guard.max);
}

/**
 * The thresholds the window's signals call for, within the guardrails.
 *
 * @example
 * adaptThresholds(policy, { completions: 400, largeErrorRate: 0.35, reopenRate: 0.04, occupancy: 0.85 }, settings)
 *   .changes; // [{ field: 'minConfidence', from: 0, to: 0.02, ... }]
 */
export function adaptThresholds(
  policy: Policy,
  signals: ThresholdSignals,
  settings: ThresholdSettings,
): ThresholdAdaptation {
  if (!settings.enabled || signals.completions < settings.minCompletions) return { policy, changes: [] };
  const confidenceGuard = settings.minConfidence;
  const riskGuard = settings.maxAutoRisk;
  const errorRate = Number.isFinite(signals.largeErrorRate)
    ? signals.largeErrorRate
    : settings.errorRateTarget;
  const reopenRate = Number.isFinite(signals.reopenRate) ? signals.reopenRate : settings.reopenRateTarget;
  const occupancy = Number.isFinite(signals.occupancy) ? signals.occupancy : settings.loadReference;

  const confidenceTarget = clamp(
    confidenceGuard.base + settings.errorGain * (errorRate - settings.errorRateTarget),
    confidenceGuard.min,
    confidenceGuard.max,
  );
  const riskTarget = clamp(
    riskGuard.base -
      settings.reopenGain * (reopenRate - settings.reopenRateTarget) +
      settings.loadGain * (occupancy - settings.loadReference),
    riskGuard.min,
    riskGuard.max,
  );
  const nextConfidence = glide(
    policy.minConfidence,
    confidenceTarget,
    confidenceGuard,
    settings.maxStepPerCycle,
  );
  const nextRisk = glide(policy.maxAutoRisk, riskTarget, riskGuard, settings.maxStepPerCycle);

  const changes: ThresholdChange[] = [];
  const outside = (value: number, guard: { min: number; max: number }) =>
    value < guard.min || value > guard.max;
  if (
    Math.abs(nextConfidence - policy.minConfidence) >= settings.minChange ||
    outside(policy.minConfidence, confidenceGuard)
  ) {
    changes.push({
      field: 'minConfidence',
      from: policy.minConfidence,
      to: nextConfidence,
      target: round4(confidenceTarget),
      reason: `${(errorRate * 100).toFixed(1)}% of recent predictions were off by more than 2× (target ${(settings.errorRateTarget * 100).toFixed(0)}%)`,
    });
  }
  if (
    Math.abs(nextRisk - policy.maxAutoRisk) >= settings.minChange ||
    outside(policy.maxAutoRisk, riskGuard)
  ) {
    changes.push({
      field: 'maxAutoRisk',
      from: policy.maxAutoRisk,
      to: nextRisk,
      target: round4(riskTarget),
      reason: `reopen rate ${(reopenRate * 100).toFixed(1)}% (target ${(settings.reopenRateTarget * 100).toFixed(0)}%), occupancy ${(occupancy * 100).toFixed(0)}% (reference ${(settings.loadReference * 100).toFixed(0)}%)`,
    });
  }
  if (changes.length === 0) return { policy, changes };
  const updated: Policy = { ...policy };
  for (const change of changes) updated[change.field] = change.to;
  return { policy: updated, changes };
}
