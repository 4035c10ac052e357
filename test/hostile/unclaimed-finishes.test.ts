import { describe, expect, it } from 'vitest';
import { createCompletionHandler } from '../../lambdas/completion/handler';
import { createDispatcherHandler } from '../../lambdas/dispatcher/handler';
import { UNCLAIMED_FINISH_MS } from '../../lambdas/dispatcher/unclaimed-finishes';
import { createIntakeHandler } from '../../lambdas/intake/handler';
import { createScoreHandler } from '../../lambdas/score/handler';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { AFTER_FIXTURES, loadEvent, MINUTE, sqsEvent, validatedItem } from '../handlers/support';

/**
 * Defect 1 of issue 21, its other half: a finish event kept for a creation that may still be
 * queued must still be answered when that creation never comes.
 */

const tickAt = (at: number) => ({ kind: 'tick', reason: 'timer', at: new Date(at).toISOString() }) as const;

function world() {
  const ports = createInMemoryPorts(AFTER_FIXTURES);
  const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
  return {
    ...ports,
    completion: createCompletionHandler({ ...ports, pseudonymise }),
    intake: createIntakeHandler({ ...ports, pseudonymise }),
    dispatcher: createDispatcherHandler(ports),
    score: createScoreHandler(ports),
    round: (w: { clock: { now(): number } }, handler: ReturnType<typeof createDispatcherHandler>) =>
      handler(sqsEvent([tickAt(w.clock.now())], { fifo: true })),
  };
}

const completed = (id: string) => {
  const event = loadEvent('helpdesk/work-item-completed');
  return { ...event, id: `evt-done-${id}`, detail: { ...event.detail, id } };
};
const cancelled = (id: string) => {
  const event = loadEvent('helpdesk/work-item-cancelled');
  return { ...event, id: `evt-cancel-${id}`, detail: { ...event.detail, id } };
};

describe('a finish event whose creation never comes', () => {
  it('is kept while its creation may still be queued, then refused naming `id` and forgotten', async () => {
    // Prepare
    const w = world();
    const kept = [await w.completion(completed('GHOST-1')), await w.completion(cancelled('GHOST-2'))];

    // Act
    w.clock.set(AFTER_FIXTURES + UNCLAIMED_FINISH_MS - MINUTE);
    await w.round(w, w.dispatcher);
    const refusedEarly = w.events.published.filter((event) => event.detailType === 'WorkItemRejected');
    w.clock.set(AFTER_FIXTURES + UNCLAIMED_FINISH_MS + MINUTE);
    await w.round(w, w.dispatcher);
    await w.round(w, w.dispatcher);

    // Assess
    expect(kept.map((response) => response.status)).toEqual(['early', 'cancelled']);
    expect(refusedEarly).toEqual([]);
    const refused = w.events.published.filter((event) => event.detailType === 'WorkItemRejected');
    const details = refused.map((event) => event.detail as { id: string; detailType: string; field: string });
    expect(details.map((detail) => [detail.id, detail.detailType, detail.field])).toEqual([
      ['GHOST-1', 'WorkItemCompleted', 'id'],
      ['GHOST-2', 'WorkItemCancelled', 'id'],
    ]);
    expect(await w.instances.get('GHOST-1')).toBeUndefined();
    expect(await w.instances.get('GHOST-2')).toBeUndefined();
    for (const itemId of ['GHOST-1', 'GHOST-2']) {
      const kinds = (await w.audit.listForItem(itemId)).map((record) => record.kind);
      expect(kinds.filter((kind) => kind === 'REJECTED')).toHaveLength(1);
    }
  });

  it('is applied, not refused, when the creation comes in time, however late Score is', async () => {
    // Prepare
    const w = world();
    await w.completion(cancelled('LATE-1'));
    const created = loadEvent('helpdesk/work-item-created');
    await w.intake(sqsEvent([{ ...created, detail: { ...created.detail, id: 'LATE-1' } }]));

    // Act
    w.clock.set(AFTER_FIXTURES + UNCLAIMED_FINISH_MS + MINUTE);
    await w.round(w, w.dispatcher);
    await w.score({ item: validatedItem({ id: 'LATE-1' }), attempt: 1 });

    // Assess
    expect(w.events.published.filter((event) => event.detailType === 'WorkItemRejected')).toEqual([]);
    expect((await w.instances.get('LATE-1'))?.stage).toBe('CANCELLED');
  });
});
