import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AdapterResult, AdapterSettings } from '../../domain/adapters/mapping';
import { isoTimestamp } from '../../domain/adapters/mapping';
import { mapJiraWebhook, mapServiceNowWebhook } from '../../domain/adapters/webhooks';
import { mapZendeskEvent } from '../../domain/adapters/zendesk';
import { validateDetail } from '../../domain/events';
import { PROJECT_ROOT } from '../../lib/definitions';

/** A vendor-shaped payload from test/events/<system>/<name>.json, parsed fresh on every call. */
function fixture(path: string): unknown {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'events', `${path}.json`), 'utf8'));
}

const settings: AdapterSettings = {
  categoryBy: { billing: 'billing', network: 'network', SD: 'it-support' },
  defaultCategory: 'general',
  tierByTag: { vip: 'gold' },
};

interface PartnerEvent {
  readonly 'detail-type': string;
  readonly detail: Record<string, unknown>;
}

const zendesk = (name: string) => fixture(`zendesk/${name}`) as PartnerEvent;

function expectEvent(result: AdapterResult, detailType: string): Record<string, unknown> {
  expect(result.kind, JSON.stringify(result)).toBe('event');
  if (result.kind !== 'event') throw new Error('unreachable');
  expect(result.detailType).toBe(detailType);
  // What the adapter emits passes the Flowtune schema on its own.
  expect(validateDetail(result.detailType, result.detail).ok).toBe(true);
  return result.detail as unknown as Record<string, unknown>;
}

describe('Zendesk partner events (aws.partner/zendesk.com)', () => {
  it('maps Ticket Created to a WorkItemCreated: id, priority and SLA class, category and tier from tags, requester as customer', () => {
    const event = zendesk('ticket-created');

    const detail = expectEvent(
      mapZendeskEvent(event['detail-type'], event.detail, settings),
      'WorkItemCreated',
    );

    expect(detail).toMatchObject({
      id: 'zendesk-48213',
      kind: 'ticket',
      channel: 'email',
      category: 'billing',
      priority: 4,
      slaClass: 'P2',
      customerTier: 'gold',
      createdAt: '2026-12-04T09:12:01.210448311Z',
      customerId: 'zendesk-user-36611802',
      attributes: { zendeskTicketId: 48213, zendeskType: 'incident', zendeskGroupId: 360001187 },
    });
  });

  it('maps a status change to solved into a WorkItemCompleted by the assignee', () => {
    const event = zendesk('status-changed-solved');

    const detail = expectEvent(
      mapZendeskEvent(event['detail-type'], event.detail, settings),
      'WorkItemCompleted',
    );

    expect(detail).toMatchObject({
      id: 'zendesk-48213',
      outcome: 'resolved',
      handledBy: 'zendesk:21544097',
      completedAt: '2026-12-04T10:41:15.007731940Z',
    });
  });

  it('ignores, with the reason, a status change that does not end the ticket and events it does not read', () => {
    const event = zendesk('status-changed-solved');
    const pending = structuredClone(event.detail) as { ticket_event: { current: string } };
    pending.ticket_event.current = 'pending';

    expect(mapZendeskEvent(event['detail-type'], pending, settings)).toEqual({
      kind: 'ignored',
      reason: 'Zendesk ticket 48213 moved to "pending", which does not end it',
    });
    expect(mapZendeskEvent('Support Ticket: Comment Added', event.detail, settings).kind).toBe('ignored');
  });

  it('rejects a malformed ticket naming the field, and a solved ticket nobody handled', () => {
    const event = zendesk('ticket-created');
    const broken = structuredClone(event.detail) as { ticket_event: { ticket: Record<string, unknown> } };
    delete broken.ticket_event.ticket.id;
    const unassigned = structuredClone(zendesk('status-changed-solved').detail) as {
      ticket_event: { ticket: Record<string, unknown> };
    };
    unassigned.ticket_event.ticket.assignee_id = null;

    expect(mapZendeskEvent(event['detail-type'], broken, settings)).toMatchObject({
      kind: 'rejected',
      field: 'ticket_event.ticket.id',
    });
    expect(mapZendeskEvent('Support Ticket: Status Changed', unassigned, settings)).toMatchObject({
      kind: 'rejected',
      field: 'ticket_event.ticket.assignee_id',
    });
  });

  it('keeps working when Zendesk adds fields to the ticket', () => {
    const event = zendesk('ticket-created');
    const extended = structuredClone(event.detail) as { ticket_event: { ticket: Record<string, unknown> } };
    extended.ticket_event.ticket.custom_status_id = 1900001;

    expect(mapZendeskEvent(event['detail-type'], extended, settings).kind).toBe('event');
  });
});

