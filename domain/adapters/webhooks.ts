import { z } from 'zod';
import {
  type AdapterResult,
  type AdapterSettings,
  agentIdOf,
  asEvent,
  categoryOf,
  isoTimestamp,
  itemIdOf,
  type PriorityMapping,
} from './mapping';

/**
 * The two systems that reach Flowtune by outbound webhook (an HTTPS POST to the intake endpoint):
 * Jira Service Management (Jira's issue webhooks, `webhookEvent` jira:issue_created /
 * jira:issue_updated, the issue with its fields) and ServiceNow (an outbound REST message from a
 * business rule on the incident table, whose JSON body the README gives field by field). Only the
 * fields the mappings read are named; the rest are ignored.
 */

// ---- Jira Service Management -----------------------------------------------------------------

const JiraUser = z.object({ accountId: z.string() }).nullable().optional();

export const JiraIssueWebhook = z.object({
  timestamp: z.number().int(),
  webhookEvent: z.string(),
  issue: z.object({
    id: z.string(),
    key: z.string(),
    fields: z.object({
      created: z.string(),
      issuetype: z.object({ name: z.string() }).optional(),
      project: z.object({ key: z.string() }),
      priority: z.object({ name: z.string() }).nullable().optional(),
      status: z.object({ name: z.string(), statusCategory: z.object({ key: z.string() }).optional() }),
      resolution: z.object({ name: z.string() }).nullable().optional(),
      resolutiondate: z.string().nullable().optional(),
      assignee: JiraUser,
      reporter: JiraUser,
      labels: z.array(z.string()).default([]),
    }),
  }),
});

/** Jira's default priority scheme → Flowtune priority and SLA class. */
export const JIRA_PRIORITY: Readonly<Record<string, PriorityMapping>> = {
  Highest: { priority: 5, slaClass: 'P1' },
  High: { priority: 4, slaClass: 'P2' },
  Medium: { priority: 3, slaClass: 'P3' },
  Low: { priority: 2, slaClass: 'P4' },
  Lowest: { priority: 1, slaClass: 'P4' },
};

/** Resolutions that mean the work was not done (Jira's defaults); any other resolution is `resolved`. */
const JIRA_NOT_DONE = new Set(["Won't Do", 'Declined', 'Duplicate', 'Cannot Reproduce']);

export function mapJiraWebhook(body: unknown, settings: AdapterSettings): AdapterResult {
  const parsed = JiraIssueWebhook.safeParse(body);
  if (!parsed.success) return rejectedBy('Jira', parsed.error);
  const { webhookEvent, issue } = parsed.data;
  const { fields } = issue;
  const id = itemIdOf('jira', issue.key);

  if (webhookEvent === 'jira:issue_created') {
    const priority = JIRA_PRIORITY[fields.priority?.name ?? 'Medium'] ?? JIRA_PRIORITY.Medium;
    return asEvent(
      'WorkItemCreated',
      {
        id,
        kind: 'ticket',
        channel: 'jira',
        category: categoryOf(settings, [...fields.labels, fields.project.key, fields.issuetype?.name]),
        priority: priority?.priority,
        slaClass: priority?.slaClass,
        createdAt: isoTimestamp(fields.created),
        ...(fields.reporter == null ? {} : { customerId: `jira-user-${fields.reporter.accountId}` }),
        attributes: {
          jiraIssueKey: issue.key,
          jiraIssueId: issue.id,
          ...(fields.issuetype === undefined ? {} : { jiraIssueType: fields.issuetype.name }),
        },
      },
      'Jira',
    );
  }
  if (webhookEvent !== 'jira:issue_updated') {
    return { kind: 'ignored', reason: `Jira "${webhookEvent}" is not an issue event Flowtune reads` };
  }
  if (fields.status.statusCategory?.key !== 'done') {
    return { kind: 'ignored', reason: `Jira ${issue.key} is "${fields.status.name}", not done` };
  }
  if (fields.assignee == null) {
    return {
      kind: 'rejected',
      field: 'issue.fields.assignee',
      reason: `Jira ${issue.key} is done with no assignee; Flowtune needs who handled it`,
    };
  }
  const resolution = fields.resolution?.name;
  return asEvent(
    'WorkItemCompleted',
    {
      id,
      outcome: resolution !== undefined && JIRA_NOT_DONE.has(resolution) ? 'rejected' : 'resolved',
      handledBy: agentIdOf('jira', fields.assignee.accountId),
      completedAt: isoTimestamp(fields.resolutiondate ?? new Date(parsed.data.timestamp).toISOString()),
    },
    'Jira',
  );
}

