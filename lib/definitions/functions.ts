import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE, type TableDefinition } from './tables';

/**
 * The one definition of every Lambda: the CDK orchestration construct builds a NodejsFunction
 * from each, and the local runtime imports the same handler module in-process.
 */

export type TableAccess = 'read' | 'readWrite';

/**
 * A function's reserved concurrency, or why it has none (checkov CKV_AWS_115 asks every function
 * for one). A reserved limit is taken out of the account's pool for good and throttles beyond it,
 * so it is set only where it protects something downstream; the reason otherwise becomes the
 * function's checkov skip.
 */
export type ConcurrencyDecision =
  | { readonly reserved: number; readonly protects: string }
  | { readonly unreserved: string };

/** Why the process's per-item task functions have no reserved concurrency. */
export const PER_ITEM_TASK_CONCURRENCY: ConcurrencyDecision = {
  unreserved:
    'Invoked synchronously by a state machine once per work item in flight: its concurrency follows the executions, which the intake bounds at the source (the intake event source mapping caps its concurrency); a reserved limit would only turn load into throttling retries inside every execution.',
};

/** Why functions that EventBridge invokes once per event have no reserved concurrency. */
export const PER_EVENT_CONCURRENCY: ConcurrencyDecision = {
  unreserved:
    'Invoked asynchronously once per event by an EventBridge rule; each call makes a few conditional single-item writes on on-demand tables and SDK-retried API calls, so no downstream needs shielding, and a reserved limit would hold events back in the asynchronous queue and take capacity out of the account pool.',
};

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
  /** Pseudonymises personal identifiers, so it may read the pseudonym key secret (PSEUDONYM_KEY_SECRET_ID). */
  readonly pseudonymises: boolean;
  /** ASL placeholder for this function's ARN, when the state machine invokes it. */
  readonly placeholder?: string;
  /** Reserved concurrency, or why none. */
  readonly concurrency: ConcurrencyDecision;
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
    concurrency: {
      unreserved:
        "Fed by the intake queue's event source mapping, whose maximum concurrency (QUEUES.intake.maxConcurrency) caps it and so shields Step Functions StartExecution and the Audit table; AWS advises that cap for SQS consumers, because a reserved limit throttles the pollers' batches and counts them as failed receives that end in the DLQ.",
    },
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
    concurrency: PER_ITEM_TASK_CONCURRENCY,
    entry: 'lambdas/validate/handler.ts',
    description: 'Validates a WorkItemCreated detail against its schema and names the first bad field.',
    tables: [],
    pseudonymises: true,
    placeholder: 'ValidateFunctionArn',
  },
  score: {
    ...base,
    id: 'ScoreItem',
    concurrency: PER_ITEM_TASK_CONCURRENCY,
    entry: 'lambdas/score/handler.ts',
    description:
      'Scores an item from the feature store: predicted handling time, SLA and escalation risk, confidence, decision path.',
    tables: [ro(FEATURES_TABLE), rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    placeholder: 'ScoreFunctionArn',
  },
  planWait: {
    ...base,
    id: 'PlanWait',
    entry: 'lambdas/plan-wait/handler.ts',
    description:
      "Bounds the next wait by the item's own SLA clock (seconds left to its deadline under the policy) and decides re-route or escalation after a missed completion window.",
    tables: [],
    memorySize: 256,
    concurrency: PER_ITEM_TASK_CONCURRENCY,
    placeholder: 'PlanWaitFunctionArn',
  },
  dispatcher: {
    ...base,
    id: 'Dispatcher',
    concurrency: {
      unreserved:
        'Fed by the dispatch FIFO queue, whose single message group lets one batch, so one dispatch round, be in flight at a time; the event source mapping caps its pollers too, so a reserved limit would add nothing but throttling.',
    },
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
    concurrency: PER_ITEM_TASK_CONCURRENCY,
    entry: 'lambdas/park/handler.ts',
    description:
      "Stores a waiting execution's task token on its instance (completion, human review, exception) and resumes at once if the awaited event already arrived.",
    tables: [ro(FEATURES_TABLE), rw(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    resumesExecutions: true,
    placeholder: 'ParkFunctionArn',
  },
  ingress: {
    ...base,
    id: 'Ingress',
    concurrency: PER_EVENT_CONCURRENCY,
    entry: 'lambdas/ingress/handler.ts',
    description:
      "Inbound bus to Flowtune's bus: pseudonymises each producer event's personal data before anything stores it (archive, queues, tables).",
    tables: [],
    putsEvents: true,
    pseudonymises: true,
  },
  completion: {
    ...base,
    id: 'Completion',
    concurrency: PER_EVENT_CONCURRENCY,
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
    concurrency: PER_EVENT_CONCURRENCY,
    entry: 'lambdas/agent-status/handler.ts',
    description:
      'AgentStatusChanged: updates the agent in the feature store, ends the completion waits of an agent who went offline (re-routed per the policy) and triggers a dispatch round.',
    tables: [rw(FEATURES_TABLE), ro(INSTANCES_TABLE), rw(AUDIT_TABLE)],
    putsEvents: true,
    triggersDispatch: true,
    // An agent who goes offline: each item waiting for their completion is released for a re-route.
    resumesExecutions: true,
    pseudonymises: true,
  },
  recordOutcome: {
    ...base,
    id: 'RecordOutcome',
    concurrency: PER_ITEM_TASK_CONCURRENCY,
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
    concurrency: {
      unreserved:
        'Invoked by the operations API, whose stage throttling (requestsPerSecond, burst twice that) bounds it, and by the once-a-minute backlog snapshot schedule; a reserved limit would add a second, less visible throttle and take capacity out of the account pool.',
    },
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

/** Carries a deployment's personal-data rules (JSON) to the functions that pseudonymise; absent: the default. */
export const PERSONAL_DATA_ENV = 'PERSONAL_DATA_RULES';

/** Environment variable names shared by the CDK wiring and the handlers' env parsing. */
export const ENV = {
  eventBusName: 'EVENT_BUS_NAME',
  stateMachineArn: 'STATE_MACHINE_ARN',
  dispatchQueueUrl: 'DISPATCH_QUEUE_URL',
  featuresTable: FEATURES_TABLE.envVar,
  instancesTable: INSTANCES_TABLE.envVar,
  auditTable: AUDIT_TABLE.envVar,
  /** The pseudonym key's secret (its ARN; an emulator's Ref gives its name): the key itself is read at run time, never put in the environment. */
  pseudonymKeySecretId: 'PSEUDONYM_KEY_SECRET_ID',
} as const;
