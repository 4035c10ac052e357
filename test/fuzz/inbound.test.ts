import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AgentId,
  INBOUND_EVENTS,
  type InboundDetailType,
  ItemId,
  MAX_DETAIL_BYTES,
  validateDetail,
} from '../../domain/events';
import { eventJsonSchemas } from '../../domain/events/json-schema';
import { pseudonymiseShapes } from '../../domain/personal-data';
import { ProcessInput } from '../../domain/process';
import { createAgentStatusHandler } from '../../lambdas/agent-status/handler';
import { createCompletionHandler } from '../../lambdas/completion/handler';
import { createIntakeHandler } from '../../lambdas/intake/handler';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import type { AuditRecord } from '../../lambdas/shared/ports';
import {
  createPseudonymiser,
  isPseudonym,
  LOCAL_PSEUDONYM_KEY,
  PERSONAL_FIELDS,
} from '../../lambdas/shared/pseudonymise';
import { createValidateHandler } from '../../lambdas/validate/handler';
import { sqsRecord } from '../handlers/support';
import { arbitraryFor, mutatedDetail, parseJsonSchema } from './schema-arbitrary';

/**
 * Every inbound event schema fuzzed through the handlers that take it: intake (WorkItemCreated,
 * and anything else that reaches its queue), validate (the execution's input), completion
 * (WorkItemCompleted, WorkItemCancelled) and agent-status (AgentStatusChanged). Inputs are valid
 * ones generated from the JSON Schemas, the same broken in one place, and arbitrary JSON; zod's
 * verdict is the oracle. Properties: no handler ever throws or fails a batch for bad input; every
 * rejection is recorded (audit REJECTED) and announced (WorkItemRejected) with the field and the
 * reason zod gives; valid input is never rejected by validation.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const T0 = Date.parse('2026-11-20T09:00:00.000Z');
const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
const SCHEMAS = eventJsonSchemas();
const schemaOf = (detailType: InboundDetailType) => parseJsonSchema(SCHEMAS[detailType]);

/** Values of a personal field that pseudonymising must not turn from invalid into valid. */
const personalValue = fc.oneof(
  fc.string({ minLength: 1, maxLength: 256 }),
  fc.string({ minLength: 257, maxLength: 300 }),
  fc.constant(''),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 2 }),
  fc.constant(null),
);

