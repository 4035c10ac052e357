import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { ExecutionDescription } from '../asl-runner';
import type { LocalEvent } from '../event-router';
import type { LocalRuntime } from '../runtime';
import type { DriverLog } from './driver';
import type { PlannedItem, WorkloadPlan } from './plan';

/**
 * The ledger: where every planned item ended, read from the runtime's own records (executions,
 * the Audit table, the events on the bus), never from what the driver believes it did. An item
 * is accounted for when it is completed, rejected with a reason, cancelled, closed by a person,
 * or parked in the human exception queue; anything else is lost.
 */

/** One audit record as stored, every attribute kept (the ASL writes some the ports do not read). */
export const RawAuditRecord = z.looseObject({
  itemId: z.string(),
  recordKey: z.string(),
  kind: z.string(),
  at: z.string(),
  actor: z.string(),
  attempt: z.number().optional(),
  details: z.string().optional(),
  inputs: z.string().optional(),
  explanation: z.string().optional(),
  agentId: z.string().optional(),
  reason: z.string().optional(),
  field: z.string().optional(),
  path: z.string().optional(),
  policyVersion: z.string().optional(),
  modelVersion: z.string().optional(),
});
export type RawAuditRecord = z.infer<typeof RawAuditRecord>;

/** Reads the whole Audit table, grouped by item id, each trail in record-key (time) order. */
export async function readAuditTable(runtime: LocalRuntime): Promise<Map<string, RawAuditRecord[]>> {
  const byItem = new Map<string, RawAuditRecord[]>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await runtime.documentClient.send(
      new ScanCommand({ TableName: runtime.tables.auditTable, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const record = RawAuditRecord.parse(item);
      const trail = byItem.get(record.itemId) ?? [];
      trail.push(record);
      byItem.set(record.itemId, trail);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  for (const trail of byItem.values()) trail.sort((a, b) => a.recordKey.localeCompare(b.recordKey));
  return byItem;
}

export const FINAL_STATES = ['completed', 'rejected', 'cancelled', 'closed', 'exception', 'lost'] as const;
export type FinalState = (typeof FINAL_STATES)[number];

export interface ItemOutcome {
  readonly itemId: string;
  readonly category: string;
  readonly slaGroup: PlannedItem['slaGroup'];
  readonly plannedFate: PlannedItem['fate'];
  readonly final: FinalState;
  /** Why it is in that state: the rejection reason, the exception, or what it is stuck on. */
  readonly reason: string;
  /** Simulated epoch ms. */
  readonly createdAt?: number;
  readonly completedAt?: number;
  /** Simulated epoch ms of the first routing decision. */
  readonly firstRoutedAt?: number;
  /** Simulated epoch ms of the item's last audit record (when it reached where it is). */
  readonly lastRecordAt?: number;
  /** Created → first routed (the wait the customer sees before someone has the item). */
  readonly waitSeconds?: number;
  /** Enqueued → routed for the attempt that completed (the dispatcher's queue wait). */
  readonly queueWaitSeconds?: number;
  readonly handleSeconds?: number;
  readonly cycleSeconds?: number;
  readonly slaMet?: boolean;
  readonly path?: string;
  readonly handledBy?: string;
  /** ROUTED audit records (one per attempt that reached an agent). */
  readonly routings: number;
  readonly reroutes: number;
  readonly escalated: boolean;
  readonly humanReview: boolean;
  readonly duplicateCreatedIgnored: number;
  readonly duplicateCompletionsIgnored: number;
  readonly earlyCompletion: boolean;
  /** For a rejection: the field the system named. */
  readonly rejectedField?: string;
  /** Breaches of "exactly one routing decision per attempt", described. */
  readonly routingViolations: readonly string[];
}

const EXCEPTION_STATE = 'Wait For Exception Resolution';

const parseJson = (text: string | undefined): Record<string, unknown> => {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const numberOf = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Counts per attempt of one kind of record, for the exactly-once checks. */
function perAttempt(trail: readonly RawAuditRecord[], kind: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const record of trail) {
    if (record.kind !== kind) continue;
    const attempt = record.attempt ?? numberOf(parseJson(record.details).attempt) ?? 0;
    counts.set(attempt, (counts.get(attempt) ?? 0) + 1);
  }
  return counts;
}

/** Attempt of a ROUTED record: the ASL writes it into the record key (`<routedAt>#ROUTED#<attempt>`). */
function routedAttempt(record: RawAuditRecord): number {
  const attempt = Number(record.recordKey.split('#')[2]);
  return Number.isInteger(attempt) ? attempt : 0;
}

export interface LedgerInput {
  readonly plan: WorkloadPlan;
  readonly log: DriverLog;
  readonly audit: ReadonlyMap<string, readonly RawAuditRecord[]>;
  /** The runtime's executions by name. */
  readonly executions: ReadonlyMap<string, ExecutionDescription>;
  /** Execution ARNs parked in the human exception queue. */
  readonly parkedForPeople: ReadonlySet<string>;
  /** Where each RUNNING execution is (state name), for the "lost" reason. */
  readonly currentState?: (itemId: string) => string | undefined;
  /** Every WorkItemRouted Flowtune emitted. */
  readonly routedEvents: readonly LocalEvent[];
}

/**
 * Classifies every planned item from the runtime's records. Pure over its input.
 *
 * @example
 * const outcomes = classifyItems({ plan, log, audit, executions, parkedForPeople, routedEvents });
 * outcomes.filter((outcome) => outcome.final === 'lost'); // [] when nothing was lost
 */
export function classifyItems(input: LedgerInput): ItemOutcome[] {
  const routedEventsPerAttempt = new Map<string, number>();
  for (const event of input.routedEvents) {
    const detail = event.detail as { id?: unknown; attempt?: unknown };
    const key = `${String(detail.id)}#${String(detail.attempt)}`;
    routedEventsPerAttempt.set(key, (routedEventsPerAttempt.get(key) ?? 0) + 1);
  }

  return input.plan.items.map((item): ItemOutcome => {
    const malformed = input.log.malformedSent.get(item.itemId);
    // A malformed id cannot key the trail: intake files it under `unidentified#<eventId>`.
    const trail =
      input.audit.get(item.itemId) ??
      (malformed === undefined ? undefined : input.audit.get(`unidentified#${malformed.eventId}`)) ??
      [];
    const kinds = new Set(trail.map((record) => record.kind));
    const execution = input.executions.get(item.itemId);
    const createdAt = input.log.createdAt.get(item.itemId);
    const completed = trail.find((record) => record.kind === 'COMPLETED');
    const completedDetails = parseJson(completed?.details);
    const rejected = trail.find((record) => record.kind === 'REJECTED');
    const rejectedDetails = parseJson(rejected?.details);
    const rejectedField =
      rejected?.field ?? (typeof rejectedDetails.field === 'string' ? rejectedDetails.field : undefined);
    const rejectedReason =
      rejected?.reason ?? (typeof rejectedDetails.reason === 'string' ? rejectedDetails.reason : undefined);

    const violations: string[] = [];
    const routedAudits = new Map<number, number>();
    for (const record of trail.filter((entry) => entry.kind === 'ROUTED')) {
      const attempt = routedAttempt(record);
      routedAudits.set(attempt, (routedAudits.get(attempt) ?? 0) + 1);
    }
    for (const [attempt, count] of routedAudits)
      if (count > 1) violations.push(`${count} ROUTED records for attempt ${attempt}`);
    for (const [attempt, count] of perAttempt(trail, 'ASSIGNED'))
      if (count > 1) violations.push(`${count} ASSIGNED records for attempt ${attempt}`);
    for (const attempt of routedAudits.keys()) {
      const events = routedEventsPerAttempt.get(`${item.itemId}#${attempt}`) ?? 0;
      if (events !== 1) violations.push(`${events} WorkItemRouted events for attempt ${attempt}`);
    }

    let final: FinalState;
    let reason: string;
    if (execution === undefined) {
      if (rejected !== undefined) {
        final = 'rejected';
        reason = `${rejectedField ?? '?'}: ${rejectedReason ?? 'rejected'}`;
      } else if (createdAt === undefined) {
        final = 'lost';
        reason = 'never sent (the run stopped early)';
      } else {
        final = 'lost';
        reason = 'no execution and no rejection record';
      }
    } else if (execution.status === 'SUCCEEDED') {
      if (isRejectedOutcome(execution.output)) {
        final = rejected === undefined ? 'lost' : 'rejected';
        reason =
          rejected === undefined
            ? 'rejected without a REJECTED record'
            : `${rejectedField ?? '?'}: ${rejectedReason ?? 'rejected'}`;
      } else if (kinds.has('COMPLETED')) {
        final = 'completed';
        reason = String(completedDetails.outcome ?? 'completed');
      } else if (kinds.has('CANCELLED')) {
        final = 'cancelled';
        reason = 'cancelled by its producer';
      } else if (kinds.has('RESOLVED')) {
        final = 'closed';
        reason = 'closed by a person';
      } else {
        final = 'lost';
        reason = 'execution succeeded without a COMPLETED, CANCELLED or RESOLVED record';
      }
    } else if (execution.status === 'FAILED' && execution.error === 'WorkItemRejected') {
      final = rejected === undefined ? 'lost' : 'rejected';
      reason =
        rejected === undefined
          ? 'rejected without a REJECTED record'
          : `${rejectedField ?? '?'}: ${rejectedReason ?? 'rejected'}`;
    } else if (execution.status === 'RUNNING' && input.parkedForPeople.has(execution.executionArn)) {
      const escalated = trail.find((record) => record.kind === 'ESCALATED');
      const exception = [...trail].reverse().find((record) => record.kind === 'EXCEPTION');
      const why =
        escalated === undefined
          ? (exception?.reason ?? String(parseJson(exception?.details).reason ?? 'an unexpected error'))
          : `escalated after ${routedAudits.size} attempt(s) (${escalated.reason ?? 'timeout'})`;
      final = 'exception';
      reason = `in the exception queue: ${why}`;
    } else if (execution.status === 'FAILED' && execution.error === 'ExceptionUnresolved') {
      final = 'exception';
      reason = 'exception left unresolved (ExceptionUnresolved)';
    } else {
      final = 'lost';
      const where = input.currentState?.(item.itemId);
      reason = `execution ${execution.status}${execution.error ? ` (${execution.error})` : ''}${where ? ` at "${where}"` : ''}`;
    }

    const slaMet = typeof completedDetails.slaMet === 'boolean' ? completedDetails.slaMet : undefined;
    const completedAt = completed === undefined ? undefined : Date.parse(completed.at);
    const queueWaitSeconds = numberOf(completedDetails.waitSeconds);
    const routedTimes = trail
      .filter((record) => record.kind === 'ROUTED')
      .map((record) => Date.parse(record.recordKey.split('#')[0] ?? ''))
      .filter(Number.isFinite);
    const firstRoutedAt = routedTimes.length === 0 ? undefined : Math.min(...routedTimes);
    const waitSeconds =
      firstRoutedAt === undefined || createdAt === undefined
        ? undefined
        : Math.max(0, (firstRoutedAt - createdAt) / 1000);
    const lastRecord = trail.at(-1);
    const lastRecordAt = lastRecord === undefined ? undefined : Date.parse(lastRecord.at);
    const handleSeconds = numberOf(completedDetails.handleSeconds);
    const cycleSeconds = numberOf(completedDetails.cycleSeconds);
    const path = typeof completedDetails.path === 'string' ? completedDetails.path : undefined;
    const handledBy = typeof completedDetails.handledBy === 'string' ? completedDetails.handledBy : undefined;
    const count = (kind: string) => trail.filter((record) => record.kind === kind).length;
    return {
      itemId: item.itemId,
      category: item.category,
      slaGroup: item.slaGroup,
      plannedFate: item.fate,
      final,
      reason,
      ...(createdAt === undefined ? {} : { createdAt }),
      ...(completedAt === undefined ? {} : { completedAt }),
      ...(firstRoutedAt === undefined ? {} : { firstRoutedAt }),
      ...(lastRecordAt === undefined ? {} : { lastRecordAt }),
      ...(waitSeconds === undefined ? {} : { waitSeconds }),
      ...(queueWaitSeconds === undefined ? {} : { queueWaitSeconds }),
      ...(handleSeconds === undefined ? {} : { handleSeconds }),
      ...(cycleSeconds === undefined ? {} : { cycleSeconds }),
      ...(slaMet === undefined ? {} : { slaMet }),
      ...(path === undefined ? {} : { path }),
      ...(handledBy === undefined ? {} : { handledBy }),
      routings:
        routedAudits.size === 0 ? 0 : [...routedAudits.values()].reduce((sum, value) => sum + value, 0),
      reroutes: count('REROUTED'),
      escalated: kinds.has('ESCALATED'),
      humanReview: kinds.has('HUMAN_REVIEW_REQUESTED'),
      duplicateCreatedIgnored: count('DUPLICATE'),
      duplicateCompletionsIgnored: count('DUPLICATE_COMPLETION'),
      earlyCompletion: kinds.has('EARLY_COMPLETION'),
      ...(rejectedField === undefined ? {} : { rejectedField }),
      routingViolations: violations,
    };
  });
}

/** Reads everything the ledger needs from a runtime and classifies the plan's items. */
export async function buildLedger(
  runtime: LocalRuntime,
  plan: WorkloadPlan,
  log: DriverLog,
): Promise<{ readonly outcomes: ItemOutcome[]; readonly audit: Map<string, RawAuditRecord[]> }> {
  const audit = await readAuditTable(runtime);
  const executions = new Map(runtime.executions().map((execution) => [execution.name, execution]));
  const parkedForPeople = new Set(
    runtime.tokens.pending({ stateName: EXCEPTION_STATE }).map((wait) => wait.executionArn),
  );
  const currentState = (itemId: string): string | undefined => {
    if (!runtime.runner.hasExecution(itemId)) return undefined;
    const history = runtime.runner.getExecutionHistory(itemId);
    const entered = [...history].reverse().find((event) => event.type === 'StateEntered');
    return entered?.type === 'StateEntered' ? entered.state.name : undefined;
  };
  const outcomes = classifyItems({
    plan,
    log,
    audit,
    executions,
    parkedForPeople,
    currentState,
    routedEvents: runtime.emittedEvents('WorkItemRouted'),
  });
  return { outcomes, audit };
}

/** The output of an execution that ended in the ASL's "Rejected" state (an answered outcome, not a failure). */
export function isRejectedOutcome(output: unknown): boolean {
  return (
    typeof output === 'object' && output !== null && (output as { outcome?: unknown }).outcome === 'rejected'
  );
}
