import { describe, expect, it } from 'vitest';
import {
  FORWARD_COMPATIBILITY_RULE,
  INBOUND_EVENTS,
  isInboundDetailType,
  MAX_DETAIL_BYTES,
  OUTBOUND_EVENTS,
  unknownDetailTypeReason,
  validateDetail,
} from '../../domain/events';
import { eventJsonSchemas } from '../../domain/events/json-schema';

const created = {
  id: 'TCK-1001',
  kind: 'ticket',
  channel: 'email',
  category: 'billing',
  requiredSkills: [{ skill: 'billing', minProficiency: 3 }],
  priority: 4,
  customerTier: 'gold',
  slaClass: 'P2',
  createdAt: '2026-11-02T09:15:00Z',
  customerId: 'cust-88231',
  attributes: { product: 'invoicing', language: 'en' },
};

describe('validateDetail', () => {
  it('accepts a complete WorkItemCreated and applies defaults', () => {
    const result = validateDetail('WorkItemCreated', { ...created, priority: undefined });

    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.priority).toBe(3);
  });

  it('names the first bad field and says what is wrong', () => {
    const result = validateDetail('WorkItemCreated', { ...created, category: 'Billing Dept' });

    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.field).toBe('category');
      expect(result.reason).toMatch(/lowercase skill slug/);
    }
  });

  it('names nested fields with a dotted path', () => {
    const result = validateDetail('WorkItemCreated', {
      ...created,
      requiredSkills: [{ skill: 'billing', minProficiency: 9 }],
    });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.field).toBe('requiredSkills.0.minProficiency');
  });

  it('requires an SLA class or a due time', () => {
    const { slaClass: _omitted, ...withoutSla } = created;

    const result = validateDetail('WorkItemCreated', withoutSla);

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/slaClass or slaDueAt/);
  });

  it('accepts unknown fields a newer producer adds and drops them from the validated detail', () => {
    const result = validateDetail('WorkItemCreated', {
      ...created,
      schemaVersion: '1.3',
      assignee: 'someone',
      requiredSkills: [{ skill: 'billing', minProficiency: 3, certifiedSince: '2025-01-01' }],
    });

    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value).not.toHaveProperty('assignee');
      expect(result.value.requiredSkills).toEqual([{ skill: 'billing', minProficiency: 3 }]);
      expect(result.value.schemaVersion).toBe('1.3');
    }
  });

  it.each(Object.keys(INBOUND_EVENTS) as (keyof typeof INBOUND_EVENTS)[])(
    'rejects a %s of another major schemaVersion, saying which versions this deployment reads',
    (detailType) => {
      const result = validateDetail(detailType, { schemaVersion: '2' });

      expect(result.ok).toBe(false);
      if (!result.ok) {
        const issue = result.issues.find((entry) => entry.field === 'schemaVersion');
        expect(issue?.reason).toMatch(/must be "1" or "1.<minor>".*got "2".*upgrade Flowtune/);
      }
    },
  );

  it('still rejects a missing required field when unknown ones are present', () => {
    const { createdAt: _omitted, ...withoutCreatedAt } = created;

    const result = validateDetail('WorkItemCreated', { ...withoutCreatedAt, createdOn: '2026-11-02' });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.field).toBe('createdAt');
  });

  it('refuses ids that cannot be execution names', () => {
    const result = validateDetail('WorkItemCreated', { ...created, id: 'TCK/2026/1' });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.field).toBe('id');
  });

  it('rejects oversized details with the limit and the fix', () => {
    const result = validateDetail('WorkItemCreated', {
      ...created,
      attributes: { blob: 'x'.repeat(1000) },
      padding: 'y'.repeat(MAX_DETAIL_BYTES),
    });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/limit is 65536.*reference/);
  });

  it('validates a null detail without throwing', () => {
    const result = validateDetail('AgentStatusChanged', null);

    expect(result.ok).toBe(false);
  });
});

describe('detail-types', () => {
  it('knows the inbound detail-types and lists them when one is unknown', () => {
    expect(isInboundDetailType('WorkItemCreated')).toBe(true);
    expect(isInboundDetailType('WorkItemRouted')).toBe(false);
    expect(unknownDetailTypeReason('TicketMoved')).toBe(
      'unknown detail-type "TicketMoved"; accepted: WorkItemCreated, WorkItemCompleted, WorkItemCancelled, AgentStatusChanged',
    );
  });
});

describe('eventJsonSchemas', () => {
  it('generates a draft-4 JSON Schema for every inbound and outbound event', () => {
    const schemas = eventJsonSchemas();

    expect(Object.keys(schemas).sort()).toEqual(
      [...Object.keys(INBOUND_EVENTS), ...Object.keys(OUTBOUND_EVENTS)].sort(),
    );
    for (const [name, schema] of Object.entries(schemas)) {
      expect(schema.$schema, name).toBe('http://json-schema.org/draft-04/schema#');
      // A union event (StaffingRecommended: move | offload) is a oneOf/anyOf of objects.
      const variants = (schema.oneOf ?? schema.anyOf ?? [schema]) as { type?: string }[];
      for (const variant of variants) expect(variant.type, name).toBe('object');
      expect(schema.title).toBe(name);
    }
  });

  it('carries the id constraint producers must meet', () => {
    const properties = eventJsonSchemas().WorkItemCreated.properties as Record<string, { pattern?: string }>;

    expect(properties.id?.pattern).toBe('^[A-Za-z0-9_-]{1,80}$');
  });

  it.each(Object.keys(INBOUND_EVENTS) as (keyof typeof INBOUND_EVENTS)[])(
    'says in the %s schema that unknown fields are ignored and which schemaVersions are read',
    (detailType) => {
      const schema = eventJsonSchemas()[detailType];
      const properties = schema.properties as Record<string, { pattern?: string }>;

      expect(schema.additionalProperties).toBe(true);
      expect(schema.description).toBe(FORWARD_COMPATIBILITY_RULE);
      expect(properties.schemaVersion?.pattern).toBe('^1(\\.[0-9]{1,4})?$');
    },
  );
});
