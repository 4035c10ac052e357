import { AllocationPolicy } from '../../domain/allocation/recommend';
import type { FunctionDefinition } from './functions';
import { AUDIT_TABLE, FEATURES_TABLE } from './tables';

/**
 * The one definition of the allocation job's function and schedule: the Allocation construct
 * (lib/constructs/allocation.ts) builds them, the local runtime runs the same handler on a timer
 * at the same rate. Kept apart from FUNCTIONS so the process's orchestration construct does not
 * build it too.
 */

export const ALLOCATION_FUNCTIONS = {
  allocationRun: {
    id: 'AllocationRun',
    concurrency: {
      reserved: 1,
      protects:
        'the roster and the queues: two runs at once (a retried run beside a scheduled one) would plan and move the same agents twice',
    },
    entry: 'lambdas/allocation/handler.ts',
    description:
      'Scheduled allocation run: arrival forecast per queue, Erlang staffing, moves of cross-skilled agents and automation offloads applied within guardrails, the rest left for approval; StaffingRecommended.',
    // Features: observation buckets, arrival rollups, roster and queues, policy versions, job state.
    // Audit: the run and each recommendation.
    tables: [
      { table: FEATURES_TABLE, access: 'readWrite' },
      { table: AUDIT_TABLE, access: 'readWrite' },
    ],
    putsEvents: true,
    resumesExecutions: false,
    startsExecutions: false,
    triggersDispatch: false,
    pseudonymises: false,
    // A first run rolls up to two weeks of minute buckets into the history; later runs a quarter hour.
    memorySize: 1024,
    timeoutSeconds: 180,
  },
} as const satisfies Record<string, FunctionDefinition>;

export type AllocationFunctionName = keyof typeof ALLOCATION_FUNCTIONS;

/** The guardrails' default interval: the job plans once per forecast interval. */
const DEFAULT_INTERVAL_MINUTES = AllocationPolicy.parse({ version: 'default' }).intervalMinutes;

/** How often the allocation job runs (EventBridge schedule on AWS, a timer in the local runtime). */
export const ALLOCATION_SCHEDULE = {
  id: 'AllocationSchedule',
  description: 'Runs the allocation job once per forecast interval.',
  rateMinutes: DEFAULT_INTERVAL_MINUTES,
  target: 'allocationRun',
} as const satisfies {
  readonly id: string;
  readonly description: string;
  readonly rateMinutes: number;
  readonly target: AllocationFunctionName;
};

/** Powertools service name of the job's logs and metrics (telemetryFor('allocation')). */
export const ALLOCATION_SERVICE = 'flowtune-allocation';
