import { describe, expect, it } from 'vitest';
import { CompletionResult } from '../../domain/process';
import { createCompletionHandler, HANDOVER_LEASE_MS } from '../../lambdas/completion/handler';
import { createParkHandler } from '../../lambdas/park/handler';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { auditRecord } from '../../lambdas/shared/table-layout';
import { AFTER_FIXTURES, loadEvent, T0, withDetail } from './support';

function setup() {
  const ports = createInMemoryPorts(AFTER_FIXTURES);
  const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
  return {
    ...ports,
    handler: createCompletionHandler({ ...ports, pseudonymise }),
    park: createParkHandler(ports),
  };
}

/** HD-10428 assigned to agent-ana; returns the assignment token. */
async function assigned(ports: InMemoryPorts): Promise<string> {
  const token = ports.executions.issueToken('assignment');
  ports.features.seedAgent({
    agentId: 'agent-ana',
    kind: 'person',
    status: 'available',
    skills: [],
    capacity: 2,
    activeCount: 0,
    idleSince: 0,
  });
  await ports.instances.enqueue({
    itemId: 'HD-10428',
    taskToken: token,
    category: 'billing',
    priority: 3,
    requiredSkills: [],
    createdAt: T0 - 60_000,
    slaDueAt: T0 + 3_600_000,
    attempt: 1,
    excludedAgents: [],
    enqueuedAt: T0 - 30_000,
    at: T0 - 30_000,
  });
  await ports.features.claimCapacity({
    agentId: 'agent-ana',
    itemId: 'HD-10428',
    taskToken: token,
    at: T0 - 10_000,
  });
  return token;
}

async function parkedForCompletion(world: ReturnType<typeof setup>): Promise<string> {
  await assigned(world);
  const token = world.executions.issueToken('completion');
  await world.park({
    waitingFor: 'completion',
    taskToken: token,
    itemId: 'HD-10428',
    attempt: 1,
    agentId: 'agent-ana',
  });
  return token;
}

const completedEvent = () => loadEvent('helpdesk/work-item-completed');
const expectedCompletion = () => CompletionResult.parse(completedEvent().detail);

