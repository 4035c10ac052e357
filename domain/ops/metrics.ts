/**
 * The one catalogue of Flowtune's CloudWatch metrics: every metric a handler emits as EMF (through
 * Powertools) and every metric the dashboard and the alarms read is named here, with its unit, the
 * function that emits it and its dimensions. The handlers, the dashboard construct, the alarms and
 * the tests all read this module, so a renamed metric cannot silently leave a widget empty.
 *
 * Naming scheme (docs/operations.md, "Metrics"):
 * - namespace `Flowtune`;
 * - metric names are PascalCase: counts are plural nouns of what was counted (`ItemsScored`,
 *   `HumanActions`), durations end in `Time` or `Age` and are in seconds (`CycleTime`,
 *   `BacklogOldestAge`), ratios and scores are singular nouns (`ScoreConfidence`, `DriftScore`);
 * - every metric carries Powertools' `service` dimension, `flowtune-<handler folder>`, naming the
 *   function that emitted it; further dimensions are lower camelCase (`path`, `stage`, `action`)
 *   and only ever take values from a closed set, so the number of series stays bounded.
 */

export const METRICS_NAMESPACE = 'Flowtune';

/** Units as Powertools' MetricUnit spells them (domain/ is pure: no Powertools import here). */
export type MetricUnitName = 'Count' | 'Seconds' | 'Milliseconds' | 'Percent' | 'None';

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnitName;
  /**
   * Handler folder of the emitting function (lambdas/<service>/handler.ts); the EMF `service`
   * dimension is `flowtune-<service>`. A metric several functions emit lists each of them.
   */
  readonly services: readonly string[];
  /** Dimensions besides `service`, in the order they are added. */
  readonly dimensions: readonly string[];
  readonly description: string;
}

/** The EMF `service` dimension value of a handler folder. */
export function serviceDimension(service: string): string {
  return `flowtune-${service}`;
}

/** The `service` dimension of a metric's first (or only) emitting function. */
export function emittingService(definition: MetricDefinition): string {
  const service = definition.services[0];
  if (service === undefined) throw new Error(`metric ${definition.name} names no emitting service`);
  return serviceDimension(service);
}

const metric = (
  name: string,
  unit: MetricUnitName,
  services: readonly string[],
  description: string,
  dimensions: readonly string[] = [],
): MetricDefinition => ({ name, unit, services, dimensions, description });

/**
 * Every Flowtune metric, by a camelCase key. `test/ops/metric-catalogue.test.ts` checks that each
 * `addMetric` in lambdas/ uses a name (and unit) declared here.
 */
