import { z } from 'zod';
import {
  type AdapterResult,
  type AdapterSettings,
  agentIdOf,
  asEvent,
  categoryOf,
  channelOf,
  itemIdOf,
  type PriorityMapping,
  tierOf,
} from './mapping';

/**
 * Zendesk's EventBridge partner event source (`aws.partner/zendesk.com/<account>/<name>`), as its
 * Events Connector documentation describes the events: detail-type `Support Ticket: <event>`, and
 * a `detail.ticket_event` with `type`, `meta.occurred_at`, `previous` / `current` for changes, and
 * the ticket. Only the fields the mapping reads are named; the rest are ignored (forward compatible).
 * Zendesk streams no agent availability on this source, so agents come from AgentStatusChanged.
 */

export const ZENDESK_SOURCE_PREFIX = 'aws.partner/zendesk.com';

/** The detail-types the adapter reads: a new ticket, and a status change (solved or closed ends the item). */
export const ZENDESK_DETAIL_TYPES = [
  'Support Ticket: Ticket Created',
  'Support Ticket: Status Changed',
] as const;

const ZendeskTicket = z.object({
  id: z.number().int().positive(),
  created_at: z.string(),
  type: z.string().nullable().optional(),
  priority: z.string().nullable().optional(),
  status: z.string(),
  requester_id: z.number().int().nullable().optional(),
  assignee_id: z.number().int().nullable().optional(),
  group_id: z.number().int().nullable().optional(),
  brand_id: z.number().int().nullable().optional(),
  tags: z.array(z.string()).default([]),
  via: z.object({ channel: z.string().optional() }).optional(),
});

export const ZendeskTicketEvent = z.object({
  ticket_event: z.object({
    type: z.string(),
    meta: z.object({ occurred_at: z.string() }),
    previous: z.unknown().optional(),
    current: z.unknown().optional(),
    ticket: ZendeskTicket,
  }),
});

/** Zendesk priority → Flowtune priority and SLA class; a ticket without one is "normal". */
export const ZENDESK_PRIORITY: Readonly<Record<string, PriorityMapping>> = {
  urgent: { priority: 5, slaClass: 'P1' },
  high: { priority: 4, slaClass: 'P2' },
  normal: { priority: 3, slaClass: 'P3' },
  low: { priority: 2, slaClass: 'P4' },
};

/** Statuses that end the item in Flowtune (Zendesk's own terminal states). */
const DONE_STATUSES = new Set(['solved', 'closed']);

/**
 * Maps one Zendesk partner event to a Flowtune inbound event.
 *
 * @example
 * const result = mapZendeskEvent(event['detail-type'], event.detail, { categoryBy: { billing: 'billing' }, defaultCategory: 'general' });
 * if (result.kind === 'event') await events.publish(result.detailType, result.detail);
 */
export function mapZendeskEvent(
  detailType: string,
  detail: unknown,
  settings: AdapterSettings,
): AdapterResult {
  if (!(ZENDESK_DETAIL_TYPES as readonly string[]).includes(detailType)) {
    return { kind: 'ignored', reason: `Zendesk "${detailType}" is not one Flowtune reads` };
  }
  const parsed = ZendeskTicketEvent.safeParse(detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined ? '(detail)' : issue.path.map(String).join('.');
    return {
      kind: 'rejected',
      field,
      reason: `Zendesk ${detailType}: ${field} ${issue?.message ?? 'is invalid'}`,
    };
  }
  const { ticket, meta, current } = parsed.data.ticket_event;
  const id = itemIdOf('zendesk', ticket.id);

  if (detailType === 'Support Ticket: Ticket Created') {
    const priority = ZENDESK_PRIORITY[ticket.priority ?? 'normal'] ?? ZENDESK_PRIORITY.normal;
    return asEvent(
      'WorkItemCreated',
      {
        id,
        kind: 'ticket',
        channel: channelOf(ticket.via?.channel, 'zendesk'),
        category: categoryOf(settings, [...ticket.tags, ticket.group_id?.toString()]),
        priority: priority?.priority,
        slaClass: priority?.slaClass,
        customerTier: tierOf(settings, ticket.tags),
        createdAt: ticket.created_at,
        ...(ticket.requester_id == null ? {} : { customerId: `zendesk-user-${ticket.requester_id}` }),
        attributes: {
          zendeskTicketId: ticket.id,
          ...(ticket.type == null ? {} : { zendeskType: ticket.type }),
          ...(ticket.group_id == null ? {} : { zendeskGroupId: ticket.group_id }),
        },
      },
      'Zendesk',
    );
  }

  const status = typeof current === 'string' ? current : ticket.status;
  if (!DONE_STATUSES.has(status)) {
    return {
      kind: 'ignored',
      reason: `Zendesk ticket ${ticket.id} moved to "${status}", which does not end it`,
    };
  }
  if (ticket.assignee_id == null) {
    return {
      kind: 'rejected',
      field: 'ticket_event.ticket.assignee_id',
      reason: `Zendesk ticket ${ticket.id} was ${status} with no assignee; Flowtune needs who handled it`,
    };
  }
  return asEvent(
    'WorkItemCompleted',
    {
      id,
      outcome: 'resolved',
      handledBy: agentIdOf('zendesk', ticket.assignee_id),
      completedAt: meta.occurred_at,
    },
    'Zendesk',
  );
}