describe('Jira Service Management webhooks', () => {
  it('maps jira:issue_created to a WorkItemCreated, with Jira time offsets made ISO', () => {
    const detail = expectEvent(mapJiraWebhook(fixture('jira/issue-created'), settings), 'WorkItemCreated');

    expect(detail).toMatchObject({
      id: 'jira-SD-482',
      channel: 'jira',
      category: 'network',
      priority: 4,
      slaClass: 'P2',
      createdAt: '2026-12-04T10:19:00.123+01:00',
      customerId: 'jira-user-5b10ac8d82e05b22cc7d4ef5',
      attributes: { jiraIssueKey: 'SD-482', jiraIssueId: '10482', jiraIssueType: '[System] Incident' },
    });
  });

  it('maps an update into the done category to a WorkItemCompleted by the assignee', () => {
    const detail = expectEvent(mapJiraWebhook(fixture('jira/issue-resolved'), settings), 'WorkItemCompleted');

    expect(detail).toMatchObject({
      id: 'jira-SD-482',
      outcome: 'resolved',
      handledBy: 'jira:61f2c0a9b7e4d100693a1c2e',
      completedAt: '2026-12-04T11:33:40.456+01:00',
    });
  });

  it("records a Won't Do resolution as rejected work, and ignores updates that are not done", () => {
    const wontDo = fixture('jira/issue-resolved') as { issue: { fields: Record<string, unknown> } };
    wontDo.issue.fields.resolution = { id: '10001', name: "Won't Do" };
    const inProgress = fixture('jira/issue-resolved') as { issue: { fields: Record<string, unknown> } };
    inProgress.issue.fields.status = { name: 'In Progress', statusCategory: { key: 'indeterminate' } };

    expect(expectEvent(mapJiraWebhook(wontDo, settings), 'WorkItemCompleted').outcome).toBe('rejected');
    expect(mapJiraWebhook(inProgress, settings).kind).toBe('ignored');
  });

  it('rejects a body that is not an issue webhook, naming the missing field', () => {
    expect(mapJiraWebhook({ timestamp: 1, webhookEvent: 'jira:issue_created' }, settings)).toMatchObject({
      kind: 'rejected',
      field: 'issue',
    });
  });
});

describe('ServiceNow incident webhooks', () => {
  it('maps incident.created to a WorkItemCreated, with ServiceNow UTC date-times made ISO', () => {
    const detail = expectEvent(
      mapServiceNowWebhook(fixture('servicenow/incident-created'), settings),
      'WorkItemCreated',
    );

    expect(detail).toMatchObject({
      id: 'servicenow-INC0010023',
      category: 'network',
      priority: 4,
      slaClass: 'P2',
      createdAt: '2026-12-04T09:30:12Z',
      attributes: { serviceNowSysId: '9d385017c611228701d22104cc95c371', serviceNowNumber: 'INC0010023' },
    });
  });

  it('maps a resolved incident to a WorkItemCompleted by assigned_to', () => {
    const detail = expectEvent(
      mapServiceNowWebhook(fixture('servicenow/incident-resolved'), settings),
      'WorkItemCompleted',
    );

    expect(detail).toMatchObject({
      id: 'servicenow-INC0010023',
      outcome: 'resolved',
      handledBy: 'servicenow:46d44a23a9fe19810012d100cca80666',
      completedAt: '2026-12-04T11:02:45Z',
    });
  });

  it('rejects a priority outside 1-5 and a sys_id that is not one, naming the field', () => {
    const created = fixture('servicenow/incident-created') as Record<string, unknown>;

    expect(mapServiceNowWebhook({ ...created, priority: '0' }, settings)).toMatchObject({
      kind: 'rejected',
      field: 'priority',
    });
    expect(mapServiceNowWebhook({ ...created, sys_id: 'INC0010023' }, settings)).toMatchObject({
      kind: 'rejected',
      field: 'sys_id',
      reason: expect.stringMatching(/32-hex-digit sys_id/),
    });
  });
});

describe('isoTimestamp', () => {
  it.each([
    ['2026-12-04T10:19:00.123+0100', '2026-12-04T10:19:00.123+01:00'],
    ['2026-12-04 09:30:12', '2026-12-04T09:30:12Z'],
    ['2026-12-04T09:30:12Z', '2026-12-04T09:30:12Z'],
    ['2026-12-04T09:30:12-05:30', '2026-12-04T09:30:12-05:30'],
  ])('turns %s into %s', (input, expected) => {
    expect(isoTimestamp(input)).toBe(expected);
  });
});
