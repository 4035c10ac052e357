/**
 * Cost per work item: what one item costs Flowtune to process on AWS, from the three things AWS
 * bills per item — Step Functions state transitions, Lambda invocations (requests and GB-seconds)
 * and requests to DynamoDB, EventBridge and SQS. Pure: the caller passes the state machine
 * definition, the function sizes and the prices.
 *
 * The model is used twice: `estimateItemCost` prices one path through the definition a priori
 * (docs/operations.md has the table), and the dashboard's "Cost per item" widget applies the same
 * prices to measured usage (Lambda, DynamoDB and SQS metrics) plus the transitions and events this
 * module counts on the definition, divided by items finished.
 */

/** List prices, USD, us-east-1, on-demand, without free tier. Check them before relying on them. */
export interface Prices {
  readonly asOf: string;
  readonly region: string;
  /** Step Functions Standard, per state transition. */
  readonly stateTransition: number;
  /** Lambda, per request. */
  readonly lambdaRequest: number;
  /** Lambda on arm64 (Graviton), per GB-second. */
  readonly lambdaArmGbSecond: number;
  /** DynamoDB on-demand, per write request unit (1 KB). */
  readonly dynamoDbWriteUnit: number;
  /** DynamoDB on-demand, per read request unit (4 KB, strongly consistent). */
  readonly dynamoDbReadUnit: number;
  /** EventBridge, per custom event published (64 KB chunk). */
  readonly eventBridgeEvent: number;
  /** SQS standard queue, per request (64 KB chunk). */
  readonly sqsStandardRequest: number;
  /** SQS FIFO queue, per request. */
  readonly sqsFifoRequest: number;
}

export const AWS_LIST_PRICES: Prices = {
  asOf: '2026-11',
  region: 'us-east-1',
  stateTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
  dynamoDbWriteUnit: 0.625 / 1_000_000,
  dynamoDbReadUnit: 0.125 / 1_000_000,
  eventBridgeEvent: 1 / 1_000_000,
  sqsStandardRequest: 0.4 / 1_000_000,
  sqsFifoRequest: 0.5 / 1_000_000,
};

/** Billable usage of one item. */
export interface ItemUsage {
  readonly stateTransitions: number;
  readonly lambdaInvocations: number;
  readonly lambdaGbSeconds: number;
  readonly dynamoDbWriteUnits: number;
  readonly dynamoDbReadUnits: number;
  readonly events: number;
  readonly sqsStandardRequests: number;
  readonly sqsFifoRequests: number;
}

export interface ItemCost {
  readonly totalUsd: number;
  readonly byService: {
    readonly stepFunctions: number;
    readonly lambda: number;
    readonly dynamoDb: number;
    readonly eventBridge: number;
    readonly sqs: number;
  };
}

/**
 * Prices a usage.
 *
 * @example
 * itemCost({ ...ZERO_USAGE, stateTransitions: 10 }).totalUsd; // 0.00025
 */
export function itemCost(usage: ItemUsage, prices: Prices = AWS_LIST_PRICES): ItemCost {
  const byService = {
    stepFunctions: usage.stateTransitions * prices.stateTransition,
    lambda: usage.lambdaInvocations * prices.lambdaRequest + usage.lambdaGbSeconds * prices.lambdaArmGbSecond,
    dynamoDb:
      usage.dynamoDbWriteUnits * prices.dynamoDbWriteUnit + usage.dynamoDbReadUnits * prices.dynamoDbReadUnit,
    eventBridge: usage.events * prices.eventBridgeEvent,
    sqs:
      usage.sqsStandardRequests * prices.sqsStandardRequest + usage.sqsFifoRequests * prices.sqsFifoRequest,
  };
  const totalUsd = Object.values(byService).reduce((sum, value) => sum + value, 0);
  return { totalUsd, byService };
}

export const ZERO_USAGE: ItemUsage = {
  stateTransitions: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  dynamoDbWriteUnits: 0,
  dynamoDbReadUnits: 0,
  events: 0,
  sqsStandardRequests: 0,
  sqsFifoRequests: 0,
};