// ---- ServiceNow --------------------------------------------------------------------------------

/**
 * The body of the outbound REST message (README, "Connecting ServiceNow"): incident fields by
 * their table column names, date-times as ServiceNow's UTC `YYYY-MM-DD HH:MM:SS`.
 */
export const ServiceNowIncidentWebhook = z.object({
  event: z.enum(['incident.created', 'incident.updated']),
  sys_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be the 32-hex-digit sys_id'),
  number: z.string(),
  category: z.string().optional(),
  assignment_group: z.string().optional(),
  priority: z.enum(['1', '2', '3', '4', '5']),
  state: z.string(),
  opened_at: z.string(),
  resolved_at: z.string().optional(),
  close_code: z.string().optional(),
  assigned_to: z.string().optional(),
  caller_id: z.string().optional(),
});

/** ServiceNow priority 1 (critical) … 5 (planning) → Flowtune priority and SLA class. */
export const SERVICENOW_PRIORITY: Readonly<Record<string, PriorityMapping>> = {
  '1': { priority: 5, slaClass: 'P1' },
  '2': { priority: 4, slaClass: 'P2' },
  '3': { priority: 3, slaClass: 'P3' },
  '4': { priority: 2, slaClass: 'P4' },
  '5': { priority: 1, slaClass: 'P4' },
};

/** Incident states 6 (Resolved) and 7 (Closed) end the item; 8 (Canceled) is not "done" work. */
const SERVICENOW_DONE: Readonly<Record<string, 'resolved' | 'abandoned'>> = {
  '6': 'resolved',
  '7': 'resolved',
  '8': 'abandoned',
};

export function mapServiceNowWebhook(body: unknown, settings: AdapterSettings): AdapterResult {
  const parsed = ServiceNowIncidentWebhook.safeParse(body);
  if (!parsed.success) return rejectedBy('ServiceNow', parsed.error);
  const incident = parsed.data;
  const id = itemIdOf('servicenow', incident.number);

  if (incident.event === 'incident.created') {
    const priority = SERVICENOW_PRIORITY[incident.priority];
    return asEvent(
      'WorkItemCreated',
      {
        id,
        kind: 'ticket',
        channel: 'servicenow',
        category: categoryOf(settings, [incident.category, incident.assignment_group]),
        priority: priority?.priority,
        slaClass: priority?.slaClass,
        createdAt: isoTimestamp(incident.opened_at),
        ...(incident.caller_id === undefined ? {} : { customerId: `servicenow-user-${incident.caller_id}` }),
        attributes: { serviceNowSysId: incident.sys_id, serviceNowNumber: incident.number },
      },
      'ServiceNow',
    );
  }
  const outcome = SERVICENOW_DONE[incident.state];
  if (outcome === undefined) {
    return {
      kind: 'ignored',
      reason: `ServiceNow ${incident.number} is in state ${incident.state}, not ended`,
    };
  }
  if (incident.assigned_to === undefined || incident.assigned_to === '') {
    return {
      kind: 'rejected',
      field: 'assigned_to',
      reason: `ServiceNow ${incident.number} ended with no assigned_to; Flowtune needs who handled it`,
    };
  }
  return asEvent(
    'WorkItemCompleted',
    {
      id,
      outcome,
      handledBy: agentIdOf('servicenow', incident.assigned_to),
      completedAt: isoTimestamp(incident.resolved_at ?? incident.opened_at),
    },
    'ServiceNow',
  );
}

function rejectedBy(system: string, error: z.ZodError): AdapterResult {
  const issue = error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.');
  return { kind: 'rejected', field, reason: `${system} webhook: ${field} ${issue?.message ?? 'is invalid'}` };
}
