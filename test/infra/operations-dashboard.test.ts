import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { LIVE_STAGES } from '../../domain/ops/bottleneck';
import { DRIFT_KINDS, DRIFT_RATIO_THRESHOLD, METRICS, serviceDimension } from '../../domain/ops/metrics';
import { type CfnResourceJson, logicalIdOf, resourcesOfType, synthFlowtune } from './support';

const { stack, template } = synthFlowtune();
const observability = stack.observability;
const ref = (construct: IConstruct) => ({ Ref: logicalIdOf(stack, construct) });

interface Widget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly metrics?: unknown[][];
    readonly annotations?: { readonly horizontal?: { readonly value: number; readonly label?: string }[] };
  };
}

/** The dashboard's widgets, with CloudFormation tokens of the body replaced by markers. */
function widgets(): Widget[] {
  const [entry] = resourcesOfType(template, 'AWS::CloudWatch::Dashboard');
  const body = entry?.[1].Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : `<<${JSON.stringify(part).replace(/"/g, "'")}>>`))
    .join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

function widget(title: string): Widget {
  const found = widgets().find((candidate) => candidate.properties.title === title);
  if (found === undefined) throw new Error(`no widget titled "${title}"`);
  return found;
}

/** A metric line as "namespace name dim1 value1 dim2 value2", dimensions in name order (CloudWatch ignores their order). */
function render(line: readonly unknown[]): string {
  const parts = line.filter((part): part is string => typeof part === 'string');
  const pairs: string[] = [];
  for (let index = 2; index + 1 < parts.length; index += 2) pairs.push(`${parts[index]} ${parts[index + 1]}`);
  return [parts[0], parts[1], ...pairs.sort()].join(' ');
}

/** The metric lines of a widget as strings, e.g. "Flowtune CycleTime service flowtune-record-outcome". */
function lines(title: string): string[] {
  return (widget(title).properties.metrics ?? []).map(render);
}

/** The options (stat, label, expression) of each metric line of a widget. */
function options(title: string): Record<string, unknown>[] {
  return (widget(title).properties.metrics ?? []).map(
    (line) =>
      (line.find((part) => typeof part === 'object' && part !== null) ?? {}) as Record<string, unknown>,
  );
}

const emitted = (name: string, service: string, ...dimensions: string[]) =>
  render(['Flowtune', name, 'service', serviceDimension(service), ...dimensions]);

function alarm(construct: IConstruct): CfnResourceJson {
  const id = logicalIdOf(stack, construct);
  const found = resourcesOfType(template, 'AWS::CloudWatch::Alarm').find(([candidate]) => candidate === id);
  if (found === undefined) throw new Error(`alarm ${id} is not in the template`);
  return found[1];
}