/** The part of an ASL document the model reads. */
export interface AslDocument {
  readonly States: Readonly<
    Record<
      string,
      {
        readonly Type: string;
        readonly Resource?: string;
        readonly Parameters?: Readonly<Record<string, unknown>>;
        readonly Next?: string;
        readonly Default?: string;
        readonly Choices?: readonly { readonly Next: string }[];
      }
    >
  >;
}

/** Paths through the process-instance definition that the cost table prices. */
export const PROCESS_PATHS = {
  routing: [
    'Validate Item',
    'Is Valid?',
    'Score Item',
    'Decide Path',
    'Wait For Assignment',
    'Plan Completion Wait',
    'Emit Routed',
    'Audit Routing',
    'Wait For Completion',
    'Record Outcome',
    'Completed',
  ],
  automation: [
    'Validate Item',
    'Is Valid?',
    'Score Item',
    'Decide Path',
    'Assign To Automation',
    'Plan Completion Wait',
    'Emit Routed',
    'Audit Routing',
    'Wait For Completion',
    'Record Outcome',
    'Completed',
  ],
  humanReviewApproved: [
    'Validate Item',
    'Is Valid?',
    'Score Item',
    'Decide Path',
    'Human Review',
    'Review Decision',
    'Plan Assignment Wait',
    'Wait For Assignment',
    'Plan Completion Wait',
    'Emit Routed',
    'Audit Routing',
    'Wait For Completion',
    'Record Outcome',
    'Completed',
  ],
  humanReviewOverridden: [
    'Validate Item',
    'Is Valid?',
    'Score Item',
    'Decide Path',
    'Human Review',
    'Review Decision',
    'Apply Override',
    'Plan Completion Wait',
    'Emit Routed',
    'Audit Routing',
    'Wait For Completion',
    'Record Outcome',
    'Completed',
  ],
} as const satisfies Record<string, readonly string[]>;
export type ProcessPath = keyof typeof PROCESS_PATHS;

/** What the definition itself spends along a path. */
export interface DefinitionUsage {
  readonly stateTransitions: number;
  /** Lambda tasks (direct ARN or lambda:invoke). */
  readonly lambdaTasks: readonly string[];
  readonly dynamoDbWrites: number;
  readonly eventsPublished: number;
  readonly sqsFifoSends: number;
}

/** Thrown when a path does not follow the definition's transitions. */
export class PathNotInDefinitionError extends Error {
  override readonly name = 'PathNotInDefinitionError';
}

/**
 * Walks `path` through the definition, checking every step is a real transition, and counts
 * what Step Functions bills: one transition per state entered, and each service integration.
 *
 * @example
 * definitionUsage(asl, PROCESS_PATHS.routing).stateTransitions; // 10
 */
export function definitionUsage(asl: AslDocument, path: readonly string[]): DefinitionUsage {
  const lambdaTasks: string[] = [];
  let dynamoDbWrites = 0;
  let eventsPublished = 0;
  let sqsFifoSends = 0;
  path.forEach((name, index) => {
    const state = asl.States[name];
    if (state === undefined) throw new PathNotInDefinitionError(`state "${name}" is not in the definition`);
    const next = path[index + 1];
    if (next !== undefined) {
      const targets = [state.Next, state.Default, ...(state.Choices ?? []).map((choice) => choice.Next)];
      if (!targets.includes(next)) {
        throw new PathNotInDefinitionError(`"${name}" has no transition to "${next}"`);
      }
    }
    const resource = state.Resource ?? '';
    if (state.Type !== 'Task') return;
    if (resource.startsWith('arn:aws:states:::dynamodb:')) dynamoDbWrites += 1;
    else if (resource === 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems') {
      // A transaction bills two write units per item it writes.
      const items = state.Parameters?.TransactItems;
      dynamoDbWrites += 2 * (Array.isArray(items) ? items.length : 1);
    } else if (resource.startsWith('arn:aws:states:::events:putEvents')) eventsPublished += 1;
    else if (resource.startsWith('arn:aws:states:::sqs:sendMessage')) sqsFifoSends += 1;
    else if (resource.startsWith('arn:aws:states:::lambda:invoke')) {
      lambdaTasks.push(String(state.Parameters?.FunctionName ?? name));
    } else lambdaTasks.push(resource);
  });
  return { stateTransitions: path.length, lambdaTasks, dynamoDbWrites, eventsPublished, sqsFifoSends };
}

