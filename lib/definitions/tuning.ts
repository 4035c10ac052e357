import { FLOWTUNE_SOURCE } from '../../domain/events';
import { emittingService, METRICS, METRICS_NAMESPACE } from '../../domain/ops/metrics';
import { DEFAULT_TUNING_CONFIG } from '../../domain/tuning/config';
import type { EventPattern } from './events';
import { type ConcurrencyDecision, type FunctionDefinition, PER_EVENT_CONCURRENCY } from './functions';
import type { StateMachineDefinition } from './state-machines';
import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE } from './tables';

/**
 * The one definition of the tuning loop's functions, state machine, schedule and rule: the
 * Tuning construct (lib/constructs/tuning.ts) builds them, the local runtime and the tests bind
 * the same handlers to the same ASL placeholders. Kept apart from FUNCTIONS so the process's
 * orchestration construct does not build them too.
 */

const base = {
  memorySize: 512,
  timeoutSeconds: 30,
  putsEvents: false,
  resumesExecutions: false,
  startsExecutions: false,
  triggersDispatch: false,
  pseudonymises: false,
} as const;

/** Why the tuning workflow's task functions have no reserved concurrency. */
const TUNING_TASK_CONCURRENCY: ConcurrencyDecision = {
  unreserved:
    'Invoked synchronously by the Tuning state machine, started once per schedule tick: a handful of invocations per cycle, bounded by the schedule, with nothing downstream a limit would shield.',
};

export const TUNING_FUNCTIONS = {
  tuningObserve: {
    ...base,
    id: 'TuningObserve',
    concurrency: PER_EVENT_CONCURRENCY,
    entry: 'lambdas/tuning/observe/handler.ts',
    description:
      'WorkItemCreated / WorkItemCompleted → the tuning loop’s observation buckets (arrivals, handling time against prediction, SLA outcome per experiment arm, quality); WorkItemRouted / ends → the work in progress.',
    // Buckets and running items live in Features; category, prediction and SLA come from Instances.
    tables: [
      { table: FEATURES_TABLE, access: 'readWrite' },
      { table: INSTANCES_TABLE, access: 'read' },
    ],
  },
  tuningCycle: {
    ...base,
    id: 'TuningCycle',
    concurrency: TUNING_TASK_CONCURRENCY,
    entry: 'lambdas/tuning/cycle/handler.ts',
    description:
      'One tuning cycle: window KPIs, drift tests, capacity check, adaptive thresholds, experiment decision; re-estimates drifted categories.',
    tables: [{ table: FEATURES_TABLE, access: 'readWrite' }],
    memorySize: 1024,
    timeoutSeconds: 60,
    placeholder: 'TuningCycleFunctionArn',
  },
  tuningApproval: {
    ...base,
    id: 'TuningRequestApproval',
    concurrency: TUNING_TASK_CONCURRENCY,
    entry: 'lambdas/tuning/approval/handler.ts',
    description:
      'Stores a high-impact policy change with its task token until a person approves or rejects it.',
    tables: [{ table: FEATURES_TABLE, access: 'readWrite' }],
    placeholder: 'TuningApprovalFunctionArn',
  },
  tuningApply: {
    ...base,
    id: 'TuningApply',
    concurrency: TUNING_TASK_CONCURRENCY,
    entry: 'lambdas/tuning/apply/handler.ts',
    description:
      'Applies a policy change through the policy store: a new immutable version, activated only if the active one is still the version it was computed from, audited, PolicyChanged emitted.',
    // Versions and the active pointer in Features, the policy history in Audit, PolicyChanged on the bus.
    tables: [
      { table: FEATURES_TABLE, access: 'readWrite' },
      { table: AUDIT_TABLE, access: 'readWrite' },
    ],
    putsEvents: true,
    placeholder: 'TuningApplyFunctionArn',
  },
} as const satisfies Record<string, FunctionDefinition>;

export type TuningFunctionName = keyof typeof TUNING_FUNCTIONS;

export const TUNING_STATE_MACHINE = {
  id: 'Tuning',
  file: 'statemachines/tuning.asl.json',
  placeholders: [
    TUNING_FUNCTIONS.tuningCycle.placeholder,
    TUNING_FUNCTIONS.tuningApproval.placeholder,
    TUNING_FUNCTIONS.tuningApply.placeholder,
    'EventBusName',
  ],
  // An approval may wait a day; the execution's own limit leaves room for it.
  timeoutDays: 2,
} as const satisfies StateMachineDefinition;

/** How often the tuning workflow starts: the loop's default cycle length. */
export const TUNING_SCHEDULE = {
  id: 'TuningSchedule',
  description: 'Starts one tuning cycle every few minutes.',
  rateMinutes: DEFAULT_TUNING_CONFIG.cycleMinutes,
} as const;

/**
 * An event pattern with a top-level `$or` of sub-patterns (EventBridge, the local matcher in
 * local/event-pattern.ts and MiniStack 1.5.33's matcher all evaluate it).
 */
export type AnyOfEventPattern = { readonly $or: readonly EventPattern[] };

/**
 * The observation feed, to the observe function: from producers, items created, completed and
 * cancelled (arrivals, completions, ends); from Flowtune itself, items routed and escalated (the
 * start and end of the work in progress the residual test reads). One rule, so the function keeps
 * one trigger and the local runtime delivers it as is.
 */
export const TUNING_RULES = {
  observations: {
    id: 'WorkItemOutcomesToTuning',
    description:
      'Arrivals, routings, completions, cancellations and escalations feed the tuning loop’s observations and work in progress.',
    pattern: {
      $or: [
        {
          source: [{ 'anything-but': FLOWTUNE_SOURCE }],
          'detail-type': ['WorkItemCreated', 'WorkItemCompleted', 'WorkItemCancelled'],
        },
        { source: [FLOWTUNE_SOURCE], 'detail-type': ['WorkItemRouted', 'WorkItemEscalated'] },
      ],
    } satisfies AnyOfEventPattern,
    target: { kind: 'function', fn: 'tuningObserve' },
  },
} as const satisfies Record<
  string,
  {
    readonly id: string;
    readonly description: string;
    readonly pattern: EventPattern | AnyOfEventPattern;
    readonly target: { readonly kind: 'function'; readonly fn: TuningFunctionName };
  }
>;

/**
 * Metric the cycle publishes with the number of drift findings (service dimension only); the
 * construct alarms on it. From the catalogue, so the alarm reads what the cycle emits.
 */
export const DRIFT_METRIC = {
  namespace: METRICS_NAMESPACE,
  name: METRICS.driftDetected.name,
  service: emittingService(METRICS.driftDetected),
} as const;
