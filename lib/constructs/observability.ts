import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  AnomalyDetectionAlarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  Shading,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AllocationPolicy } from '../../domain/allocation/recommend';
import { LIVE_STAGES } from '../../domain/ops/bottleneck';
import { AWS_LIST_PRICES, type Prices } from '../../domain/ops/cost-model';
import { HUMAN_ACTIONS } from '../../domain/ops/human-tasks';
import {
  DRIFT_KINDS,
  DRIFT_RATIO_THRESHOLD,
  METRICS,
  METRICS_NAMESPACE,
  type MetricDefinition,
  QUALITY_KPIS,
  serviceDimension,
} from '../../domain/ops/metrics';
import { ALLOCATION_SCHEDULE } from '../definitions/allocation';

/** The guardrail's default: above this recent forecast WAPE the allocation job applies no move alone. */
const DEFAULT_MAX_FORECAST_WAPE = AllocationPolicy.parse({ version: 'default' }).maxForecastWapeForAuto;

/** Something shown on the dashboard under a human label. */
export interface Labelled<T> {
  readonly label: string;
  readonly resource: T;
}

/** A function on the dashboard; its memory prices its GB-seconds in the cost per item. */
export interface ObservedFunction extends Labelled<IFunction> {
  /** @default - not priced (its invocations still are, but not its duration) */
  readonly memoryMb?: number;
}

/** A work queue; FIFO requests are priced differently. */
export interface ObservedQueue extends Labelled<IQueue> {
  /** @default false */
  readonly fifo?: boolean;
}

/** An EventBridge rule by the names its metrics are keyed by. */
export interface ObservedRule {
  readonly label: string;
  readonly ruleName: string;
  /**
   * The bus of a rule on a custom bus (its metrics carry the bus name as well).
   *
   * @default - the default bus
   */
  readonly busName?: string;
}

/** What the cost-per-item widget counts on the state machine definition (domain/ops/cost-model.ts). */
export interface CostModelInputs {
  /** State transitions of one item on the main path (counted on the ASL). */
  readonly transitionsPerItem: number;
  /** Events published per item (outbound from the ASL, plus the producers' inbound ones). */
  readonly eventsPerItem: number;
  /** @default AWS_LIST_PRICES */
  readonly prices?: Prices;
}

export interface ObservabilityProps {
  readonly stateMachine: IStateMachine;
  readonly functions: readonly ObservedFunction[];
  /** Work queues: depth and age of the oldest message. */
  readonly queues: readonly ObservedQueue[];
  /** Dead-letter queues: each gets a depth alarm. */
  readonly deadLetterQueues: readonly Labelled<IQueue>[];
  readonly rules: readonly ObservedRule[];
  /**
   * Tables whose request units the cost per item counts.
   *
   * @default - none (the cost leaves DynamoDB out)
   */
  readonly tables?: readonly Labelled<ITable>[];
  /**
   * The business-KPI widgets and alarms: cost per item needs the model's counts.
   *
   * @default - no cost-per-item widget
   */
  readonly costModel?: CostModelInputs;
  /**
   * Share of items that must finish by their SLA due time (0..1); below it the SLA alarm fires.
   *
   * @default 0.9
   */
  readonly slaAttainmentTarget?: number;
  /**
   * Recent forecast WAPE (0..) of the allocation job above which the forecast-error alarm fires
   * when it lasts an hour: set it to the allocation policy's `maxForecastWapeForAuto`, above which
   * every staffing move waits for a person.
   *
   * @default 0.3 (the AllocationPolicy default)
   */
  readonly forecastWapeThreshold?: number;
  /**
   * Period over which alarms evaluate.
   *
   * @default Duration.minutes(5)
   */
  readonly alarmPeriod?: Duration;
  /**
   * Whether to create the anomaly-detection alarms (throughput dips, prediction-error anomalies),
   * which are metric-math alarms some emulators cannot provision.
   *
   * @default true
   */
  readonly anomalyDetectionAlarms?: boolean;
  /**
   * An existing topic every alarm notifies (its encryption and subscriptions are its owner's).
   *
   * @default - a new topic under its own customer-managed key
   */
  readonly alarmTopic?: ITopic;
  /**
   * Quality KPIs the quality alarms hold to, over 15 minutes of finished items (two periods in a
   * row): rates as fractions.
   *
   * @default DEFAULT_QUALITY_THRESHOLDS (first-time resolution ≥ 0.7, rework ≤ 0.15, reopen ≤ 0.1, errors ≤ 0.1)
   */
  readonly qualityThresholds?: Partial<QualityThresholds>;
}