describe('completion handler', () => {
  it('resumes the parked completion wait with the completion', async () => {
    // Prepare
    const world = setup();
    const token = await parkedForCompletion(world);

    // Act
    const response = await world.handler(completedEvent());

    // Assess
    expect(response).toEqual({ status: 'resumed', itemId: 'HD-10428' });
    expect(world.executions.tokenState(token)).toEqual({ state: 'succeeded', output: expectedCompletion() });
    expect((await world.instances.get('HD-10428'))?.taskToken).toBeUndefined();
  });

  it('resumes once for a duplicated completion and records the duplicate', async () => {
    // Prepare
    const world = setup();
    await parkedForCompletion(world);
    await world.handler(completedEvent());
    const sentBefore = [...world.executions.tokens.values()].filter(
      (state) => state.state === 'succeeded',
    ).length;

    // Act
    const response = await world.handler({ ...completedEvent(), id: 'redelivered-event' });

    // Assess
    expect(response.status).toBe('duplicate');
    const sentAfter = [...world.executions.tokens.values()].filter(
      (state) => state.state === 'succeeded',
    ).length;
    expect(sentAfter).toBe(sentBefore);
    const kinds = (await world.audit.listForItem('HD-10428')).map((record) => record.kind);
    expect(kinds).toContain('DUPLICATE_COMPLETION');
  });

  it('keeps a completion that arrives before the park; the park then resumes at once', async () => {
    // Prepare
    const world = setup();
    await assigned(world);

    // Act
    const response = await world.handler(completedEvent());
    const token = world.executions.issueToken('completion');
    const parked = await world.park({
      waitingFor: 'completion',
      taskToken: token,
      itemId: 'HD-10428',
      attempt: 1,
    });

    // Assess
    expect(response.status).toBe('early');
    expect(parked.status).toBe('resumed-early');
    expect(world.executions.tokenState(token)).toEqual({ state: 'succeeded', output: expectedCompletion() });
  });

  it('treats a second early completion as a duplicate, so the park resumes with the first only', async () => {
    // Prepare
    const world = setup();
    await assigned(world);
    await world.handler(completedEvent());

    // Act
    const second = await world.handler(withDetail(completedEvent(), { outcome: 'escalated' }));

    // Assess
    expect(second.status).toBe('duplicate');
    expect((await world.instances.get('HD-10428'))?.earlyCompletion?.outcome).toBe('resolved');
  });

  it('keeps a completion whose wait had just timed out for the next completion wait', async () => {
    // Prepare
    const world = setup();
    const token = await parkedForCompletion(world);
    world.executions.expireToken(token);

    // Act
    const response = await world.handler(completedEvent());

    // Assess
    expect(response.status).toBe('late');
    expect((await world.instances.get('HD-10428'))?.earlyCompletion).toEqual(expectedCompletion());
    const kinds = (await world.audit.listForItem('HD-10428')).map((record) => record.kind);
    expect(kinds).toContain('LATE_COMPLETION');
  });

  it('sends a completion whose resume failed again on the retried event, resuming once', async () => {
    // Prepare
    const world = setup();
    const token = await parkedForCompletion(world);
    world.executions.failNextResume(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    // Act
    const firstTry = world.handler(completedEvent());
    await expect(firstTry).rejects.toThrow('throttled');
    const pending = (await world.instances.get('HD-10428'))?.pendingHandover;
    const retry = await world.handler(completedEvent());

    // Assess
    expect(pending).toMatchObject({ taskToken: token, completion: expectedCompletion() });
    expect(retry.status).toBe('resumed');
    expect(world.executions.tokenState(token)).toEqual({ state: 'succeeded', output: expectedCompletion() });
    expect((await world.instances.get('HD-10428'))?.pendingHandover).toBeUndefined();
  });

  it('lets a duplicate completion deliver a hand-over that the first delivery lost once its lease ran out, not call it a duplicate', async () => {
    // Prepare
    const world = setup();
    const token = await parkedForCompletion(world);
    world.executions.failNextResume(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    await expect(world.handler(completedEvent())).rejects.toThrow('socket hang up');

    // Act: another event at once (its taker may still be sending), then after the lease
    const atOnce = await world.handler({ ...completedEvent(), id: 'another-delivery' });
    world.clock.advance(HANDOVER_LEASE_MS);
    const later = await world.handler({ ...completedEvent(), id: 'a-third-delivery' });

    // Assess
    expect(atOnce.status).toBe('duplicate');
    expect(later.status).toBe('resumed');
    expect(world.executions.tokenState(token)?.state).toBe('succeeded');
  });

  it('resumes exactly once when the resume took effect but its reply was lost', async () => {
    // Prepare
    const world = setup();
    const token = await parkedForCompletion(world);
    world.executions.loseNextResumeReply(Object.assign(new Error('reply lost'), { name: 'TimeoutError' }));
    await expect(world.handler(completedEvent())).rejects.toThrow('reply lost');

    // Act
    const redelivery = await world.handler(completedEvent());
    const another = await world.handler(completedEvent());

    // Assess
    expect(world.executions.tokenState(token)).toEqual({ state: 'succeeded', output: expectedCompletion() });
    // The re-send finds the wait gone: a duplicate; nothing resumed twice.
    expect(redelivery.status).toBe('duplicate');
    expect(another.status).toBe('duplicate');
  });

  it('hands a lost hand-over to the next completion wait when the first wait timed out meanwhile', async () => {
    // Prepare
    const world = setup();
    const firstWait = await parkedForCompletion(world);
    world.executions.failNextResume(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(world.handler(completedEvent())).rejects.toThrow('throttled');
    world.executions.expireToken(firstWait);
    const secondWait = world.executions.issueToken('completion');

    // Act
    const parked = await world.park({
      waitingFor: 'completion',
      taskToken: secondWait,
      itemId: 'HD-10428',
      attempt: 2,
      agentId: 'agent-ana',
    });

    // Assess
    expect(parked.status).toBe('resumed-early');
    expect(world.executions.tokenState(secondWait)).toEqual({
      state: 'succeeded',
      output: expectedCompletion(),
    });
    expect((await world.instances.get('HD-10428'))?.pendingHandover).toBeUndefined();
  });

  it('fails the waiting execution with WorkItemCancelled and marks the item CANCELLED', async () => {
    // Prepare
    const world = setup();
    const token = await parkedForCompletion(world);
    const cancelled = loadEvent('helpdesk/work-item-cancelled');

    // Act
    const response = await world.handler(cancelled);

    // Assess
    expect(response.status).toBe('cancelled');
    expect(world.executions.tokenState(token)).toEqual({
      state: 'failed',
      error: 'WorkItemCancelled',
      cause: JSON.stringify({ reason: cancelled.detail.reason, cancelledAt: cancelled.detail.cancelledAt }),
    });
    expect(await world.instances.get('HD-10428')).toMatchObject({ stage: 'CANCELLED' });
    const trail = await world.audit.listForItem('HD-10428');
    expect(trail.find((record) => record.kind === 'CANCELLED')?.details).toContain(
      '"waitingFor":"completion"',
    );
  });

  it('cancels an item whose assignment wait holds the token', async () => {
    // Prepare
    const world = setup();
    const token = world.executions.issueToken('assignment');
    await world.instances.enqueue({
      itemId: 'HD-10428',
      taskToken: token,
      category: 'billing',
      priority: 3,
      requiredSkills: [],
      createdAt: T0,
      slaDueAt: T0 + 3_600_000,
      attempt: 1,
      excludedAgents: [],
      enqueuedAt: T0,
      at: T0,
    });

    // Act
    await world.handler(loadEvent('helpdesk/work-item-cancelled'));

    // Assess
    expect(world.executions.tokenState(token)?.state).toBe('failed');
    expect(await world.instances.listByStage('WAITING_ASSIGNMENT')).toEqual([]);
  });

  it('records a duplicated cancellation without failing anything twice', async () => {
    // Prepare
    const world = setup();
    await parkedForCompletion(world);
    await world.handler(loadEvent('helpdesk/work-item-cancelled'));

    // Act
    const again = await world.handler(loadEvent('helpdesk/work-item-cancelled'));

    // Assess
    expect(again.status).toBe('duplicate');
    const kinds = (await world.audit.listForItem('HD-10428')).map((record) => record.kind);
    expect(kinds).toContain('DUPLICATE_CANCELLATION');
  });

  it('keeps a completion for an item not heard of yet (its creation may still be queued), for its first park', async () => {
    // Prepare
    const world = setup();

    // Act
    const response = await world.handler(completedEvent());
    const stored = await world.instances.get('HD-10428');

    // Assess
    expect(response.status).toBe('early');
    expect(world.events.published).toEqual([]);
    expect(stored?.earlyCompletion).toMatchObject({ outcome: 'resolved' });
    expect((await world.audit.listForItem('HD-10428')).map((record) => record.kind)).toEqual([
      'EARLY_COMPLETION',
    ]);
  });

  it('keeps a completion for an item received but not yet registered, and the first park resumes with it', async () => {
    // Prepare
    const world = setup();
    await world.audit.append(
      auditRecord({ itemId: 'HD-10428', kind: 'RECEIVED', at: T0 - 1_000, actor: 'flowtune:intake' }),
    );

    // Act
    const response = await world.handler(completedEvent());
    const token = world.executions.issueToken('completion');
    const parked = await world.park({
      waitingFor: 'completion',
      taskToken: token,
      itemId: 'HD-10428',
      attempt: 1,
    });

    // Assess
    expect(response.status).toBe('early');
    expect(parked.status).toBe('resumed-early');
    expect(world.executions.tokenState(token)).toEqual({ state: 'succeeded', output: expectedCompletion() });
  });

  it('cancels an item received but not yet registered, so its first wait fails at once', async () => {
    // Prepare
    const world = setup();
    await world.audit.append(
      auditRecord({ itemId: 'HD-10428', kind: 'RECEIVED', at: T0 - 1_000, actor: 'flowtune:intake' }),
    );

    // Act
    const response = await world.handler(loadEvent('helpdesk/work-item-cancelled'));
    const token = world.executions.issueToken('completion');
    const parked = await world.park({
      waitingFor: 'completion',
      taskToken: token,
      itemId: 'HD-10428',
      attempt: 1,
    });

    // Assess
    expect(response.status).toBe('cancelled');
    // Kept on the bare record until Score registers the item (Score then cancels it).
    expect((await world.instances.get('HD-10428'))?.cancellation).toMatchObject({
      reason: expect.any(String),
    });
    expect(parked.status).toBe('cancelled');
    expect(world.executions.tokenState(token)).toMatchObject({ state: 'failed', error: 'WorkItemCancelled' });
  });

  it('still rejects a completion for an item whose registration was rejected', async () => {
    // Prepare
    const world = setup();
    for (const kind of ['RECEIVED', 'REJECTED'] as const) {
      await world.audit.append(
        auditRecord({ itemId: 'HD-10428', kind, at: T0 - 1_000, actor: 'flowtune:test' }),
      );
    }

    // Act
    const response = await world.handler(completedEvent());

    // Assess
    expect(response.status).toBe('rejected');
    expect(await world.instances.get('HD-10428')).toBeUndefined();
  });

  it('rejects an invalid completion naming the missing field, and resumes nothing', async () => {
    // Prepare
    const world = setup();
    const token = await parkedForCompletion(world);

    // Act
    const response = await world.handler(loadEvent('helpdesk/work-item-completed-no-outcome'));

    // Assess
    expect(response.status).toBe('rejected');
    expect(world.events.published[0]?.detail).toMatchObject({
      field: 'outcome',
      detailType: 'WorkItemCompleted',
    });
    expect(world.executions.tokenState(token)).toEqual({ state: 'pending' });
  });
});
