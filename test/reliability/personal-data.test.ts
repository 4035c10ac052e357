import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { bringAgentsOnline, completeEveryRoutedItem, newWorkItem, settle } from './support';

/**
 * No customer identifier in clear anywhere Flowtune keeps or writes things: a local run with
 * valid, duplicated, malformed and misrouted inputs (each carrying customer identifiers, also in
 * attributes), then every audit record, instance, feature record, every event Flowtune emitted,
 * every execution's input, output and history (what Step Functions keeps), every event on
 * Flowtune's bus (what its archive keeps: producers' events arrive there only through the ingress),
 * every message sent to a queue and every dead letter, and every log line the functions wrote (at
 * DEBUG) are searched for the raw identifiers.
 */

const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
const customer = (n: number) => `cust-secret-${n}-4471`;
const email = (n: number) => `person${n}@example.org`;
/** Personal data under names Flowtune does not know: only its shape gives it away. */
const workEmail = (n: number) => `ana.probe${n}@corp.example.com`;
const phone = (n: number) => `+44 20 7946 09${10 + n}`;
const callBack = (n: number) => `(212) 555-01${10 + n}`;
const agentEmail = 'carla.agent@helpdesk.example.net';
const cancelEmail = 'zoe.cancel@example.net';

let runtime: LocalRuntime | undefined;
const logLines: string[] = [];
const restore: (() => void)[] = [];