/**
 * The operations view: a dashboard of the business KPIs (throughput, wait and cycle time
 * percentiles, SLA attainment, backlog by stage, cost per item, prediction error, drift,
 * decisions by path, human actions, experiment arms), the allocation job's staffing row, then
 * the plumbing (executions, functions, queues, dead letters, rule deliveries); and alarms on SLA
 * attainment, failed and timed-out executions, every dead-letter queue, drift, prediction-error
 * anomalies, throughput dips, staffing moves held for a person and a lasting forecast error, all
 * notifying one encrypted, TLS-only SNS topic. Metric names come from domain/ops/metrics.ts.
 */
/** The quality rates the quality alarms hold to (fractions of the items finished). */
export interface QualityThresholds {
  readonly minFirstTimeResolution: number;
  readonly maxRework: number;
  readonly maxReopen: number;
  readonly maxError: number;
}

export const DEFAULT_QUALITY_THRESHOLDS: QualityThresholds = {
  minFirstTimeResolution: 0.7,
  maxRework: 0.15,
  maxReopen: 0.1,
  maxError: 0.1,
};

/** The quality widgets' period: 15 minutes of finished items per point. */
const QUALITY_PERIOD = Duration.minutes(15);

export class Observability extends Construct {
  readonly dashboard: Dashboard;
  /** Subscribe on-call channels here. */
  readonly alarmTopic: ITopic;
  readonly alarms: readonly Alarm[];
  /** Alarms on what the business sees: a workflow change that trips one must roll back. */
  readonly rolloutAlarms: readonly Alarm[];
  readonly slaAttainmentAlarm: Alarm;
  readonly driftAlarm: Alarm;
  readonly executionsFailedAlarm: Alarm;
  /** Absent when `anomalyDetectionAlarms` is false. */
  readonly throughputDipAlarm?: Alarm;
  /** Absent when `anomalyDetectionAlarms` is false. */
  readonly predictionErrorAlarm?: Alarm;
  /** The allocation job left a staffing move or offload for a person, who must decide before it lapses. */
  readonly staffingApprovalAlarm: Alarm;
  /** The allocation job's arrival forecasts have been off by more than the guardrail for an hour. */
  readonly forecastErrorAlarm: Alarm;
  /** One per quality KPI (first-time resolution, rework, reopen, errors) against its threshold. */
  readonly qualityAlarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const period = props.alarmPeriod ?? Duration.minutes(5);
    const target = props.slaAttainmentTarget ?? 0.9;
    if (!(target > 0 && target <= 1)) {
      throw new Error(`slaAttainmentTarget must be in (0, 1], e.g. 0.9 for 90%; got ${target}`);
    }
    const wapeThreshold = props.forecastWapeThreshold ?? DEFAULT_MAX_FORECAST_WAPE;
    if (!(wapeThreshold > 0)) {
      throw new Error(
        `forecastWapeThreshold must be above 0, e.g. 0.3 for 30% (the allocation policy's maxForecastWapeForAuto); got ${wapeThreshold}`,
      );
    }

    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic();
    const notify = new SnsAction(this.alarmTopic);