describe('the operations dashboard', () => {
  it('has every KPI widget the operations leads read, above the plumbing', () => {
    const titles = widgets().map(
      (candidate) => candidate.properties.title ?? candidate.properties.markdown ?? '',
    );

    const kpis = [
      'Throughput (items per 5 min)',
      'SLA attainment (%)',
      'Cost per 1,000 items (USD, model)',
      'Wait time (s): enqueued → routed',
      'Cycle time (s): created → completed',
      'Backlog by stage (items)',
      'Oldest item by stage (s)',
      'Decisions by path',
      'Human actions',
      'Experiment arms (items routed)',
      'Prediction error (s): |actual − predicted|',
      'Drift (test statistic ÷ threshold)',
    ];
    for (const title of kpis) expect(titles).toContain(title);
    const plumbing = widgets().findIndex((candidate) => candidate.properties.title === 'Executions');
    for (const title of kpis) {
      expect(widgets().findIndex((candidate) => candidate.properties.title === title)).toBeLessThan(plumbing);
    }
  });

  it('shows the state of every alarm at the top', () => {
    const status = widgets().find((candidate) => candidate.type === 'alarm');

    expect(status?.y).toBeLessThanOrEqual(2);
    expect(JSON.stringify(status?.properties)).toContain(
      logicalIdOf(stack, observability.slaAttainmentAlarm),
    );
  });

  it('charts throughput from the items started and finished', () => {
    expect(lines('Throughput (items per 5 min)')).toEqual([
      emitted('ItemsStarted', 'intake'),
      emitted('OutcomesRecorded', 'record-outcome'),
    ]);
  });

  it('charts wait and cycle time at p50, p90 and p99 from the metrics record-outcome emits', () => {
    for (const [title, name] of [
      ['Wait time (s): enqueued → routed', 'WaitTime'],
      ['Cycle time (s): created → completed', 'CycleTime'],
    ] as const) {
      expect(lines(title)).toEqual([0, 1, 2].map(() => emitted(name, 'record-outcome')));
      expect(options(title).map((option) => option.stat)).toEqual(['p50', 'p90', 'p99']);
    }
  });

  it('charts SLA attainment as the percentage of SlaMet, against its target', () => {
    const [expression] = options('SLA attainment (%)');

    expect(expression?.expression).toBe('100 * sla');
    expect(widget('SLA attainment (%)').properties.annotations?.horizontal?.[0]?.value).toBe(90);
  });

  it('charts the backlog and the oldest item for every live stage, from the ops snapshot', () => {
    expect(lines('Backlog by stage (items)')).toEqual(
      LIVE_STAGES.map((stage) => emitted(METRICS.backlogItems.name, 'ops-api', 'stage', stage)),
    );
    expect(lines('Oldest item by stage (s)')).toEqual(
      LIVE_STAGES.map((stage) => emitted(METRICS.backlogOldestAge.name, 'ops-api', 'stage', stage)),
    );
  });

  it('charts decisions by path as score emits them (service and path dimensions)', () => {
    expect(lines('Decisions by path')).toEqual(
      ['automation', 'routing', 'human-review'].map((path) => emitted('ItemsScored', 'score', 'path', path)),
    );
  });

  it('charts drift per signal against the drift threshold, and prediction error with its anomaly band', () => {
    expect(lines('Drift (test statistic ÷ threshold)')).toEqual(
      DRIFT_KINDS.map((kind) => emitted('DriftRatio', 'tuning-cycle', 'kind', kind)),
    );
    expect(widget('Drift (test statistic ÷ threshold)').properties.annotations?.horizontal?.[0]?.value).toBe(
      DRIFT_RATIO_THRESHOLD,
    );
    const expressions = options('Prediction error (s): |actual − predicted|').map(
      (option) => option.expression,
    );
    expect(expressions).toContain('ANOMALY_DETECTION_BAND(err, 3)');
  });

  it('charts the allocation job per run: recommended, applied, left for and decided by people, forecast error and runs', () => {
    const kpis = ['Staffing moves (per 15 min)', 'Arrival forecast error (WAPE %)', 'Allocation runs'];
    const plumbing = widgets().findIndex((candidate) => candidate.properties.title === 'Executions');
    for (const title of kpis) {
      expect(widgets().findIndex((candidate) => candidate.properties.title === title)).toBeLessThan(plumbing);
    }

    expect(lines('Staffing moves (per 15 min)')).toEqual([
      emitted('StaffingRecommendations', 'allocation'),
      emitted('StaffingMovesApplied', 'allocation'),
      emitted('StaffingAwaitingApproval', 'allocation'),
      emitted('HumanActions', 'ops-api', 'action', 'approveStaffingMove'),
      emitted('HumanActions', 'ops-api', 'action', 'rejectStaffingMove'),
    ]);
    expect(options('Staffing moves (per 15 min)').map((option) => [option.stat, option.period])).toEqual(
      Array.from({ length: 5 }, () => ['Sum', 900]),
    );
    expect(lines('Arrival forecast error (WAPE %)')).toEqual([emitted('ForecastWape', 'allocation')]);
    expect(widget('Arrival forecast error (WAPE %)').properties.annotations?.horizontal?.[0]).toMatchObject({
      value: 30,
      label: 'moves wait for a person',
    });
    expect(lines('Allocation runs')).toEqual([
      emitted('AllocationRuns', 'allocation'),
      emitted('AllocationRunsWithoutHistory', 'allocation'),
    ]);
  });

  it('finds experiment arms whatever experiments run, with a SEARCH over the catalogued metric', () => {
    const [search] = options('Experiment arms (items routed)');

    expect(search?.expression).toBe(
      `SEARCH('{Flowtune,service,experiment,arm} MetricName="ExperimentAssignments"', 'Sum', 300)`,
    );
  });

  it('prices each item from transitions and events counted on the ASL plus measured Lambda, DynamoDB and SQS usage', () => {
    const expressions = options('Cost per 1,000 items (USD, model)')
      .map((option) => String(option.expression ?? ''))
      .filter((expression) => expression !== '');
    const spend = expressions.find((expression) => expression.includes('FILL(started, 0)')) ?? '';

    expect(expressions).toContain('1000 * spend / done');
    // 11 transitions × $0.000025 + 3 events × $0.000001 per execution started.
    expect(spend).toContain('FILL(started, 0) * 0.000278');
    for (const term of [
      'FILL(inv0, 0)',
      'FILL(dur0, 0)',
      'FILL(wcu0, 0)',
      'FILL(rcu0, 0)',
      'FILL(sent0, 0)',
      'FILL(empty1, 0)',
    ]) {
      expect(spend).toContain(term);
    }
  });

  it('lays widgets out on the 24-column grid without overlaps', () => {
    const all = widgets();
    for (const a of all) {
      expect(a.x + a.width).toBeLessThanOrEqual(24);
      for (const b of all) {
        if (a === b) continue;
        const overlap =
          a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        expect(overlap, `${a.properties.title} overlaps ${b.properties.title}`).toBe(false);
      }
    }
  });
});