function capture(stream: NodeJS.WriteStream): void {
  const original = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    logLines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    // Kept, not echoed: the run writes hundreds of DEBUG lines.
    const callback = rest.find((argument) => typeof argument === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
  restore.push(() => {
    stream.write = original;
  });
}

async function scanTable(table: string): Promise<Record<string, unknown>[]> {
  if (runtime === undefined) throw new Error('runtime did not start');
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await runtime.documentClient.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

beforeAll(async () => {
  // Every log line the functions can write, as Lambda would ship it to CloudWatch.
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  capture(process.stdout);
  capture(process.stderr);
  runtime = await startLocalRuntime({ dispatchTickMs: 200, retryIntervalMs: 10 });
});

afterAll(async () => {
  for (const undo of restore) undo();
  await runtime?.stop();
});

describe('personal data', { timeout: 120_000 }, () => {
  it('no customer identifier appears in clear in audit, state, events, executions or logs', async () => {
    // Prepare
    if (runtime === undefined) throw new Error('runtime did not start');
    const local = runtime;
    await local.ports.features.putActivePolicy({ ...DEFAULT_POLICY, version: 'pii-1', minConfidence: 0 });
    await bringAgentsOnline(local, ['agent-ana', 'agent-ben']);
    const stopCompleting = completeEveryRoutedItem(local, { seed: 3, duplicateRate: 0.5 });
    const itemIds = [1, 2, 3, 4].map((n) => `PII-${n}`);
    // Every message the queues were given, as SQS would hold it.
    const queued: string[] = [];
    for (const queue of Object.values(local.queues)) {
      const send = queue.send.bind(queue);
      queue.send = (input) => {
        queued.push(input.body);
        return send(input);
      };
    }

    // Act
    for (const [index, itemId] of itemIds.entries()) {
      const detail = newWorkItem(itemId, {
        customerId: customer(index),
        attributes: {
          email: email(index),
          language: 'en',
          Email: workEmail(index),
          customer_email: workEmail(index + 10),
          mobile: phone(index),
          note: `customer asked to be called back on ${callBack(index)} before noon`,
        },
      });
      await local.putEvent('WorkItemCreated', detail, 'helpdesk');
      await local.putEvent('WorkItemCreated', detail, 'helpdesk');
    }
    // An agent whose id is an email address, and an item cancelled with personal data in its reason.
    await bringAgentsOnline(local, [agentEmail]);
    await local.putEvent(
      'WorkItemCreated',
      newWorkItem('PII-cancel', { customerId: customer(5) }),
      'helpdesk',
    );
    await local.putEvent(
      'WorkItemCancelled',
      {
        id: 'PII-cancel',
        reason: `duplicate of a ticket by ${cancelEmail}, call ${phone(9)}`,
        cancelledAt: new Date().toISOString(),
      },
      'helpdesk',
    );
    // An unknown field carrying an email: rejected, and its inputs recorded pseudonymised.
    await local.putEvent(
      'WorkItemCreated',
      newWorkItem('PII-unknown', { customerId: customer(6), customerEmail: workEmail(20) }),
      'helpdesk',
    );
    // Malformed: a bad field elsewhere, a customer id of the wrong type, an unknown detail-type,
    // and a completion that carries a field it must not (rejected with its inputs recorded).
    await local.putEvent(
      'WorkItemCreated',
      newWorkItem('PII-bad', { customerId: customer(7), priority: 9 }),
      'helpdesk',
    );
    await local.putEvent('WorkItemCreated', newWorkItem('PII-num', { customerId: 740_012_559 }), 'helpdesk');
    await local.putEvent('WorkItemReopened', { id: 'PII-1', customerId: customer(8) }, 'helpdesk');
    await local.putEvent(
      'WorkItemCompleted',
      {
        id: 'PII-none',
        outcome: 'resolved',
        handledBy: 'agent-ana',
        completedAt: new Date().toISOString(),
        customerId: customer(9),
      },
      'helpdesk',
    );
    await settle(local, [...itemIds, 'PII-bad', 'PII-num', 'PII-cancel', 'PII-unknown']);
    stopCompleting();
    await local.idle();

    // Assess
    const raw = [
      ...[0, 1, 2, 3, 5, 6, 7, 8, 9].map(customer),
      ...[0, 1, 2, 3].map(email),
      '740012559',
      ...[0, 1, 2, 3, 10, 11, 12, 13, 20].map(workEmail),
      ...[0, 1, 2, 3, 9].map(phone),
      ...[0, 1, 2, 3].map(callBack),
      agentEmail,
      cancelEmail,
    ];
    const kept = {
      audit: await scanTable(local.tables.auditTable),
      instances: await scanTable(local.tables.instancesTable),
      features: await scanTable(local.tables.featuresTable),
      emitted: local.emittedEvents(),
      archive: local.router.events
        .map((recorded) => recorded.event)
        .filter((event) => event.source !== 'flowtune'),
      queues: queued,
      deadLetters: [
        ...Object.values(local.queues).flatMap((queue) => queue.deadLetters),
        ...local.router.deliveryFailures,
      ],
      executions: local.executions().map((execution) => ({
        ...execution,
        history: local.runner.getExecutionHistory(execution.name),
      })),
    };
    const text: Record<string, string> = {
      ...Object.fromEntries(Object.entries(kept).map(([where, value]) => [where, JSON.stringify(value)])),
      logs: logLines.join(''),
    };
    for (const [where, content] of Object.entries(text)) {
      for (const identifier of raw)
        expect(content.includes(identifier), `${identifier} in ${where}`).toBe(false);
    }
    // The identifiers did travel, as pseudonyms: the search above looked where they were.
    expect(text.audit).toContain(pseudonymise(customer(0)));
    expect(text.audit).toContain(pseudonymise(email(0)));
    expect(text.audit).toContain(pseudonymise(customer(7)));
    // customerId is not a WorkItemCompleted field: inbound events are forward compatible, so it is
    // dropped on arrival and reaches the audit trail neither in clear nor as a pseudonym.
    expect(text.audit).not.toContain(pseudonymise(customer(9)));
    expect(text.executions).toContain(pseudonymise(customer(1)));
    // The archive and the intake queue held the items, pseudonymised, and nothing was dead-lettered.
    expect(text.archive).toContain(pseudonymise(customer(0)));
    expect(text.archive).toContain(pseudonymise(workEmail(0)));
    expect(text.queues).toContain(pseudonymise(customer(1)));
    expect(kept.deadLetters).toEqual([]);
    expect(text.audit).toContain(pseudonymise(workEmail(0)));
    expect(text.audit).toContain(pseudonymise(phone(0)));
    expect(text.audit).toContain(pseudonymise(callBack(0)));
    expect(text.audit).toContain(pseudonymise(cancelEmail));
    expect(text.audit).toContain(pseudonymise(workEmail(20)));
    expect(text.features).toContain(pseudonymise(agentEmail));
    expect(logLines.length).toBeGreaterThan(20);
    expect(text.logs).toContain('PII-1');
    // Every execution ends SUCCEEDED: the routed items, PII-unknown (its unknown field dropped),
    // PII-cancel on its cancellation, and the rejected PII-bad and PII-num (rejected input ends
    // SUCCEEDED with outcome 'rejected', so the failed-executions alarm does not count it).
    const settledItems = [...itemIds, 'PII-bad', 'PII-num', 'PII-cancel', 'PII-unknown'];
    expect(kept.executions.filter((execution) => execution.status === 'SUCCEEDED')).toHaveLength(
      settledItems.length,
    );
  });
});
