import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE, type TableDefinition } from './tables';

/**
 * The one definition of every Lambda: the CDK orchestration construct builds a NodejsFunction
 * from each, and the local runtime imports the same handler module in-process.
 */

export type TableAccess = 'read' | 'readWrite';

export interface FunctionDefinition {
  /** Construct id (PascalCase). */
  readonly id: string;
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly tables: readonly { readonly table: TableDefinition; readonly access: TableAccess }[];
  readonly putsEvents: boolean;
  /** Calls SendTaskSuccess / SendTaskFailure on process-instance executions. */
  readonly resumesExecutions: boolean;
  /** Starts process-instance executions. */
  readonly startsExecutions: boolean;
  /** Sends dispatch-round triggers to the dispatch queue. */
  readonly triggersDispatch: boolean;
  /** Pseudonymises personal identifiers, so it receives PSEUDONYM_KEY. */
  readonly pseudonymises: boolean;
  /** ASL placeholder for this function's ARN, when the state machine invokes it. */
  readonly placeholder?: string;
}

const rw = (table: TableDefinition) => ({ table, access: 'readWrite' as const });
const ro = (table: TableDefinition) => ({ table, access: 'read' as const });

const base = {
  memorySize: 512,
  timeoutSeconds: 10,
  putsEvents: false,
  resumesExecutions: false,
  startsExecutions: false,
  triggersDispatch: false,
  pseudonymises: false,
} as const;

export const FUNCTIONS = {
  intake: {
    ...base,
    id: 'Intake',
    entry: 'lambdas/intake/handler.ts',
    description:
      'Drains the intake queue: starts one process-instance execution per work item (name = item id); records and announces events it cannot accept.',
    tables: [rw(AUDIT_TABLE)],
    putsEvents: true,
    startsExecutions: true,
    pseudonymises: true,
    timeoutSeconds: 30,
  },
  validate: {
    ...base,
    id: 'ValidateItem',
    entry: 'lambdas/validate/handler.ts',
    description: 'Validates a WorkItemCreated detail against its schema and names the first bad field.',
    tables: [],
    pseudonymises: true,
    placeholder: 'ValidateFunctionArn',
  },
  score: {
    ...base,
    id: 'ScoreItem',
    entry: 'lambdas/score/handler.ts',
    description:
      'Scores an item from the feature store: predicted handling time, SLA and escalation risk, confidence, decision path.',
    tables: [ro(FEATURES_TABLE), rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    placeholder: 'ScoreFunctionArn',
  },
  dispatcher: {
    ...base,
    id: 'Dispatcher',
    entry: 'lambdas/dispatcher/handler.ts',
    description:
      'Runs one dispatch round: assigns all waiting items to available agents as one problem and resumes their executions.',
    tables: [rw(FEATURES_TABLE), rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    // Policy approvals and rollbacks go through the policy store, which announces PolicyChanged.
    putsEvents: true,
    resumesExecutions: true,
    memorySize: 1024,
    timeoutSeconds: 60,
  },
  park: {
    ...base,
    id: 'ParkItem',
    entry: 'lambdas/park/handler.ts',
    description:
      "Stores a waiting execution's task token on its instance (completion, human review, exception) and resumes at once if the awaited event already arrived.",
    tables: [rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    resumesExecutions: true,
    placeholder: 'ParkFunctionArn',
  },
  completion: {
    ...base,
    id: 'Completion',
    entry: 'lambdas/completion/handler.ts',
    description: 'WorkItemCompleted / WorkItemCancelled: resumes the waiting execution exactly once.',
    tables: [rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    resumesExecutions: true,
    putsEvents: true,
    pseudonymises: true,
  },
  agentStatus: {
    ...base,
    id: 'AgentStatus',
    entry: 'lambdas/agent-status/handler.ts',
    description: 'AgentStatusChanged: updates the agent in the feature store and triggers a dispatch round.',
    tables: [rw(FEATURES_TABLE), rw(AUDIT_TABLE)],
    putsEvents: true,
    triggersDispatch: true,
    pseudonymises: true,
  },
  recordOutcome: {
    ...base,
    id: 'RecordOutcome',
    entry: 'lambdas/record-outcome/handler.ts',
    description:
      "Records an item's outcome: times, quality, online handling-time statistics, agent capacity released.",
    tables: [rw(FEATURES_TABLE), rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    triggersDispatch: true,
    placeholder: 'RecordOutcomeFunctionArn',
  },
  opsApi: {
    ...base,
    id: 'OpsApi',
    entry: 'lambdas/ops-api/handler.ts',
    description:
      'Operations API (item status and audit trail, bottlenecks, human tasks, approve / override / reject / appeal, policy proposals, tuning and staffing approvals) and the per-minute backlog snapshot.',
    // Overrides claim capacity (Features), move waits (Instances) and record every human action (Audit).
    // Staffing approvals are Features records too (pk ALLOCATION): no further table.
    tables: [rw(FEATURES_TABLE), rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    // Policy approvals and rollbacks go through the policy store, which announces PolicyChanged.
    putsEvents: true,
    resumesExecutions: true,
    // API Gateway gives up on an integration after 29 s.
    timeoutSeconds: 29,
  },
} as const satisfies Record<string, FunctionDefinition>;

export type FunctionName = keyof typeof FUNCTIONS;

/** Environment variable names shared by the CDK wiring and the handlers' env parsing. */
export const ENV = {
  eventBusName: 'EVENT_BUS_NAME',
  stateMachineArn: 'STATE_MACHINE_ARN',
  dispatchQueueUrl: 'DISPATCH_QUEUE_URL',
  featuresTable: FEATURES_TABLE.envVar,
  instancesTable: INSTANCES_TABLE.envVar,
  auditTable: AUDIT_TABLE.envVar,
  pseudonymKey: 'PSEUDONYM_KEY',
} as const;