/**
 * What the handlers spend per item beside the definition's own integrations, as documented
 * estimates (docs/operations.md explains each). Override any of them to price another workload.
 */
export interface HandlerAssumptions {
  /** Mean billed duration per invocation, ms. */
  readonly meanDurationMs: number;
  /** Mean memory of the invoked functions, MB. */
  readonly meanMemoryMb: number;
  /** Items per intake batch (SQS batch size under load). */
  readonly intakeBatchSize: number;
  /** Items per dispatch round (the dispatcher's invocations are shared by a round). */
  readonly itemsPerDispatchRound: number;
  /** Write units per audit record (explanations make them 1–3 KB). */
  readonly auditRecordWriteUnits: number;
  /** DynamoDB write units the handlers spend per item (instance transitions, claim and release transactions, statistics, audit). */
  readonly handlerWriteUnits: number;
  /** Read units per item (features, agents, instance reads). */
  readonly handlerReadUnits: number;
  /** Inbound events per item (WorkItemCreated, WorkItemCompleted), billed to their producer's bus. */
  readonly inboundEvents: number;
}

export const DEFAULT_ASSUMPTIONS: HandlerAssumptions = {
  meanDurationMs: 60,
  meanMemoryMb: 576,
  intakeBatchSize: 10,
  itemsPerDispatchRound: 5,
  auditRecordWriteUnits: 2,
  // score 1 + audit 2; dispatcher enqueue 1 + claim transaction 4 + audit 2; park 1 + audit 2;
  // completion 1 + audit 2; record-outcome release 4 + close 1 + statistics 3 + audit 2.
  handlerWriteUnits: 26,
  // score: agents, statistics, policy; dispatcher round share; completion and outcome reads.
  handlerReadUnits: 8,
  inboundEvents: 2,
};

/**
 * The usage of one item that follows `path`: the definition's transitions and integrations,
 * plus the handlers' invocations and requests under `assumptions`.
 */
export function estimateUsage(
  asl: AslDocument,
  path: readonly string[],
  assumptions: HandlerAssumptions = DEFAULT_ASSUMPTIONS,
): ItemUsage {
  const definition = definitionUsage(asl, path);
  const dispatched = path.includes('Wait For Assignment');
  // Event-driven invocations beside the definition's tasks: intake (per batch), completion,
  // and a share of a dispatch round when the item waits for the dispatcher.
  const lambdaInvocations =
    definition.lambdaTasks.length +
    1 / assumptions.intakeBatchSize +
    1 +
    (dispatched ? 1 / assumptions.itemsPerDispatchRound : 0);
  const lambdaGbSeconds =
    lambdaInvocations * (assumptions.meanDurationMs / 1000) * (assumptions.meanMemoryMb / 1024);
  return {
    stateTransitions: definition.stateTransitions,
    lambdaInvocations,
    lambdaGbSeconds,
    // Audit Routing writes the largest record of the definition; other native writes are small.
    dynamoDbWriteUnits:
      definition.dynamoDbWrites * assumptions.auditRecordWriteUnits + assumptions.handlerWriteUnits,
    dynamoDbReadUnits: assumptions.handlerReadUnits,
    events: definition.eventsPublished + assumptions.inboundEvents,
    // The intake queue: the rule's send, the poller's receive and delete (batched).
    sqsStandardRequests: 1 + 2 / assumptions.intakeBatchSize,
    // The dispatch queue: the definition's send, and its receive and delete per round.
    sqsFifoRequests: definition.sqsFifoSends + (dispatched ? 2 / assumptions.itemsPerDispatchRound : 0),
  };
}

/**
 * One priced path, for the cost table.
 *
 * @example
 * estimateItemCost(asl, 'routing').cost.totalUsd; // ≈ 0.00027
 */
export function estimateItemCost(
  asl: AslDocument,
  path: ProcessPath,
  assumptions: HandlerAssumptions = DEFAULT_ASSUMPTIONS,
  prices: Prices = AWS_LIST_PRICES,
): { readonly path: ProcessPath; readonly usage: ItemUsage; readonly cost: ItemCost } {
  const usage = estimateUsage(asl, PROCESS_PATHS[path], assumptions);
  return { path, usage, cost: itemCost(usage, prices) };
}
