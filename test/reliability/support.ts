import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventEnvelope } from '../../domain/events';
import { createStream } from '../../domain/random';
import { PROJECT_ROOT } from '../../lib/definitions';
import { LOCAL_EVENT_BUS_NAME } from '../../local/local-names';
import type { LocalRuntime } from '../../local/runtime';

/** The local runtime's event fixtures (test/local/fixtures/events), detail only. */
export function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

/** The fixture work item under `id`, created now, for customer `customerId`. */
export function newWorkItem(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...fixtureDetail('work-item-created'),
    id,
    createdAt: new Date().toISOString(),
    customerId: `cust-${id}`,
    ...overrides,
  };
}

export async function bringAgentsOnline(runtime: LocalRuntime, agentIds: readonly string[], capacity = 3) {
  for (const agentId of agentIds) {
    await runtime.putEvent(
      'AgentStatusChanged',
      {
        ...fixtureDetail('agent-status-changed'),
        agentId,
        capacity,
        changedAt: new Date().toISOString(),
        shiftEndsAt: new Date(Date.now() + 8 * 3_600_000).toISOString(),
      },
      'workforce',
    );
  }
}

/**
 * Plays the executing system: completes every item Flowtune routes, after a seeded random delay
 * (so some completions overtake the completion wait), and sends a duplicate of some. Returns the
 * function that stops it.
 */
export function completeEveryRoutedItem(
  runtime: LocalRuntime,
  options: { readonly seed: number; readonly duplicateRate?: number; readonly maxDelayMs?: number },
): () => void {
  const random = createStream(options.seed, 'completer');
  return runtime.router.onEvent(({ event }) => {
    if (event.source !== 'flowtune' || event['detail-type'] !== 'WorkItemRouted') return;
    const routed = event.detail as { id: string; assignee: { agentId: string } };
    const completion = {
      id: routed.id,
      outcome: 'resolved',
      handledBy: routed.assignee.agentId,
      completedAt: new Date().toISOString(),
    };
    const copies = random.next() < (options.duplicateRate ?? 0) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const delay = Math.floor(random.next() * (options.maxDelayMs ?? 20));
      setTimeout(
        () => void runtime.putEvent('WorkItemCompleted', completion, 'helpdesk').catch(() => {}),
        delay,
      );
    }
  });
}

/**
 * What an operator does with docs/redrive.md, locally: every dead-lettered queue message goes
 * back to its queue and every failed rule delivery is put on the bus again. Returns how many.
 */
export async function redriveLocally(runtime: LocalRuntime): Promise<number> {
  let moved = 0;
  for (const queue of Object.values(runtime.queues)) {
    for (const dead of queue.deadLetters.splice(0)) {
      const { body, groupId, messageId } = dead.message;
      queue.send({
        body,
        ...(groupId === undefined ? {} : { groupId, deduplicationId: `${messageId}-redriven-${Date.now()}` }),
      });
      moved += 1;
    }
  }
  for (const failure of runtime.router.deliveryFailures.splice(0)) {
    const { event } = failure;
    await runtime.putEvents([
      {
        EventBusName: LOCAL_EVENT_BUS_NAME,
        Source: event.source,
        DetailType: event['detail-type'],
        Detail: JSON.stringify(event.detail),
      },
    ]);
    moved += 1;
  }
  return moved;
}

/** Where an item ended up, from its execution, its waits and its audit trail. */
export interface ItemAccount {
  readonly itemId: string;
  readonly status: string;
  /** The state the execution waits in, if it is still running. */
  readonly waitingIn?: string;
  readonly assigned: number;
  readonly routed: number;
  readonly routedEvents: number;
  readonly kinds: readonly string[];
}

export async function accountFor(runtime: LocalRuntime, itemIds: readonly string[]): Promise<ItemAccount[]> {
  const executions = new Map(runtime.executions().map((execution) => [execution.name, execution]));
  const routedEvents = runtime.emittedEvents('WorkItemRouted');
  const accounts: ItemAccount[] = [];
  for (const itemId of itemIds) {
    const execution = executions.get(itemId);
    const kinds = (await runtime.auditTrail(itemId)).map((record) => record.kind);
    const waits =
      execution === undefined ? [] : runtime.tokens.pending({ executionArn: execution.executionArn });
    accounts.push({
      itemId,
      status: execution?.status ?? 'NOT_STARTED',
      ...(waits[0] === undefined ? {} : { waitingIn: waits[0].stateName }),
      assigned: kinds.filter((kind) => kind === 'ASSIGNED').length,
      routed: kinds.filter((kind) => kind === 'ROUTED').length,
      routedEvents: routedEvents.filter((event) => (event.detail as { id?: unknown }).id === itemId).length,
      kinds,
    });
  }
  return accounts;
}

/** An item is accounted for when it finished, or waits for a person in the exception queue. */
export function isAccountedFor(account: ItemAccount): boolean {
  return (
    account.status === 'SUCCEEDED' ||
    account.status === 'FAILED' ||
    (account.status === 'RUNNING' && account.waitingIn === 'Wait For Exception Resolution')
  );
}

/**
 * Waits until every item is accounted for, redriving dead letters as an operator would.
 * Returns how many messages and events were redriven.
 */
export async function settle(runtime: LocalRuntime, itemIds: readonly string[], timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let redriven = 0;
  for (;;) {
    await runtime.idle();
    redriven += await redriveLocally(runtime);
    const accounts = await accountFor(runtime, itemIds);
    if (accounts.every(isAccountedFor) && runtime.failures().length === 0) return { redriven, accounts };
    if (Date.now() > deadline) {
      const open = accounts.filter((account) => !isAccountedFor(account));
      throw new Error(`not settled within ${timeoutMs} ms: ${JSON.stringify(open.slice(0, 5))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
