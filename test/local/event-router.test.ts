import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { PROJECT_ROOT, QUEUES, RULES } from '../../lib/definitions';
import { DEFAULT_RECENT_EVENTS, type LocalEvent, LocalEventRouter } from '../../local/event-router';
import { LocalQueue, type QueueMessage } from '../../local/local-queue';

function fixtureEntry(name: string): PutEventsRequestEntry {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  const event = EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8')));
  return {
    Source: event.source,
    DetailType: event['detail-type'],
    Detail: JSON.stringify(event.detail),
    EventBusName: 'flowtune-local',
  };
}

function intakeQueueCollecting(): { queue: LocalQueue; received: QueueMessage[] } {
  const queue = new LocalQueue(QUEUES.intake);
  const received: QueueMessage[] = [];
  queue.consume((batch) => {
    received.push(...batch);
  });
  return { queue, received };
}

describe('LocalEventRouter', () => {
  it('sends a WorkItemCreated to the intake queue as the EventBridge event JSON and records it', async () => {
    // Prepare
    const { queue, received } = intakeQueueCollecting();
    const router = new LocalEventRouter({ queues: { intake: queue } });

    // Act
    const response = await router.putEvents([fixtureEntry('work-item-created')]);
    await router.idle();
    await queue.idle();

    // Assess
    expect(response.FailedEntryCount).toBe(0);
    const eventId = response.Entries?.[0]?.EventId;
    expect(router.events.map((recorded) => recorded.matchedRules)).toEqual([[RULES.workItemCreated.id]]);
    expect(received).toHaveLength(1);
    const delivered = JSON.parse(received[0]?.body ?? '{}') as LocalEvent;
    expect(delivered).toMatchObject({
      id: eventId,
      version: '0',
      source: 'helpdesk',
      'detail-type': 'WorkItemCreated',
      account: '000000000000',
      detail: { id: 'TCK-10482', category: 'billing' },
    });
    expect(delivered.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('invokes the completion function with the event, asynchronously', async () => {
    // Prepare
    const router = new LocalEventRouter();
    const invocations: LocalEvent[] = [];
    router.registerFunction('completion', (event) => {
      invocations.push(event);
    });

    // Act
    await router.putEvents([fixtureEntry('work-item-completed'), fixtureEntry('work-item-cancelled')]);
    const invokedBeforeIdle = invocations.length;
    await router.idle();

    // Assess
    expect(invokedBeforeIdle).toBe(0);
    expect(invocations.map((event) => event['detail-type'])).toEqual([
      'WorkItemCompleted',
      'WorkItemCancelled',
    ]);
    expect(invocations[0]?.detail).toMatchObject({ id: 'TCK-10482', outcome: 'resolved' });
  });

  it("records Flowtune's own events without delivering them anywhere", async () => {
    // Prepare
    const { queue, received } = intakeQueueCollecting();
    const router = new LocalEventRouter({ queues: { intake: queue } });
    const invoked: string[] = [];
    for (const fn of ['completion', 'agentStatus'] as const)
      router.registerFunction(fn, () => invoked.push(fn));

    // Act
    await router.putEvents([fixtureEntry('work-item-routed')]);
    await router.idle();
    await queue.idle();

    // Assess
    expect(router.events).toHaveLength(1);
    expect(router.events[0]?.matchedRules).toEqual([]);
    expect(received).toEqual([]);
    expect(invoked).toEqual([]);
  });

  it('refuses malformed entries one by one, as PutEvents does, and keeps the others', async () => {
    // Prepare
    const router = new LocalEventRouter();
    const good = fixtureEntry('agent-status-changed');

    // Act
    const response = await router.putEvents([
      good,
      { ...good, Detail: '{not json' },
      { ...good, Source: undefined },
      { ...good, EventBusName: 'someone-elses-bus' },
    ]);

    // Assess
    expect(response.FailedEntryCount).toBe(3);
    expect(response.Entries?.map((entry) => entry.ErrorCode)).toEqual([
      undefined,
      'MalformedDetail',
      'InvalidArgument',
      'InvalidArgument',
    ]);
    expect(response.Entries?.[0]?.EventId).toBeTruthy();
    expect(router.events).toHaveLength(1);
    expect(router.rejectedEntries).toHaveLength(3);
  });

  it('refuses a request of more than 10 entries as a whole', async () => {
    // Prepare
    const router = new LocalEventRouter();
    const entries = Array.from({ length: 11 }, () => fixtureEntry('agent-status-changed'));

    // Act
    const attempt = router.putEvents(entries);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationException' });
    expect(router.events).toEqual([]);
  });

  it('retries a failing function target, then keeps the event as a delivery failure', async () => {
    // Prepare
    const router = new LocalEventRouter({ retryDelayMs: 1 });
    let attempts = 0;
    router.registerFunction('agentStatus', () => {
      attempts += 1;
      throw new Error('feature store unavailable');
    });

    // Act
    await router.putEvents([fixtureEntry('agent-status-changed')]);
    await router.idle();

    // Assess
    expect(attempts).toBe(3);
    expect(router.deliveryFailures).toHaveLength(1);
    expect(router.deliveryFailures[0]).toMatchObject({
      ruleId: RULES.agentStatusChanged.id,
      target: { kind: 'function', fn: 'agentStatus' },
      error: 'Error: feature store unavailable',
      attempts: 3,
    });
  });

  it('keeps no failure when a retry succeeds', async () => {
    // Prepare
    const router = new LocalEventRouter({ retryDelayMs: 1 });
    let attempts = 0;
    router.registerFunction('agentStatus', () => {
      attempts += 1;
      if (attempts === 1) throw new Error('transient');
    });

    // Act
    await router.putEvents([fixtureEntry('agent-status-changed')]);
    await router.idle();

    // Assess
    expect(attempts).toBe(2);
    expect(router.deliveryFailures).toEqual([]);
  });

  it('names the missing target instead of dropping the event', async () => {
    // Prepare
    const router = new LocalEventRouter();

    // Act
    await router.putEvents([fixtureEntry('work-item-cancelled'), fixtureEntry('unknown-detail-type')]);
    await router.idle();

    // Assess
    expect(router.deliveryFailures.map((failure) => failure.error)).toEqual([
      'no handler registered for function "completion"',
      'no local queue "intake" was given to the router',
    ]);
  });

  it('waits for an event that arrives later', async () => {
    // Prepare
    const router = new LocalEventRouter();
    const waiting = router.waitForEvent((event) => event['detail-type'] === 'WorkItemRouted', 1_000);

    // Act
    await router.putEvents([fixtureEntry('agent-status-changed'), fixtureEntry('work-item-routed')]);
    const event = await waiting;

    // Assess
    expect(event.source).toBe('flowtune');
  });
});

describe('LocalEventRouter history: bounded, whatever the length of the run', () => {
  const inbound = (n: number): PutEventsRequestEntry => ({
    ...fixtureEntry('agent-status-changed'),
    Detail: JSON.stringify({ n }),
  });
  const outbound = (id: string): PutEventsRequestEntry => ({
    ...fixtureEntry('work-item-routed'),
    Detail: JSON.stringify({ id }),
  });
  const detailOf = (recorded: { event: LocalEvent }) => recorded.event.detail as { n?: number; id?: string };

  it('keeps every Flowtune event and the newest others, in arrival order, and counts them all', async () => {
    // Prepare
    const router = new LocalEventRouter({ rules: [], history: { recent: 2 } });

    // Act
    await router.putEvents([inbound(1), outbound('TCK-1'), inbound(2), inbound(3)]);
    await router.putEvents([inbound(4), outbound('TCK-2'), inbound(5)]);

    // Assess
    expect(router.events.map(detailOf)).toEqual([{ id: 'TCK-1' }, { n: 4 }, { id: 'TCK-2' }, { n: 5 }]);
    expect(router.events.map((recorded) => recorded.sequence)).toEqual([2, 5, 6, 7]);
    expect(router.counts()).toEqual({
      accepted: 7,
      rejected: 0,
      dropped: 3,
      byDetailType: { AgentStatusChanged: 5, WorkItemRouted: 2 },
    });
  });

  it('holds a flat number of inbound events over a long run (a soak would otherwise keep them all)', async () => {
    // Prepare
    const router = new LocalEventRouter({ rules: [] });

    // Act
    for (let batch = 0; batch < 500; batch++) {
      await router.putEvents(Array.from({ length: 10 }, (_, i) => inbound(batch * 10 + i)));
    }

    // Assess
    expect(router.events).toHaveLength(DEFAULT_RECENT_EVENTS);
    expect(router.events[0]?.event.detail).toEqual({ n: 5_000 - DEFAULT_RECENT_EVENTS });
    expect(router.counts()).toMatchObject({ accepted: 5_000, dropped: 5_000 - DEFAULT_RECENT_EVENTS });
  });

  it("still finds an item's Flowtune event after the inbound ones around it were dropped", async () => {
    // Prepare
    const router = new LocalEventRouter({ rules: [], history: { recent: 1 } });
    await router.putEvents([outbound('TCK-early'), inbound(1), inbound(2), inbound(3)]);

    // Act
    const found = await router.waitForEvent(
      (event) => (event.detail as { id?: string }).id === 'TCK-early',
      100,
    );

    // Assess
    expect(found.source).toBe('flowtune');
  });

  it('keeps the newest refused entries only, counting every one', async () => {
    // Prepare
    const router = new LocalEventRouter({ rules: [], history: { recent: 2 } });

    // Act
    for (const text of ['{a', '{b', '{c']) await router.putEvents([{ ...inbound(0), Detail: text }]);

    // Assess
    expect(router.rejectedEntries.map((rejected) => rejected.entry.Detail)).toEqual(['{b', '{c']);
    expect(router.counts()).toMatchObject({ accepted: 0, rejected: 3 });
  });

  it('keeps every event of the sources it is told to keep, and none of the others when recent is 0', async () => {
    // Prepare
    const router = new LocalEventRouter({ rules: [], history: { keepSources: ['workforce'], recent: 0 } });

    // Act
    await router.putEvents([inbound(1), outbound('TCK-1'), inbound(2)]);

    // Assess
    expect(router.events.map(detailOf)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(router.counts().dropped).toBe(1);
  });

  it('refuses a history limit that is not a whole number, naming it', () => {
    // Act
    const create = () => new LocalEventRouter({ history: { recent: -1 } });

    // Assess
    expect(create).toThrow(/history.recent must be a whole number >= 0, got -1/);
  });
});
