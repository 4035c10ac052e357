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
