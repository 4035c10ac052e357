import { FLOWTUNE_SOURCE, INBOUND_EVENTS } from '../../domain/events';
import type { FunctionName } from './functions';

/**
 * The one definition of every EventBridge rule: the CDK ingest construct creates these rules
 * and the local runtime's event router matches events with the very same patterns.
 */

/** An EventBridge event pattern (the subset of the pattern language Flowtune uses and the local matcher implements). */
export type EventPattern = { readonly [field: string]: EventPattern | readonly PatternValue[] };
export type PatternValue =
  | string
  | number
  | boolean
  | null
  | { readonly 'anything-but': string | number | readonly (string | number)[] }
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly exists: boolean }
  | { readonly 'equals-ignore-case': string }
  | { readonly wildcard: string }
  | { readonly numeric: readonly (string | number)[] };

export type RuleTarget =
  | { readonly kind: 'queue'; readonly queue: QueueName }
  | { readonly kind: 'function'; readonly fn: FunctionName };

export interface RuleDefinition {
  readonly id: string;
  readonly description: string;
  readonly pattern: EventPattern;
  readonly target: RuleTarget;
}

/** Events Flowtune emits itself never re-enter its inbound rules. */
const fromProducers = { source: [{ 'anything-but': FLOWTUNE_SOURCE }] } as const;

const KNOWN_INBOUND = Object.keys(INBOUND_EVENTS);

export const RULES = {
  workItemCreated: {
    id: 'WorkItemCreatedToIntake',
    description:
      'New work items go through the intake queue (backpressure on bursts) to start one execution each.',
    pattern: { ...fromProducers, 'detail-type': ['WorkItemCreated'] },
    target: { kind: 'queue', queue: 'intake' },
  },
  unknownDetailType: {
    id: 'UnknownDetailTypeToIntake',
    description:
      'Events of a detail-type Flowtune does not know are kept and rejected with a reason, never dropped.',
    pattern: { ...fromProducers, 'detail-type': [{ 'anything-but': KNOWN_INBOUND }] },
    target: { kind: 'queue', queue: 'intake' },
  },
  workItemFinished: {
    id: 'WorkItemFinishedToCompletion',
    description: 'Completions and cancellations resume the waiting execution.',
    pattern: { ...fromProducers, 'detail-type': ['WorkItemCompleted', 'WorkItemCancelled'] },
    target: { kind: 'function', fn: 'completion' },
  },
  agentStatusChanged: {
    id: 'AgentStatusChangedToFeatures',
    description: 'Agent status changes update the feature store and trigger a dispatch round.',
    pattern: { ...fromProducers, 'detail-type': ['AgentStatusChanged'] },
    target: { kind: 'function', fn: 'agentStatus' },
  },
} as const satisfies Record<string, RuleDefinition>;

/**
 * Rules of the inbound bus, where producers put their events. Its one rule hands every event to
 * the ingress function, which pseudonymises the personal data (docs/reliability.md, "Personal
 * data") and puts the result on Flowtune's bus, whose RULES, archive and queues therefore never
 * hold a declared personal-data field in clear. Nothing else reads the inbound bus.
 */
export const INBOUND_RULES = {
  inboundToIngress: {
    id: 'InboundToIngress',
    description:
      "Every producer event goes through the ingress function (personal data pseudonymised) onto Flowtune's bus.",
    pattern: fromProducers,
    target: { kind: 'function', fn: 'ingress' },
  },
} as const satisfies Record<string, RuleDefinition>;

export type InboundRuleName = keyof typeof INBOUND_RULES;

export interface QueueDefinition {
  readonly id: string;
  readonly fifo: boolean;
  /** Consumer Lambda, wired by an event source mapping. */
  readonly consumer: FunctionName;
  readonly batchSize: number;
  /**
   * Concurrent invocations the event source mapping starts at most (2-1000): the cap that
   * shields what the consumer calls, which AWS advises over reserved concurrency for SQS.
   */
  readonly maxConcurrency: number;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
}

export const QUEUES = {
  intake: {
    id: 'IntakeQueue',
    fifo: false,
    consumer: 'intake',
    batchSize: 10,
    // Up to 100 StartExecution calls in flight: within Standard workflows' smallest regional
    // StartExecution refill (150/s), so a burst drains steadily instead of being throttled.
    maxConcurrency: 10,
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 5,
  },
  // FIFO with a single message group: dispatch rounds run one at a time, in order.
  dispatch: {
    id: 'DispatchQueue',
    fifo: true,
    consumer: 'dispatcher',
    batchSize: 10,
    // The minimum: the single message group keeps one batch in flight anyway.
    maxConcurrency: 2,
    visibilityTimeoutSeconds: 360,
    maxReceiveCount: 5,
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueName = keyof typeof QUEUES;

/** Message group of the dispatch FIFO queue: one group, so rounds never overlap. */
export const DISPATCH_MESSAGE_GROUP = 'dispatch-rounds';

/** Periodic dispatch tick, so waiting items are reconsidered even when no event arrives. */
export const DISPATCH_TICK_MINUTES = 1;
