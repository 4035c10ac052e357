import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { InvalidStoredPolicyError } from './errors';
import { emitMetric, METRICS } from './metrics-names';
import type { Telemetry } from './observability';
import type { FeatureStore } from './ports';

/**
 * The active decision policy, or the default when the stored one is unreadable: a bad policy
 * document must not stop every item, so the default applies and an error log and the
 * InvalidStoredPolicy metric (alarm on it) say why.
 */
export async function activePolicyOrDefault(features: FeatureStore, telemetry: Telemetry): Promise<Policy> {
  try {
    return await features.getActivePolicy();
  } catch (error) {
    if (!(error instanceof InvalidStoredPolicyError)) throw error;
    telemetry.logger.error('stored policy is invalid; using the default policy', { error });
    emitMetric(telemetry.metrics, METRICS.invalidStoredPolicy, 1);
    return DEFAULT_POLICY;
  }
}

/**
 * Reads the active policy for a long-lived function (the dispatcher): when the stored document
 * turns invalid, the last policy this function read successfully keeps running — not the default,
 * which may route quite differently — with the same error log and InvalidStoredPolicy metric (the
 * InvalidPolicyAlarm watches it). The default applies only when no good policy was ever read.
 *
 * @example
 * const readPolicy = lastGoodPolicyReader(features, telemetry);
 * const policy = await readPolicy(); // every round
 */
export function lastGoodPolicyReader(features: FeatureStore, telemetry: Telemetry): () => Promise<Policy> {
  let lastGood: Policy | undefined;
  return async () => {
    try {
      lastGood = await features.getActivePolicy();
      // A zero each read keeps the alarm's series continuous (and shows the metric is emitted).
      emitMetric(telemetry.metrics, METRICS.invalidStoredPolicy, 0);
      return lastGood;
    } catch (error) {
      if (!(error instanceof InvalidStoredPolicyError)) throw error;
      const fallback = lastGood ?? DEFAULT_POLICY;
      telemetry.logger.error(`stored policy is invalid; using the last good policy ${fallback.version}`, {
        error,
        fallbackVersion: fallback.version,
      });
      emitMetric(telemetry.metrics, METRICS.invalidStoredPolicy, 1);
      return fallback;
    }
  };
}
