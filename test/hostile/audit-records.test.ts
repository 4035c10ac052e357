import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCompletionHandler } from '../../lambdas/completion/handler';
import { createIntakeHandler } from '../../lambdas/intake/handler';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { auditRecord } from '../../lambdas/shared/table-layout';
import { loadEvent, sqsEvent, T0 } from '../handlers/support';

/** Defect 5 of issue 21: audit records collided on `<second>#<kind>` and were silently dropped. */

function world() {
  const ports = createInMemoryPorts(T0);
  const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
  return {
    ...ports,
    intake: createIntakeHandler({ ...ports, pseudonymise }),
    completion: createCompletionHandler({ ...ports, pseudonymise }),
  };
}

describe('audit records are never silently dropped', () => {
  it('keeps one REJECTED record for each of three rejected completions sent in the same second', async () => {
    // Prepare: an unknown item, three different events with one envelope time
    const w = world();
    const base = loadEvent('helpdesk/work-item-completed');
    const events = [1, 2, 3].map((n) => ({
      ...base,
      id: `evt-${n}`,
      detail: { ...base.detail, id: 'NEVER-CREATED', outcome: 'not-an-outcome' },
    }));

    // Act
    for (const event of events) await w.completion(event);

    // Assess
    const rejected = (await w.audit.listForItem('NEVER-CREATED')).filter((r) => r.kind === 'REJECTED');
    expect(rejected).toHaveLength(3);
    expect(rejected.map((r) => JSON.parse(r.details ?? '{}').eventId).sort()).toEqual([
      'evt-1',
      'evt-2',
      'evt-3',
    ]);
  });

  it('records a DUPLICATE for every one of fifty creates of one id with different content', async () => {
    // Prepare
    const w = world();
    const created = loadEvent('helpdesk/work-item-created');
    await w.intake(sqsEvent([created]));
    const resends = Array.from({ length: 50 }, (_, n) => ({
      ...created,
      id: `resend-${n}`,
      detail: { ...created.detail, priority: (n % 5) + 1, channel: `channel-${n}` },
    }));

    // Act
    await w.intake(sqsEvent(resends));

    // Assess
    const trail = await w.audit.listForItem('HD-10428');
    expect(trail.filter((r) => r.kind === 'RECEIVED')).toHaveLength(1);
    const duplicates = trail.filter((r) => r.kind === 'DUPLICATE');
    expect(duplicates).toHaveLength(50);
    expect(new Set(duplicates.map((r) => JSON.parse(r.details ?? '{}').eventId)).size).toBe(50);
  });

  it('keeps the first delivery of an event once when SQS redelivers it (a retried write is not a new record)', async () => {
    // Prepare
    const w = world();
    const created = loadEvent('helpdesk/work-item-created');
    await w.intake(sqsEvent([created]));

    // Act
    await w.intake(sqsEvent([created]));

    // Assess
    expect((await w.audit.listForItem('HD-10428')).filter((r) => r.kind === 'RECEIVED')).toHaveLength(1);
  });

  it('keeps every distinct record appended under colliding keys, and each retried one once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ slot: fc.integer({ min: 0, max: 2 }), note: fc.string({ maxLength: 6 }) }), {
          minLength: 1,
          maxLength: 25,
        }),
        async (facts) => {
          // Prepare: few instants and one kind, so keys collide often
          const w = world();
          const records = facts.map((fact) =>
            auditRecord({
              itemId: 'T-1',
              kind: 'SCORED',
              at: T0 + fact.slot,
              actor: 'flowtune:test',
              details: fact,
            }),
          );

          // Act: every record, then every record again (retries)
          for (const record of [...records, ...records]) await w.audit.append(record);

          // Assess: one stored record per distinct fact
          const distinct = new Set(records.map((r) => `${r.at}|${r.details}`));
          const trail = await w.audit.listForItem('T-1');
          expect(trail).toHaveLength(distinct.size);
          expect(new Set(trail.map((r) => `${r.at}|${r.details}`))).toEqual(distinct);
        },
      ),
      { numRuns: 100 },
    );
  });
});
