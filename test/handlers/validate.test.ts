import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { createValidateHandler } from '../../lambdas/validate/handler';
import { AUDIT_RETENTION_DAYS } from '../../lib/definitions/tables';
import { loadEvent, T0, withDetail } from './support';

function setup() {
  const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
  return { pseudonymise, handler: createValidateHandler({ pseudonymise, clock: new ManualClock(T0) }) };
}

const expectedExpiry = String(Math.floor(T0 / 1000) + AUDIT_RETENTION_DAYS * 86_400);

describe('validate handler', () => {
  it('returns the item with defaults, the SLA due time from its class and a pseudonym for the customer', async () => {
    // Prepare
    const { handler, pseudonymise } = setup();
    const { detail } = loadEvent('helpdesk/work-item-created');

    // Act
    const result = await handler({ detailType: 'WorkItemCreated', detail });

    // Assess
    expect(result).toEqual({
      ok: true,
      auditExpiresAt: expectedExpiry,
      item: {
        id: 'HD-10428',
        kind: 'ticket',
        channel: 'email',
        category: 'billing',
        requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
        priority: 3,
        customerTier: 'gold',
        createdAt: '2026-11-20T08:59:58.000Z',
        slaDueAt: '2026-11-20T12:59:58.000Z',
        customerRef: pseudonymise('cust-88213'),
        attributes: { subject: 'Charged twice for November', language: 'en', amount: 49.9 },
      },
    });
    expect(JSON.stringify(result)).not.toContain('cust-88213');
  });

  it('keeps an explicit SLA due time, normalised to UTC', async () => {
    // Prepare
    const { handler } = setup();
    const { detail } = loadEvent('crm/work-item-created-lead');

    // Act
    const result = await handler({ detailType: 'WorkItemCreated', detail });

    // Assess
    expect(result.ok && result.item.slaDueAt).toBe('2026-11-20T10:05:00.000Z');
    expect(result.ok && result.item.tenant).toBe('emea');
  });

  it('names the first invalid field and why', async () => {
    // Prepare
    const { handler } = setup();
    const { detail } = loadEvent('helpdesk/work-item-created-bad-priority');

    // Act
    const result = await handler({ detailType: 'WorkItemCreated', detail });

    // Assess
    expect(result).toMatchObject({ ok: false, field: 'priority', auditExpiresAt: expectedExpiry });
    expect(!result.ok && result.reason).toMatch(/5/);
  });

  it('asks for slaClass when neither an SLA class nor a due time is given', async () => {
    // Prepare
    const { handler } = setup();
    const detail = withDetail(loadEvent('helpdesk/work-item-created'), { slaClass: undefined }).detail;

    // Act
    const result = await handler({ detailType: 'WorkItemCreated', detail });

    // Assess
    expect(result).toMatchObject({
      ok: false,
      field: 'slaClass',
      reason: 'either slaClass or slaDueAt is required',
    });
  });

  it('answers malformed task input with a rejection instead of throwing', async () => {
    // Prepare
    const { handler } = setup();

    // Act
    const result = await handler('not an object');

    // Assess
    expect(result).toMatchObject({ ok: false, field: 'detailType' });
  });
});
