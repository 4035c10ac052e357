import { z } from 'zod';
import { AgentStatusChanged, WorkItemCancelled, WorkItemCompleted, WorkItemCreated } from './inbound';
import { WorkItemEscalated, WorkItemRejected, WorkItemRouted } from './outbound';
import { StaffingRecommended } from './staffing';
import { timestampIssues } from './time-bounds';
import { DriftDetected, PolicyChanged } from './tuning';

export * from './common';
export * from './inbound';
export * from './outbound';
export * from './staffing';
export * from './time-bounds';
export * from './tuning';

/** `source` of every event Flowtune itself emits. */
export const FLOWTUNE_SOURCE = 'flowtune';

/** Inbound detail-types and their schemas: the contract SaaS producers code against. */
export const INBOUND_EVENTS = {
  WorkItemCreated,
  WorkItemCompleted,
  WorkItemCancelled,
  AgentStatusChanged,
} as const;

/** Outbound detail-types (source = `flowtune`) and their schemas. */
export const OUTBOUND_EVENTS = {
  WorkItemRouted,
  WorkItemEscalated,
  WorkItemRejected,
  StaffingRecommended,
  PolicyChanged,
  DriftDetected,
} as const;

export type InboundDetailType = keyof typeof INBOUND_EVENTS;
export type OutboundDetailType = keyof typeof OUTBOUND_EVENTS;

export const ALL_EVENTS = { ...INBOUND_EVENTS, ...OUTBOUND_EVENTS } as const;
export type DetailType = keyof typeof ALL_EVENTS;

/** EventBridge delivers this envelope to rule targets; `detail` is validated separately. */
export const EventEnvelope = z.object({
  version: z.string().optional(),
  id: z.string().optional(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string().optional(),
  time: z.string().optional(),
  region: z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

export interface FieldIssue {
  readonly field: string;
  readonly reason: string;
}

export type Validation<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly field: string; readonly reason: string; readonly issues: FieldIssue[] };

/** Largest detail Flowtune accepts; EventBridge's own limit is 256 KB per entry. */
export const MAX_DETAIL_BYTES = 64 * 1024;

function toIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(detail)',
    reason: issue.message,
  }));
}

export interface ValidateOptions {
  /**
   * Flowtune's clock (epoch ms): when given, producers' timestamps must also lie within
   * TIME_BOUNDS of it (see time-bounds.ts). Inbound edges pass it; schema-only checks leave it out.
   */
  readonly now?: number;
}

/**
 * Validates an event detail against its detail-type's schema and names the first bad field,
 * so a rejection tells the producer exactly what to fix.
 *
 * @example
 * const result = validateDetail('WorkItemCreated', event.detail, { now: Date.now() });
 * if (!result.ok) console.log(`${result.field}: ${result.reason}`);
 */
export function validateDetail<K extends DetailType>(
  detailType: K,
  detail: unknown,
  options: ValidateOptions = {},
): Validation<z.infer<(typeof ALL_EVENTS)[K]>> {
  const schema: z.ZodType = ALL_EVENTS[detailType];
  const size = JSON.stringify(detail ?? null).length;
  if (size > MAX_DETAIL_BYTES) {
    const reason = `detail is ${size} bytes; the limit is ${MAX_DETAIL_BYTES}. Move large content out of the event and send a reference.`;
    return { ok: false, field: '(detail)', reason, issues: [{ field: '(detail)', reason }] };
  }
  const parsed = schema.safeParse(detail);
  const issues = parsed.success
    ? options.now === undefined
      ? []
      : timestampIssues(detailType, parsed.data as Record<string, unknown>, options.now)
    : toIssues(parsed.error);
  if (parsed.success && issues.length === 0) {
    return { ok: true, value: parsed.data as z.infer<(typeof ALL_EVENTS)[K]> };
  }
  const first = issues[0] ?? { field: '(detail)', reason: 'invalid' };
  return { ok: false, field: first.field, reason: first.reason, issues };
}

/** Narrows a detail-type string to a known inbound one, or says which are accepted. */
export function isInboundDetailType(detailType: string): detailType is InboundDetailType {
  return Object.hasOwn(INBOUND_EVENTS, detailType);
}

export function unknownDetailTypeReason(detailType: string): string {
  return `unknown detail-type "${detailType}"; accepted: ${Object.keys(INBOUND_EVENTS).join(', ')}`;
}