/** Valid, broken-in-one-place, or arbitrary JSON details of a detail-type. */
function anyDetail(detailType: InboundDetailType): fc.Arbitrary<unknown> {
  const schema = schemaOf(detailType);
  // Every personal field of the detail, and in attributes, set to an edge-case value.
  const withPersonalEdgeCases = fc
    .tuple(arbitraryFor(schema), personalValue, fc.constantFrom(...PERSONAL_FIELDS), fc.boolean())
    .map(([valid, value, field, inAttributes]) => {
      const detail = { ...(valid as Record<string, unknown>) };
      if (inAttributes) detail.attributes = { ...(detail.attributes as object), [field]: value };
      else detail[field] = value;
      return detail;
    });
  return fc.oneof(
    { weight: 3, arbitrary: arbitraryFor(schema) },
    { weight: 3, arbitrary: mutatedDetail(schema).map(({ detail }) => detail) },
    { weight: 2, arbitrary: withPersonalEdgeCases },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}

const eventTime = fc.oneof(
  fc.constant('2026-11-20T09:00:00Z'),
  fc.constant(undefined),
  fc.string({ maxLength: 30 }),
);

function envelope(detailType: string, detail: unknown, time: string | undefined, eventId = 'event-1') {
  return {
    version: '0',
    id: eventId,
    'detail-type': detailType,
    source: 'fuzzer',
    account: '111122223333',
    ...(time === undefined ? {} : { time }),
    region: 'eu-west-1',
    resources: [],
    detail,
  };
}

/** The one REJECTED record of a run, with its details parsed. */
function rejection(ports: InMemoryPorts): { record: AuditRecord; field: string; reason: string } {
  const records = ports.audit.all().filter((record) => record.kind === 'REJECTED');
  expect(records).toHaveLength(1);
  const record = records[0] as AuditRecord;
  const details = JSON.parse(record.details ?? '{}') as { field?: unknown; reason?: unknown };
  expect(typeof details.field).toBe('string');
  expect(typeof details.reason).toBe('string');
  return { record, field: String(details.field), reason: String(details.reason) };
}

/** The rejection was announced with the same field and reason as recorded. */
function expectAnnounced(ports: InMemoryPorts, field: string, reason: string): void {
  const announced = ports.events.published.filter((event) => event.detailType === 'WorkItemRejected');
  expect(announced).toHaveLength(1);
  expect(announced[0]?.detail).toMatchObject({ field, reason });
  expect(reason.length).toBeGreaterThan(0);
}

describe('the generators', () => {
  it.each(Object.keys(INBOUND_EVENTS) as InboundDetailType[])(
    'produce mostly valid %s details, and mostly invalid ones once mutated',
    (detailType) => {
      // Prepare
      const schema = schemaOf(detailType);

      // Act
      const valid = fc.sample(arbitraryFor(schema), { numRuns: 300, seed: 1 });
      const mutated = fc.sample(mutatedDetail(schema), { numRuns: 300, seed: 1 });

      // Assess
      const validShare =
        valid.filter((detail) => validateDetail(detailType, detail).ok).length / valid.length;
      const invalidShare =
        mutated.filter(({ detail }) => !validateDetail(detailType, detail).ok).length / mutated.length;
      expect(validShare).toBeGreaterThan(0.6);
      expect(invalidShare).toBeGreaterThan(0.6);
    },
  );
});

describe('fuzzing the inbound handlers', { timeout: 600_000 }, () => {
  it('validate: accepts exactly what the schema accepts and names the schema’s field and reason otherwise', async () => {
    const handler = createValidateHandler({ pseudonymise, clock: { now: () => T0 } });
    await fc.assert(
      fc.asyncProperty(anyDetail('WorkItemCreated'), async (detail) => {
        // Act
        const result = await handler({ detailType: 'WorkItemCreated', detail });

        // Assess
        const oracle = validateDetail('WorkItemCreated', detail, { now: T0 });
        expect(result.ok).toBe(oracle.ok);
        if (!result.ok && !oracle.ok) {
          expect({ field: result.field, reason: result.reason }).toEqual({
            field: oracle.field,
            reason: oracle.reason,
          });
          expect(result.issues).toEqual(oracle.issues);
        }
        if (result.ok && oracle.ok && oracle.value.customerId !== undefined) {
          expect(isPseudonym(result.item.customerRef ?? '')).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('intake then validate: one execution per usable item, and Validate reaches the verdict the raw detail deserves', async () => {
    await fc.assert(
      fc.asyncProperty(anyDetail('WorkItemCreated'), eventTime, async (detail, time) => {
        // Prepare
        const ports = createInMemoryPorts(T0);
        const intake = createIntakeHandler({ ...ports, pseudonymise });
        const validate = createValidateHandler({ pseudonymise, clock: ports.clock });

        // Act
        const response = await intake({ Records: [sqsRecord(envelope('WorkItemCreated', detail, time))] });

        // Assess
        expect(response.batchItemFailures).toEqual([]);
        const id =
          typeof detail === 'object' && detail !== null ? (detail as { id?: unknown }).id : undefined;
        const usableId = ItemId.safeParse(id).success;
        const oversized = JSON.stringify(detail ?? null).length > MAX_DETAIL_BYTES;
        if (!usableId || oversized) {
          expect(ports.executions.executions.size).toBe(0);
          const { field, reason } = rejection(ports);
          expect(field).toBe(usableId ? '(detail)' : 'id');
          expectAnnounced(ports, field, reason);
          return;
        }
        const input = ProcessInput.parse(ports.executions.executions.get(String(id)));
        const result = await validate({ detailType: input.detailType, detail: input.detail });
        const oracle = validateDetail('WorkItemCreated', detail, { now: T0 });
        expect(result.ok).toBe(oracle.ok);
        if (!result.ok && !oracle.ok)
          expect([result.field, result.reason]).toEqual([oracle.field, oracle.reason]);
      }),
      { numRuns: RUNS },
    );
  });

  it('intake: any message at all is either started or rejected with a field and a reason, never retried', async () => {
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
      fc
        .record({
          detailType: fc.string({ maxLength: 40 }),
          detail: fc.jsonValue({ maxDepth: 2 }),
          time: eventTime,
        })
        .map(({ detailType, detail, time }) => JSON.stringify(envelope(detailType, detail, time))),
    );
    await fc.assert(
      fc.asyncProperty(body, async (messageBody) => {
        // Prepare
        const ports = createInMemoryPorts(T0);
        const intake = createIntakeHandler({ ...ports, pseudonymise });

        // Act
        const response = await intake({ Records: [sqsRecord(messageBody)] });

        // Assess
        expect(response.batchItemFailures).toEqual([]);
        if (ports.executions.executions.size === 1) return;
        const { field, reason } = rejection(ports);
        expectAnnounced(ports, field, reason);
      }),
      { numRuns: RUNS },
    );
  });

  it('completion: every WorkItemCompleted / WorkItemCancelled is applied or rejected with the schema’s field and reason', async () => {
    const event = fc.oneof(
      fc.tuple(fc.constant('WorkItemCompleted' as const), anyDetail('WorkItemCompleted')),
      fc.tuple(fc.constant('WorkItemCancelled' as const), anyDetail('WorkItemCancelled')),
    );
    await fc.assert(
      fc.asyncProperty(event, eventTime, fc.boolean(), async ([detailType, detail], time, known) => {
        // Prepare
        const ports = createInMemoryPorts(T0);
        const handler = createCompletionHandler({ ...ports, pseudonymise });
        const id =
          typeof detail === 'object' && detail !== null ? (detail as { id?: unknown }).id : undefined;
        if (known && typeof id === 'string' && ItemId.safeParse(id).success) {
          await ports.instances.enqueue({
            itemId: id,
            taskToken: ports.executions.issueToken('assign'),
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
        }

        // Act
        const response = await handler(envelope(detailType, detail, time));

        // Assess
        const oracle = validateDetail(detailType, detail, { now: T0 });
        // A valid finish event for an item not heard of yet is kept for its creation (defect 1 of
        // issue 21: the creation may still wait in the intake queue).
        if (oracle.ok) {
          expect(response.status).toBe(detailType === 'WorkItemCompleted' ? 'early' : 'cancelled');
          return;
        }
        expect(response.status).toBe('rejected');
        const { field, reason } = rejection(ports);
        expect([field, reason]).toEqual([oracle.field, oracle.reason]);
        expectAnnounced(ports, field, reason);
      }),
      { numRuns: RUNS },
    );
  });

  it('agent-status: every AgentStatusChanged is stored or rejected with the schema’s field and reason', async () => {
    await fc.assert(
      fc.asyncProperty(anyDetail('AgentStatusChanged'), eventTime, async (detail, time) => {
        // Prepare
        const ports = createInMemoryPorts(T0);
        const handler = createAgentStatusHandler({ ...ports, pseudonymise });

        // Act
        const response = await handler(envelope('AgentStatusChanged', detail, time));

        // Assess
        const oracle = validateDetail('AgentStatusChanged', detail, { now: T0 });
        if (oracle.ok) {
          expect(response.status).toBe('created');
          expect(ports.dispatch.ticks).toHaveLength(1);
          return;
        }
        expect(response.status).toBe('rejected');
        const { record, field, reason } = rejection(ports);
        expect([field, reason]).toEqual([oracle.field, oracle.reason]);
        const agentId =
          typeof detail === 'object' && detail !== null
            ? (detail as { agentId?: unknown }).agentId
            : undefined;
        expect(record.itemId).toBe(
          // An email- or phone-shaped part of an agent id is personal data: the trail is keyed by its pseudonym.
          AgentId.safeParse(agentId).success
            ? `agent#${pseudonymiseShapes(String(agentId), pseudonymise)}`
            : 'unidentified#event-1',
        );
        expectAnnounced(ports, field, reason);
      }),
      { numRuns: RUNS },
    );
  });

  it('unknown detail-types are rejected by every entry point, naming the detail-type', async () => {
    const unknownType = fc.string({ maxLength: 60 }).filter((type) => !Object.hasOwn(INBOUND_EVENTS, type));
    await fc.assert(
      fc.asyncProperty(unknownType, fc.jsonValue({ maxDepth: 2 }), async (detailType, detail) => {
        for (const entry of ['intake', 'completion', 'agent-status'] as const) {
          // Prepare
          const ports = createInMemoryPorts(T0);
          const event = envelope(detailType, detail, '2026-11-20T09:00:00Z');

          // Act
          if (entry === 'intake') {
            const response = await createIntakeHandler({ ...ports, pseudonymise })({
              Records: [sqsRecord(event)],
            });
            expect(response.batchItemFailures).toEqual([]);
          } else if (entry === 'completion') {
            expect((await createCompletionHandler({ ...ports, pseudonymise })(event)).status).toBe(
              'rejected',
            );
          } else {
            expect((await createAgentStatusHandler({ ...ports, pseudonymise })(event)).status).toBe(
              'rejected',
            );
          }

          // Assess
          const { field, reason } = rejection(ports);
          expect(field, entry).toBe('detail-type');
          expectAnnounced(ports, field, reason);
          expect(ports.executions.executions.size).toBe(0);
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

/** A field name no inbound schema knows (so adding it is an addition, never a replacement). */
const addedName = fc
  .string({ minLength: 1, maxLength: 16 })
  .filter((name) => !['__proto__', 'constructor', 'prototype'].includes(name))
  .map((name) => `x_${name}`);

/**
 * The same detail with fields a newer producer might add: at the top level, and inside every
 * object-valued field (`quality`, skill requirements...), but never inside `attributes`, whose
 * keys are the producer's own by design.
 */
function withAddedFields(detail: unknown): fc.Arbitrary<unknown> {
  const added = fc.dictionary(addedName, fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 });
  const addTo = (value: unknown, extra: Record<string, unknown>, depth: number): unknown => {
    if (Array.isArray(value)) return value.map((entry) => addTo(entry, extra, depth + 1));
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string, unknown> = {};
    for (const [field, entry] of Object.entries(value)) {
      copy[field] = field === 'attributes' ? entry : addTo(entry, extra, depth + 1);
    }
    return { ...copy, ...extra };
  };
  return added.map((extra) => addTo(detail, extra, 0));
}

describe('forward compatibility: fields a producer adds', { timeout: 120_000 }, () => {
  it.each(Object.keys(INBOUND_EVENTS) as InboundDetailType[])(
    'never turn a valid %s into a rejection, and never reach the validated detail',
    (detailType) => {
      const valid = arbitraryFor(schemaOf(detailType)).filter(
        (detail) => validateDetail(detailType, detail).ok,
      );
      fc.assert(
        fc.property(
          valid.chain((detail) => fc.tuple(fc.constant(detail), withAddedFields(detail))),
          ([original, extended]) => {
            // Act
            const before = validateDetail(detailType, original);
            const after = validateDetail(detailType, extended);

            // Assess: the additions change nothing Flowtune reads.
            if (JSON.stringify(extended).length > MAX_DETAIL_BYTES) return;
            expect(after.ok).toBe(true);
            if (before.ok && after.ok) expect(after.value).toEqual(before.value);
          },
        ),
        { numRuns: RUNS },
      );
    },
  );

  it('intake and validate start and accept a WorkItemCreated with added fields', async () => {
    // Valid as the handlers judge it: the schema, and timestamps plausible against the clock.
    const valid = arbitraryFor(schemaOf('WorkItemCreated')).filter(
      (detail) => validateDetail('WorkItemCreated', detail, { now: T0 }).ok,
    );
    await fc.assert(
      fc.asyncProperty(
        valid.chain((detail) => withAddedFields(detail)),
        async (detail) => {
          fc.pre(JSON.stringify(detail).length <= MAX_DETAIL_BYTES);
          // Prepare
          const ports = createInMemoryPorts(T0);
          const intake = createIntakeHandler({ ...ports, pseudonymise });
          const validate = createValidateHandler({ pseudonymise, clock: ports.clock });

          // Act
          const response = await intake({
            Records: [sqsRecord(envelope('WorkItemCreated', detail, '2026-11-20T09:00:00Z'))],
          });
          const id = String((detail as { id: unknown }).id);
          const input = ProcessInput.parse(ports.executions.executions.get(id));
          const result = await validate({ detailType: input.detailType, detail: input.detail });

          // Assess
          expect(response.batchItemFailures).toEqual([]);
          expect(ports.audit.all().filter((record) => record.kind === 'REJECTED')).toEqual([]);
          expect(result.ok).toBe(true);
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

describe('oversized payloads', () => {
  const huge = 'q'.repeat(MAX_DETAIL_BYTES);

  it.each(Object.keys(INBOUND_EVENTS) as InboundDetailType[])(
    'a %s detail over the size limit is rejected, naming the limit, wherever it arrives',
    async (detailType) => {
      // Prepare
      const ports = createInMemoryPorts(T0);
      const valid = fc.sample(arbitraryFor(schemaOf(detailType)), { numRuns: 1, seed: 7 })[0] as Record<
        string,
        unknown
      >;
      const detail = {
        ...valid,
        ...(detailType === 'WorkItemCreated' ? { id: 'HD-huge', slaClass: 'P2' } : {}),
        padding: huge,
      };
      const event = envelope(detailType, detail, '2026-11-20T09:00:00Z');

      // Act
      if (detailType === 'WorkItemCreated') {
        await createIntakeHandler({ ...ports, pseudonymise })({ Records: [sqsRecord(event)] });
      } else if (detailType === 'AgentStatusChanged') {
        await createAgentStatusHandler({ ...ports, pseudonymise })(event);
      } else {
        await createCompletionHandler({ ...ports, pseudonymise })(event);
      }

      // Assess
      const { field, reason } = rejection(ports);
      expect(field).toBe('(detail)');
      expect(reason).toMatch(new RegExp(`limit is ${MAX_DETAIL_BYTES}`));
      expectAnnounced(ports, field, reason);
      expect(ports.executions.executions.size).toBe(0);
      // The audit record keeps the facts, not the payload.
      expect(ports.audit.all()[0]?.inputs?.length ?? 0).toBeLessThan(MAX_DETAIL_BYTES + 4_096);
    },
  );
});
