import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS, METRICS_NAMESPACE, serviceDimension } from '../../domain/ops/metrics';
import { emitMetric } from '../../lambdas/shared/metrics-names';

/** The EMF records written to stdout from now on, parsed (Powertools writes one JSON line each). */
function emitted(): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk).trim();
    if (text.startsWith('{') && text.includes('_aws')) records.push(JSON.parse(text));
    return true;
  });
  return records;
}

describe('emitMetric: the catalogue as EMF', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('writes a dimensioned metric as its own EMF record, with the service dimension the dashboard reads', () => {
    // Prepare
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceDimension('ops-api') });
    const records = emitted();

    // Act
    emitMetric(metrics, METRICS.backlogItems, 16, { stage: 'HUMAN_REVIEW' });
    emitMetric(metrics, METRICS.backlogItems, 2, { stage: 'EXCEPTION' });

    // Assess
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      service: 'flowtune-ops-api',
      stage: 'HUMAN_REVIEW',
      BacklogItems: 16,
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'Flowtune',
            Dimensions: [['service', 'stage']],
            Metrics: [{ Name: 'BacklogItems', Unit: 'Count' }],
          },
        ],
      },
    });
    expect(records[1]).toMatchObject({ stage: 'EXCEPTION', BacklogItems: 2 });
  });

  it('refuses a dimension the catalogue does not declare, so no unplanned series appears', () => {
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceDimension('ops-api') });

    expect(() => emitMetric(metrics, METRICS.humanActions, 1, { agent: 'ana' })).toThrow(
      /metric HumanActions has no dimension agent; declare it in domain\/ops\/metrics.ts/,
    );
  });
});