export const METRICS = {
  // Intake
  itemsStarted: metric('ItemsStarted', 'Count', ['intake'], 'Process instances started (one per new item).'),
  duplicateEvents: metric(
    'DuplicateEvents',
    'Count',
    ['intake'],
    'WorkItemCreated events of an item already started.',
  ),
  redeliveredEvents: metric(
    'RedeliveredEvents',
    'Count',
    ['intake'],
    'Redeliveries of the very event that started an execution (its RECEIVED record is ensured).',
  ),
  intakeFailures: metric(
    'IntakeFailures',
    'Count',
    ['intake'],
    'Intake records that failed and will be retried.',
  ),
  eventsRejected: metric(
    'EventsRejected',
    'Count',
    ['intake'],
    'Inbound events refused at intake (recorded, announced).',
  ),
  // Validate and score
  itemsValidated: metric('ItemsValidated', 'Count', ['validate'], 'Items that passed validation.'),
  itemsInvalid: metric('ItemsInvalid', 'Count', ['validate'], 'Items that failed validation.'),
  itemsScored: metric('ItemsScored', 'Count', ['score'], 'Items scored, by the decided path.', ['path']),
  scoreConfidence: metric('ScoreConfidence', 'None', ['score'], "The model's confidence (0..1), by path.", [
    'path',
  ]),
  invalidStoredPolicy: metric(
    'InvalidStoredPolicy',
    'Count',
    // Emitted through lambdas/shared/policy.ts by every function that reads the active policy.
    ['score', 'dispatcher', 'tuning-cycle', 'allocation', 'ops-api'],
    'The stored active policy did not parse; the default applied.',
  ),
  // Dispatch
  itemsEnqueued: metric('ItemsEnqueued', 'Count', ['dispatcher'], 'Items that joined the waiting set.'),
  supersededEnqueues: metric(
    'SupersededEnqueues',
    'Count',
    ['dispatcher'],
    'Enqueue messages of an old wait (redelivered or redriven) ignored because a later wait is live.',
  ),
  itemsAssigned: metric('ItemsAssigned', 'Count', ['dispatcher'], 'Items assigned by dispatch rounds.'),
  waitingItems: metric(
    'WaitingItems',
    'Count',
    ['dispatcher'],
    'Items waiting at the start of a dispatch round.',
  ),
  claimConflicts: metric(
    'ClaimConflicts',
    'Count',
    ['dispatcher'],
    'Capacity claims that lost their condition.',
  ),
  staleAssignments: metric(
    'StaleAssignments',
    'Count',
    ['dispatcher'],
    'Assignments whose execution was gone.',
  ),
  revertedAssignments: metric(
    'RevertedAssignments',
    'Count',
    ['dispatcher'],
    'Claims undone after a failed resume.',
  ),
  dispatchRoundFailures: metric(
    'DispatchRoundFailures',
    'Count',
    ['dispatcher'],
    'Dispatch rounds that failed.',
  ),
  malformedDispatchMessages: metric(
    'MalformedDispatchMessages',
    'Count',
    ['dispatcher'],
    'Dispatch messages that did not parse (recorded, skipped).',
  ),
  // Waits and completions
  waitsParked: metric(
    'WaitsParked',
    'Count',
    ['park'],
    'Task tokens parked (completion, human review, exception).',
  ),
  earlyCompletionsResumed: metric(
    'EarlyCompletionsResumed',
    'Count',
    ['park'],
    'Completions that arrived before their wait and resumed it at once.',
  ),
  completionEvents: metric(
    'CompletionEvents',
    'Count',
    ['completion'],
    'Completion and cancellation events, by what happened to them.',
    ['status'],
  ),
  // Outcomes: the business KPIs
  outcomesRecorded: metric('OutcomesRecorded', 'Count', ['record-outcome'], 'Items finished (throughput).'),
  cycleTime: metric('CycleTime', 'Seconds', ['record-outcome'], 'Created → completed.'),
  waitTime: metric('WaitTime', 'Seconds', ['record-outcome'], 'Enqueued for assignment → routed.'),
  handleTime: metric('HandleTime', 'Seconds', ['record-outcome'], 'Started (or routed) → completed.'),
  slaMet: metric(
    'SlaMet',
    'Count',
    ['record-outcome'],
    '1 when the item completed by its SLA due time, else 0.',
  ),
  // Quality, one 0/1 value per finished item (the average is the rate); the ByQueue copies carry the
  // item's queue (its category), for the per-queue widgets, the plain ones feed the alarms.
  slaMetByQueue: metric(
    'SlaMetByQueue',
    'Count',
    ['record-outcome'],
    'SlaMet by queue: the average is the queue’s SLA attainment.',
    ['queue'],
  ),
  firstTimeResolved: metric(
    'FirstTimeResolved',
    'Count',
    ['record-outcome'],
    '1 when the item was resolved the first time (no reopen, no hand-back), else 0.',
  ),
  firstTimeResolvedByQueue: metric(
    'FirstTimeResolvedByQueue',
    'Count',
    ['record-outcome'],
    'FirstTimeResolved by queue.',
    ['queue'],
  ),
  reworked: metric('Reworked', 'Count', ['record-outcome'], '1 when the item needed rework, else 0.'),
  reworkedByQueue: metric('ReworkedByQueue', 'Count', ['record-outcome'], 'Reworked by queue.', ['queue']),
  reopened: metric('Reopened', 'Count', ['record-outcome'], '1 when the item was reopened, else 0.'),
  reopenedByQueue: metric('ReopenedByQueue', 'Count', ['record-outcome'], 'Reopened by queue.', ['queue']),
  erroredOutcomes: metric(
    'ErroredOutcomes',
    'Count',
    ['record-outcome'],
    '1 when the item ended escalated, rejected or abandoned rather than resolved or converted, else 0.',
  ),
  erroredOutcomesByQueue: metric(
    'ErroredOutcomesByQueue',
    'Count',
    ['record-outcome'],
    'ErroredOutcomes by queue.',
    ['queue'],
  ),
  predictionAbsError: metric(
    'PredictionAbsError',
    'Seconds',
    ['record-outcome'],
    '|actual − predicted| handling time: the residual that drift detection watches.',
  ),
  completionHandlerMismatch: metric(
    'CompletionHandlerMismatch',
    'Count',
    ['record-outcome'],
    'Completions whose handledBy is not the assignee (per-agent statistics not fed).',
  ),
  // Agents
  agentStatusChanges: metric(
    'AgentStatusChanges',
    'Count',
    ['agent-status'],
    'Agent status changes applied.',
  ),
  staleAgentEvents: metric(
    'StaleAgentEvents',
    'Count',
    ['agent-status'],
    'Agent events older than the stored state.',
  ),
  agentEventsRejected: metric('AgentEventsRejected', 'Count', ['agent-status'], 'Agent events refused.'),
  // Operations (lambdas/ops-api)
  backlogItems: metric(
    'BacklogItems',
    'Count',
    ['ops-api'],
    'Live items in a stage (snapshot every minute, from the byStage index).',
    ['stage'],
  ),
  backlogOldestAge: metric(
    'BacklogOldestAge',
    'Seconds',
    ['ops-api'],
    'Age of the oldest item in a stage (snapshot every minute).',
    ['stage'],
  ),
  humanActions: metric(
    'HumanActions',
    'Count',
    ['ops-api'],
    'Approvals, overrides, rejections and appeals by people.',
    ['action'],
  ),
  policyProposals: metric('PolicyProposals', 'Count', ['ops-api'], 'Policy versions proposed by operators.'),
  // Continuous tuning: each tuning function is its own service (flowtune-tuning-<handler folder>,
  // as the Tuning construct names it); the dashboard and the drift alarm read them by it.
  driftDetected: metric(
    'DriftDetected',
    'Count',
    ['tuning-cycle'],
    'Drift tests that flagged a change in a tuning cycle (the kind goes in the DriftDetected event).',
  ),
  driftRatio: metric(
    'DriftRatio',
    'None',
    ['tuning-cycle'],
    "A drift test's statistic divided by the threshold it must exceed: above 1 is drift.",
    ['kind'],
  ),
  driftDetectedByKind: metric(
    'DriftDetectedByKind',
    'Count',
    ['tuning-cycle'],
    'Drift findings of a tuning cycle, one per finding, by the kind of test that flagged it.',
    ['kind'],
  ),
  tuningObservations: metric(
    'TuningObservations',
    'Count',
    ['tuning-observe'],
    "Arrivals and completions recorded into the tuning loop's minute buckets.",
  ),
  tuningCycles: metric(
    'TuningCycles',
    'Count',
    ['tuning-cycle'],
    'Tuning cycles run (one every two minutes).',
  ),
  occupancy: metric(
    'Occupancy',
    'Percent',
    ['tuning-cycle'],
    'Share of agent capacity in use over the tuning window.',
  ),
  tuningApprovalsRequested: metric(
    'TuningApprovalsRequested',
    'Count',
    ['tuning-approval'],
    'High-impact policy changes waiting for a person to approve them.',
  ),
  policyChangesApplied: metric(
    'PolicyChangesApplied',
    'Count',
    ['tuning-apply'],
    'Policy versions the tuning loop activated (within guardrails or approved).',
  ),
  policyChangesRejected: metric(
    'PolicyChangesRejected',
    'Count',
    ['tuning-apply'],
    'Proposed policy changes refused by a guardrail or a person.',
  ),
  policyRollbacks: metric(
    'PolicyRollbacks',
    'Count',
    ['tuning-apply'],
    'Experiments rolled back because a guardrail metric degraded.',
  ),
  // Resource allocation (lambdas/allocation: the scheduled job, one run per forecast interval)
  allocationRuns: metric(
    'AllocationRuns',
    'Count',
    ['allocation'],
    'Allocation runs that forecast, planned staffing and recommended (idle runs are not counted).',
  ),
  allocationRunsWithoutHistory: metric(
    'AllocationRunsWithoutHistory',
    'Count',
    ['allocation'],
    'Allocation runs that planned nothing: less than one complete local day of arrival history yet.',
  ),
  staffingRecommendations: metric(
    'StaffingRecommendations',
    'Count',
    ['allocation'],
    'Moves and offloads recommended by a run (each also a StaffingRecommended event).',
  ),
  staffingMovesApplied: metric(
    'StaffingMovesApplied',
    'Count',
    ['allocation'],
    'Moves applied by a run: within the guardrails, or approved by a person since the last run.',
  ),
  staffingAwaitingApproval: metric(
    'StaffingAwaitingApproval',
    'Count',
    ['allocation'],
    'Recommendations of a run the guardrails left for a person (flowtune ops staffing).',
  ),
  forecastWape: metric(
    'ForecastWape',
    'Percent',
    ['allocation'],
    "Recent one-interval-ahead WAPE of the arrival forecasts; above the policy's maxForecastWapeForAuto every move waits for a person.",
  ),
  // Connectors (lambdas/connector)
  connectorDeliveries: metric(
    'ConnectorDeliveries',
    'Count',
    ['connector'],
    'Routed items delivered to a connector.',
  ),
  connectorDeferrals: metric(
    'ConnectorDeferrals',
    'Count',
    ['connector'],
    'Deliveries deferred (retried, then dead-lettered), by reason.',
    ['reason'],
  ),
  connectorMisconfigured: metric(
    'ConnectorMisconfigured',
    'Count',
    ['connector'],
    'Deliveries dead-lettered at once because the credential was refused (401/403) or unreadable: fix the secret, then redrive.',
  ),
  connectorRefusals: metric(
    'ConnectorRefusals',
    'Count',
    ['connector'],
    'Deliveries the connected system refused.',
  ),
  connectorEventsIgnored: metric(
    'ConnectorEventsIgnored',
    'Count',
    ['connector'],
    'Routed events meant for another connector.',
  ),
  experimentAssignments: metric(
    'ExperimentAssignments',
    'Count',
    ['dispatcher'],
    'Items routed in an experiment, by experiment and arm.',
    ['experiment', 'arm'],
  ),
  experimentReadFailures: metric(
    'ExperimentReadFailures',
    'Count',
    ['dispatcher'],
    'Dispatch rounds that could not read the current experiment and routed every item by the active policy.',
  ),
  experimentRoutingFailures: metric(
    'ExperimentRoutingFailures',
    'Count',
    ['dispatcher'],
    "Rounds where the experiment's candidate policy failed to route (split or shadow); live routing went on by the active policy.",
  ),
  shadowDecisions: metric(
    'ShadowDecisions',
    'Count',
    ['dispatcher'],
    'Live assignments recorded beside what a shadow candidate would have decided (not acted on).',
  ),
  shadowAgreements: metric(
    'ShadowAgreements',
    'Count',
    ['dispatcher'],
    'Of the shadow decisions, 1 when the candidate picked the same agent, else 0 (the average is the agreement rate).',
  ),
  recoveredAssignments: metric(
    'RecoveredAssignments',
    'Count',
    ['dispatcher'],
    'Assignments the execution never got (resume and undo both failed), undone after the stuck wait and assigned again.',
  ),
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/** What the tuning workflow's drift tests watch (as its DriftDetected event names them). */
export const DRIFT_KINDS = ['arrival-rate', 'category-mix', 'residual', 'confidence', 'capacity'] as const;

/** Completion outcomes that count as errors in the quality KPIs (ErroredOutcomes). */
export const ERRORED_OUTCOMES: readonly string[] = ['escalated', 'rejected', 'abandoned'];

/** The quality KPIs, each a 0/1 metric averaged into a rate, with its per-queue copy. */
export const QUALITY_KPIS = [
  {
    label: 'first-time resolution',
    overall: METRICS.firstTimeResolved,
    byQueue: METRICS.firstTimeResolvedByQueue,
  },
  { label: 'rework', overall: METRICS.reworked, byQueue: METRICS.reworkedByQueue },
  { label: 'reopen', overall: METRICS.reopened, byQueue: METRICS.reopenedByQueue },
  { label: 'error', overall: METRICS.erroredOutcomes, byQueue: METRICS.erroredOutcomesByQueue },
] as const;

/** DriftRatio above this is drift: the test statistic exceeded its threshold. */
export const DRIFT_RATIO_THRESHOLD = 1;