    const executions = {
      started: props.stateMachine.metricStarted({ period }),
      succeeded: props.stateMachine.metricSucceeded({ period }),
      failed: props.stateMachine.metricFailed({ period }),
      timedOut: props.stateMachine.metricTimedOut({ period }),
    };
    this.executionsFailedAlarm = new Alarm(this, 'ExecutionsFailedAlarm', {
      alarmDescription:
        'Process-instance executions failed: a work item left the process without an outcome.',
      metric: executions.failed,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // Business KPIs, from the metric catalogue. Plain-metric alarms where a statistic says it
    // all (SlaMet averages to the attainment), so they hold on every CloudWatch-compatible API.
    const kpiPeriod = Duration.minutes(15);
    const slaAttainment = new MathExpression({
      expression: '100 * sla',
      usingMetrics: { sla: kpi(METRICS.slaMet, { statistic: 'Average', period: kpiPeriod }) },
      label: 'SLA attainment (%)',
      period: kpiPeriod,
    });
    this.slaAttainmentAlarm = new Alarm(this, 'SlaAttainmentAlarm', {
      alarmDescription: `Fewer than ${Math.round(target * 100)}% of the items finished in the last 15 minutes met their SLA (two periods in a row). Check the bottleneck view (flowtune ops bottlenecks) and staffing.`,
      metric: kpi(METRICS.slaMet, { statistic: 'Average', period: kpiPeriod }),
      threshold: target,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.driftAlarm = new Alarm(this, 'DriftAlarm', {
      alarmDescription:
        'A drift test of the tuning workflow flagged a change (arrival rate, category mix, residuals, confidence or capacity): the model or the plan no longer matches the work. The DriftDetected event says which and what Flowtune did.',
      metric: kpi(METRICS.driftDetected, { statistic: 'Sum', period }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const predictionError = kpi(METRICS.predictionAbsError, {
      statistic: 'Average',
      period,
      label: 'mean |error|',
    });
    if (props.anomalyDetectionAlarms ?? true) {
      this.throughputDipAlarm = new AnomalyDetectionAlarm(this, 'ThroughputDipAlarm', {
        alarmDescription:
          'Items finished per 5 minutes fell below the band CloudWatch anomaly detection expects for this time of day and week: work is stuck or not arriving.',
        metric: new MathExpression({
          expression: 'FILL(done, 0)',
          usingMetrics: { done: kpi(METRICS.outcomesRecorded, { statistic: 'Sum', period }) },
          label: 'Items finished',
          period,
        }),
        stdDevs: 3,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: ComparisonOperator.LESS_THAN_LOWER_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.predictionErrorAlarm = new AnomalyDetectionAlarm(this, 'PredictionErrorAnomalyAlarm', {
        alarmDescription:
          'The mean handling-time prediction error rose above its anomaly band: residual drift, which the online statistics have not absorbed.',
        metric: predictionError,
        stdDevs: 3,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    // The allocation job runs once per forecast interval: its metrics have one datapoint per run.
    const allocationPeriod = Duration.minutes(ALLOCATION_SCHEDULE.rateMinutes);
    this.staffingApprovalAlarm = new Alarm(this, 'StaffingApprovalAlarm', {
      alarmDescription:
        'The allocation job left a staffing move or offload for a person (a guardrail held it). Decide with `flowtune ops staffing` before it expires at the end of its horizon; undecided, it is dropped and the next runs plan without it.',
      metric: kpi(METRICS.staffingAwaitingApproval, { statistic: 'Sum', period: allocationPeriod }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const hourOfRuns = Math.max(1, Math.round(60 / ALLOCATION_SCHEDULE.rateMinutes));
    this.forecastErrorAlarm = new Alarm(this, 'ForecastErrorAlarm', {
      alarmDescription: `The allocation job's recent arrival forecasts have been off by more than ${Math.round(wapeThreshold * 100)}% (WAPE) for an hour: its staffing numbers are not to be trusted, and every move waits for a person. Check the queues' categories in the allocation settings and the arrival history (a new channel, an outage, a holiday).`,
      metric: kpi(METRICS.forecastWape, { statistic: 'Average', period: allocationPeriod }),
      threshold: wapeThreshold * 100,
      evaluationPeriods: hourOfRuns,
      datapointsToAlarm: hourOfRuns,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // The dispatcher found the stored policy unreadable and kept routing with the last good one.
    const invalidPolicyAlarm = new Alarm(this, 'InvalidPolicyAlarm', {
      alarmDescription:
        'The stored active policy does not parse (an unknown strategy, an out-of-range number): the dispatcher keeps routing with the last good policy and Score with the default. Propose and approve a corrected version (flowtune ops policies).',
      metric: kpi(METRICS.invalidStoredPolicy, { service: 'dispatcher', statistic: 'Sum', period }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // Quality: each KPI's rate over the finished items, against its threshold.
    const quality = { ...DEFAULT_QUALITY_THRESHOLDS, ...(props.qualityThresholds ?? {}) };
    for (const [name, value] of Object.entries(quality)) {
      if (!(value >= 0 && value <= 1)) {
        throw new Error(
          `qualityThresholds.${name} must be a fraction in [0, 1], e.g. 0.1 for 10%; got ${value}`,
        );
      }
    }
    const qualityAlarm = (
      id: string,
      definition: MetricDefinition,
      threshold: number,
      below: boolean,
      description: string,
    ) =>
      new Alarm(this, id, {
        alarmDescription: `${description} (${Math.round(threshold * 100)}%) over the items finished in the last 15 minutes, two periods in a row. See the per-queue quality widgets for where, and the audit trails of those items (flowtune ops status ID) for why.`,
        metric: kpi(definition, { statistic: 'Average', period: kpiPeriod }),
        threshold,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: below
          ? ComparisonOperator.LESS_THAN_THRESHOLD
          : ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.qualityAlarms = [
      qualityAlarm(
        'FirstTimeResolutionAlarm',
        METRICS.firstTimeResolved,
        quality.minFirstTimeResolution,
        true,
        'First-time resolution fell below its threshold',
      ),
      qualityAlarm(
        'ReworkRateAlarm',
        METRICS.reworked,
        quality.maxRework,
        false,
        'Rework rose above its threshold',
      ),
      qualityAlarm(
        'ReopenRateAlarm',
        METRICS.reopened,
        quality.maxReopen,
        false,
        'Reopens rose above their threshold',
      ),
      qualityAlarm(
        'ErrorRateAlarm',
        METRICS.erroredOutcomes,
        quality.maxError,
        false,
        'Items ending escalated, rejected or abandoned rose above their threshold',
      ),
    ];

    const deadLetterAlarms = props.deadLetterQueues.map(
      ({ label, resource }) =>
        new Alarm(this, `${pascal(label)}DepthAlarm`, {
          alarmDescription: `Messages are waiting in the ${label} dead-letter queue: inspect and redrive them.`,
          metric: resource.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
    );
    const alarms: Alarm[] = [
      this.executionsFailedAlarm,
      new Alarm(this, 'ExecutionsTimedOutAlarm', {
        alarmDescription: 'Process-instance executions hit the state machine timeout.',
        metric: executions.timedOut,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      ...deadLetterAlarms,
      this.slaAttainmentAlarm,
      this.driftAlarm,
      ...(this.throughputDipAlarm === undefined ? [] : [this.throughputDipAlarm]),
      ...(this.predictionErrorAlarm === undefined ? [] : [this.predictionErrorAlarm]),
      this.staffingApprovalAlarm,
      this.forecastErrorAlarm,
      invalidPolicyAlarm,
      ...this.qualityAlarms,
    ];
    for (const alarm of alarms) alarm.addAlarmAction(notify);
    this.alarms = alarms;
    this.rolloutAlarms = [
      this.executionsFailedAlarm,
      this.slaAttainmentAlarm,
      ...(this.throughputDipAlarm === undefined ? [] : [this.throughputDipAlarm]),
      ...(this.predictionErrorAlarm === undefined ? [] : [this.predictionErrorAlarm]),
      ...deadLetterAlarms,
    ];

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          '# Flowtune operations',
          'Business KPIs first, then the plumbing. Where is work stuck right now? `flowtune ops bottlenecks`; who waits for a person? `flowtune ops tasks` (docs/operations.md).',
        ].join('\n'),
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarms], width: 24, height: 3 }),
    );
    this.addKpiWidgets(props, { period, target, slaAttainment, executionsStarted: executions.started });
    this.addStaffingWidgets(allocationPeriod, wapeThreshold);
    this.addPlumbingWidgets(props, period, executions);
  }

  /** The alarm topic, encrypted under its own key that CloudWatch may use to publish. */
  private createAlarmTopic(): Topic {
    const topicKey = new Key(this, 'AlarmTopicKey', {
      description: 'Flowtune: encryption of the alarm notification topic',
      enableKeyRotation: true,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with its own principal.
    topicKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    return new Topic(this, 'AlarmTopic', {
      displayName: 'Flowtune alarms',
      masterKey: topicKey,
      enforceSSL: true,
    });
  }

  /** Throughput, SLA, cost; times; backlog; decisions; model health. */
  private addKpiWidgets(
    props: ObservabilityProps,
    context: {
      readonly period: Duration;
      readonly target: number;
      readonly slaAttainment: MathExpression;
      readonly executionsStarted: Metric;
    },
  ): void {
    const { period } = context;
    const third = 8;
    const percentiles = (definition: MetricDefinition, stats: readonly string[]) =>
      stats.map((statistic) => kpi(definition, { statistic, period, label: statistic }));

    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Throughput (items per 5 min)',
        left: [
          kpi(METRICS.itemsStarted, { statistic: 'Sum', period, label: 'started' }),
          kpi(METRICS.outcomesRecorded, { statistic: 'Sum', period, label: 'finished' }),
        ],
        width: third,
      }),
      new GraphWidget({
        title: 'SLA attainment (%)',
        left: [context.slaAttainment],
        leftYAxis: { min: 0, max: 100 },
        leftAnnotations: [{ value: context.target * 100, label: 'target', fill: Shading.BELOW }],
        width: third,
      }),
      new GraphWidget({
        title: 'Cost per 1,000 items (USD, model)',
        left:
          props.costModel === undefined ? [] : [this.costPerThousandItems(props, props.costModel, context)],
        width: third,
      }),
    );
    // Quality: the rates overall, then per queue (queues are the items' categories, known only at
    // run time: SEARCH finds every queue that emitted).
    const perQueue = (definition: MetricDefinition) =>
      new MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},service,queue} MetricName="${definition.name}"', 'Average', ${QUALITY_PERIOD.toSeconds()})`,
        label: '',
        period: QUALITY_PERIOD,
      });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Quality (rate of finished items)',
        left: QUALITY_KPIS.map(({ label, overall }) =>
          kpi(overall, { statistic: 'Average', period: QUALITY_PERIOD, label }),
        ),
        leftYAxis: { min: 0, max: 1 },
        width: 6,
      }),
      new GraphWidget({
        title: 'SLA attainment per queue (rate)',
        left: [perQueue(METRICS.slaMetByQueue)],
        leftYAxis: { min: 0, max: 1 },
        width: 6,
      }),
      new GraphWidget({
        title: 'First-time resolution per queue (rate)',
        left: [perQueue(METRICS.firstTimeResolvedByQueue)],
        leftYAxis: { min: 0, max: 1 },
        width: 6,
      }),
      new GraphWidget({
        title: 'Rework, reopen and errors per queue (rate)',
        left: QUALITY_KPIS.filter(({ label }) => label !== 'first-time resolution').map(({ byQueue }) =>
          perQueue(byQueue),
        ),
        leftYAxis: { min: 0, max: 1 },
        width: 6,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Wait time (s): enqueued → routed',
        left: percentiles(METRICS.waitTime, ['p50', 'p90', 'p99']),
        width: third,
      }),
      new GraphWidget({
        title: 'Cycle time (s): created → completed',
        left: percentiles(METRICS.cycleTime, ['p50', 'p90', 'p99']),
        width: third,
      }),
      new GraphWidget({
        title: 'Handle time (s): started → completed',
        left: percentiles(METRICS.handleTime, ['p50', 'p90']),
        width: third,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Backlog by stage (items)',
        left: LIVE_STAGES.map((stage) =>
          kpi(METRICS.backlogItems, { statistic: 'Maximum', period, dimensions: { stage }, label: stage }),
        ),
        stacked: true,
        width: 12,
      }),
      new GraphWidget({
        title: 'Oldest item by stage (s)',
        left: LIVE_STAGES.map((stage) =>
          kpi(METRICS.backlogOldestAge, {
            statistic: 'Maximum',
            period,
            dimensions: { stage },
            label: stage,
          }),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Decisions by path',
        left: (['automation', 'routing', 'human-review'] as const).map((path) =>
          kpi(METRICS.itemsScored, { statistic: 'Sum', period, dimensions: { path }, label: path }),
        ),
        stacked: true,
        width: third,
      }),
      new GraphWidget({
        title: 'Human actions',
        left: HUMAN_ACTIONS.map((action) =>
          kpi(METRICS.humanActions, { statistic: 'Sum', period, dimensions: { action }, label: action }),
        ),
        stacked: true,
        width: third,
      }),
      new GraphWidget({
        title: 'Experiment arms (items routed)',
        left: [
          new MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,experiment,arm} MetricName="${METRICS.experimentAssignments.name}"', 'Sum', ${period.toSeconds()})`,
            label: '',
            period,
          }),
        ],
        stacked: true,
        width: third,
      }),
    );
    const errorMean = kpi(METRICS.predictionAbsError, {
      statistic: 'Average',
      period,
      label: 'mean |error|',
    });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Prediction error (s): |actual − predicted|',
        left: [
          errorMean,
          kpi(METRICS.predictionAbsError, { statistic: 'p90', period, label: 'p90 |error|' }),
          new MathExpression({
            expression: 'ANOMALY_DETECTION_BAND(err, 3)',
            usingMetrics: { err: errorMean },
            label: 'expected band',
            period,
          }),
        ],
        width: third,
      }),
      new GraphWidget({
        title: 'Drift (test statistic ÷ threshold)',
        left: DRIFT_KINDS.map((kind) =>
          kpi(METRICS.driftRatio, { statistic: 'Maximum', period, dimensions: { kind }, label: kind }),
        ),
        leftAnnotations: [{ value: DRIFT_RATIO_THRESHOLD, label: 'drift', fill: Shading.ABOVE }],
        width: third,
      }),
      new GraphWidget({
        title: 'Model confidence by path',
        left: (['automation', 'routing', 'human-review'] as const).map((path) =>
          kpi(METRICS.scoreConfidence, { statistic: 'Average', period, dimensions: { path }, label: path }),
        ),
        leftYAxis: { min: 0, max: 1 },
        width: third,
      }),
    );
  }

  /** The allocation job: what it recommended, applied and left for people; its forecast error; its runs. */
  private addStaffingWidgets(period: Duration, wapeThreshold: number): void {
    const third = 8;
    const minutes = period.toMinutes();
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `## Staffing: the allocation job, every ${minutes} min (who waits for a person: flowtune ops staffing)`,
        width: 24,
        height: 1,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `Staffing moves (per ${minutes} min)`,
        left: [
          kpi(METRICS.staffingRecommendations, { statistic: 'Sum', period, label: 'recommended' }),
          kpi(METRICS.staffingMovesApplied, { statistic: 'Sum', period, label: 'applied' }),
          kpi(METRICS.staffingAwaitingApproval, { statistic: 'Sum', period, label: 'left for a person' }),
          ...(['approveStaffingMove', 'rejectStaffingMove'] as const).map((action) =>
            kpi(METRICS.humanActions, {
              statistic: 'Sum',
              period,
              dimensions: { action },
              label: action === 'approveStaffingMove' ? 'approved by a person' : 'rejected by a person',
            }),
          ),
        ],
        width: third,
      }),
      new GraphWidget({
        title: 'Arrival forecast error (WAPE %)',
        left: [kpi(METRICS.forecastWape, { statistic: 'Average', period, label: 'recent WAPE' })],
        leftYAxis: { min: 0 },
        leftAnnotations: [
          { value: wapeThreshold * 100, label: 'moves wait for a person', fill: Shading.ABOVE },
        ],
        width: third,
      }),
      new GraphWidget({
        title: 'Allocation runs',
        left: [
          kpi(METRICS.allocationRuns, { statistic: 'Sum', period, label: 'planned' }),
          kpi(METRICS.allocationRunsWithoutHistory, {
            statistic: 'Sum',
            period,
            label: 'too little history',
          }),
        ],
        width: third,
      }),
    );
  }

  /**
   * The cost model applied to measured usage: Lambda requests and GB-seconds, DynamoDB request
   * units, SQS requests, plus transitions and events per execution counted on the definition,
   * divided by items finished (domain/ops/cost-model.ts, docs/operations.md).
   */
  private costPerThousandItems(
    props: ObservabilityProps,
    model: CostModelInputs,
    context: { readonly period: Duration; readonly executionsStarted: Metric },
  ): MathExpression {
    const { period } = context;
    const prices = model.prices ?? AWS_LIST_PRICES;
    const metrics: Record<string, IMetric> = {
      started: context.executionsStarted.with({ statistic: 'Sum', period }),
      done: kpi(METRICS.outcomesRecorded, { statistic: 'Sum', period }),
    };
    const terms: string[] = [
      `FILL(started, 0) * ${decimal(model.transitionsPerItem * prices.stateTransition + model.eventsPerItem * prices.eventBridgeEvent)}`,
    ];
    props.functions.forEach(({ resource, memoryMb }, index) => {
      metrics[`inv${index}`] = resource.metricInvocations({ statistic: 'Sum', period });
      terms.push(`FILL(inv${index}, 0) * ${decimal(prices.lambdaRequest)}`);
      if (memoryMb !== undefined) {
        metrics[`dur${index}`] = resource.metricDuration({ statistic: 'Sum', period });
        terms.push(`FILL(dur${index}, 0) * ${decimal((memoryMb / 1024 / 1000) * prices.lambdaArmGbSecond)}`);
      }
    });
    (props.tables ?? []).forEach(({ resource }, index) => {
      metrics[`wcu${index}`] = resource.metricConsumedWriteCapacityUnits({ statistic: 'Sum', period });
      metrics[`rcu${index}`] = resource.metricConsumedReadCapacityUnits({ statistic: 'Sum', period });
      terms.push(`FILL(wcu${index}, 0) * ${decimal(prices.dynamoDbWriteUnit)}`);
      terms.push(`FILL(rcu${index}, 0) * ${decimal(prices.dynamoDbReadUnit)}`);
    });
    props.queues.forEach(({ resource, fifo }, index) => {
      const price = decimal(fifo === true ? prices.sqsFifoRequest : prices.sqsStandardRequest);
      const requests = {
        [`sent${index}`]: resource.metricNumberOfMessagesSent({ statistic: 'Sum', period }),
        [`recv${index}`]: resource.metricNumberOfMessagesReceived({ statistic: 'Sum', period }),
        [`del${index}`]: resource.metricNumberOfMessagesDeleted({ statistic: 'Sum', period }),
        [`empty${index}`]: resource.metricNumberOfEmptyReceives({ statistic: 'Sum', period }),
      };
      Object.assign(metrics, requests);
      terms.push(
        `(${Object.keys(requests)
          .map((name) => `FILL(${name}, 0)`)
          .join(' + ')}) * ${price}`,
      );
    });
    const spend = new MathExpression({
      expression: terms.join(' + '),
      usingMetrics: metrics,
      label: 'spend',
      period,
    });
    return new MathExpression({
      expression: '1000 * spend / done',
      usingMetrics: { spend, done: metrics.done as IMetric },
      label: 'USD per 1,000 items',
      period,
    });
  }

  private addPlumbingWidgets(
    props: ObservabilityProps,
    period: Duration,
    executions: { started: Metric; succeeded: Metric; failed: Metric; timedOut: Metric },
  ): void {
    const wide = 12;
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: '## Plumbing: executions, functions, queues, deliveries',
        width: 24,
        height: 1,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Executions',
        left: [executions.started, executions.succeeded, executions.failed, executions.timedOut],
        width: wide,
      }),
      new GraphWidget({
        title: 'Rule deliveries that failed',
        left: props.rules.map((rule) => ruleFailedInvocations(rule, period)),
        width: wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors',
        left: props.functions.map(({ label, resource }) => resource.metricErrors({ period, label })),
        width: wide,
      }),
      new GraphWidget({
        title: 'Function duration (p90)',
        left: props.functions.map(({ label, resource }) =>
          resource.metricDuration({ period, label, statistic: 'p90' }),
        ),
        width: wide,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue depth',
        left: props.queues.map(({ label, resource }) => queueDepth(label, resource, period)),
        right: props.queues.map(({ label, resource }) =>
          resource.metricApproximateAgeOfOldestMessage({
            period,
            label: `${label} oldest (s)`,
            statistic: 'Maximum',
          }),
        ),
        width: wide,
      }),
      new GraphWidget({
        title: 'Dead-letter queue depth',
        left: props.deadLetterQueues.map(({ label, resource }) => queueDepth(label, resource, period)),
        width: wide,
      }),
    );
  }
}

/**
 * A catalogued Flowtune metric with the dimensions its emitter adds: Powertools' `service`
 * (the first emitting function unless `service` says otherwise) and the given ones.
 */
export function kpi(
  definition: MetricDefinition,
  options: {
    readonly statistic: string;
    readonly period: Duration;
    readonly label?: string;
    readonly dimensions?: Readonly<Record<string, string>>;
    readonly service?: string;
  },
): Metric {
  const service = options.service ?? definition.services[0];
  if (service === undefined) throw new Error(`metric ${definition.name} names no emitting service`);
  const extra = Object.keys(options.dimensions ?? {});
  const undeclared = extra.filter((name) => !definition.dimensions.includes(name));
  if (undeclared.length > 0) {
    throw new Error(
      `metric ${definition.name} has no dimension ${undeclared.join(', ')} in domain/ops/metrics.ts; declare it there first`,
    );
  }
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: definition.name,
    dimensionsMap: { service: serviceDimension(service), ...(options.dimensions ?? {}) },
    statistic: options.statistic,
    period: options.period,
    ...(options.label === undefined ? {} : { label: options.label }),
  });
}

/** A price in plain decimal notation (metric math does not read exponents). */
function decimal(value: number): string {
  return value.toFixed(15).replace(/\.?0+$/, '');
}

function queueDepth(label: string, queue: IQueue, period: Duration): IMetric {
  return queue.metricApproximateNumberOfMessagesVisible({ period, label, statistic: 'Maximum' });
}

/** AWS/Events FailedInvocations of one rule. */
function ruleFailedInvocations({ label, ruleName, busName }: ObservedRule, period: Duration): IMetric {
  return new Metric({
    namespace: 'AWS/Events',
    metricName: 'FailedInvocations',
    dimensionsMap:
      busName === undefined ? { RuleName: ruleName } : { EventBusName: busName, RuleName: ruleName },
    statistic: 'Sum',
    period,
    label,
  });
}

function pascal(label: string): string {
  return label
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