describe('the operations alarms', () => {
  it('alarms when SLA attainment stays below 90% for two 15-minute periods', () => {
    expect(alarm(observability.slaAttainmentAlarm).Properties).toMatchObject({
      Namespace: 'Flowtune',
      MetricName: 'SlaMet',
      Dimensions: [{ Name: 'service', Value: 'flowtune-record-outcome' }],
      Statistic: 'Average',
      Period: 900,
      Threshold: 0.9,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on a throughput dip below the anomaly-detection band of items finished', () => {
    const dip = observability.throughputDipAlarm;
    if (dip === undefined) throw new Error('no throughput dip alarm');
    const properties = alarm(dip).Properties as {
      Metrics: { Expression?: string; Id: string }[];
      ThresholdMetricId: string;
    };

    expect(alarm(dip).Properties).toMatchObject({
      ComparisonOperator: 'LessThanLowerThreshold',
      EvaluationPeriods: 3,
    });
    const band = properties.Metrics.find((metric) => metric.Id === properties.ThresholdMetricId);
    expect(band?.Expression).toMatch(/^ANOMALY_DETECTION_BAND\(\w+, 3\)$/);
    expect(JSON.stringify(properties.Metrics)).toContain('OutcomesRecorded');
  });

  it('alarms as soon as a drift test flags a change, and on a prediction-error anomaly', () => {
    expect(alarm(observability.driftAlarm).Properties).toMatchObject({
      MetricName: 'DriftDetected',
      Dimensions: [{ Name: 'service', Value: 'flowtune-tuning-cycle' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const error = observability.predictionErrorAlarm;
    if (error === undefined) throw new Error('no prediction error alarm');
    expect(alarm(error).Properties).toMatchObject({ ComparisonOperator: 'GreaterThanUpperThreshold' });
  });

  it('alarms when the allocation job leaves a staffing move for a person, so someone decides before it lapses', () => {
    expect(alarm(observability.staffingApprovalAlarm).Properties).toMatchObject({
      Namespace: 'Flowtune',
      MetricName: 'StaffingAwaitingApproval',
      Dimensions: [{ Name: 'service', Value: 'flowtune-allocation' }],
      Statistic: 'Sum',
      Period: 900,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(String(alarm(observability.staffingApprovalAlarm).Properties?.AlarmDescription)).toContain(
      'flowtune ops staffing',
    );
  });

  it('alarms when the forecast error stays above the guardrail for an hour of runs', () => {
    expect(alarm(observability.forecastErrorAlarm).Properties).toMatchObject({
      MetricName: 'ForecastWape',
      Dimensions: [{ Name: 'service', Value: 'flowtune-allocation' }],
      Statistic: 'Average',
      Period: 900,
      Threshold: 30,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 4,
      DatapointsToAlarm: 4,
      TreatMissingData: 'notBreaching',
    });
  });

  it('shows the allocation alarms on the status widget with the others', () => {
    const status = JSON.stringify(widgets().find((candidate) => candidate.type === 'alarm')?.properties);

    for (const construct of [observability.staffingApprovalAlarm, observability.forecastErrorAlarm]) {
      expect(status).toContain(logicalIdOf(stack, construct));
    }
  });

  it('keeps the alarms on failed executions and on every dead-letter queue, all notifying the alarm topic', () => {
    const failed = alarm(observability.executionsFailedAlarm).Properties;
    expect(failed).toMatchObject({ Namespace: 'AWS/States', MetricName: 'ExecutionsFailed', Threshold: 1 });
    const dlqAlarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(
      ([, candidate]) => candidate.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible',
    );
    // Rule delivery, intake, dispatch, async failures, the allocation job's runs, and the tuning
    // loop's observations.
    expect(dlqAlarms).toHaveLength(6);
    for (const [, candidate] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
      expect(candidate.Properties?.AlarmActions).toEqual([ref(observability.alarmTopic)]);
    }
  });

  it('reads every KPI from a metric declared in the catalogue, with the emitting service', () => {
    const catalogued = new Set(Object.values(METRICS).map((definition) => definition.name));
    const flowtuneLines = widgets()
      .flatMap((candidate) => candidate.properties.metrics ?? [])
      .filter((line) => line[0] === 'Flowtune');

    expect(flowtuneLines.length).toBeGreaterThan(20);
    for (const line of flowtuneLines) {
      expect(catalogued.has(String(line[1])), String(line[1])).toBe(true);
      expect(render(line)).toMatch(/ service flowtune-[a-z-]+( |$)/);
    }
  });
});
