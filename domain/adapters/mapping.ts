import {
  type InboundDetailType,
  type Validation,
  validateDetail,
  type WorkItemCompleted,
  type WorkItemCreated,
} from '../events';

/**
 * What an adapter makes of one message from a ticketing system: a Flowtune inbound event (already
 * validated against its schema), a message Flowtune has no use for (said why, so it is logged and
 * counted, not silently dropped), or a message it should have understood but could not (recorded
 * as rejected with the field and the reason, like any bad inbound event).
 */
export type AdapterResult =
  | {
      readonly kind: 'event';
      readonly detailType: Extract<InboundDetailType, 'WorkItemCreated' | 'WorkItemCompleted'>;
      readonly detail: WorkItemCreated | WorkItemCompleted;
    }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'rejected'; readonly field: string; readonly reason: string };

/** Per-deployment choices an adapter cannot guess: how the system's queues and tiers map to Flowtune's. */
export interface AdapterSettings {
  /** Flowtune category (skill slug) for a system tag, group or project key, first match wins. */
  readonly categoryBy: Readonly<Record<string, string>>;
  /** The category when nothing in `categoryBy` matches. */
  readonly defaultCategory: string;
  /** Customer tier for a system tag (e.g. `vip` → gold). */
  readonly tierByTag?: Readonly<Record<string, 'standard' | 'silver' | 'gold' | 'platinum'>>;
}

/** Flowtune's priority (1 lowest … 5 highest) and the SLA class it implies. */
export interface PriorityMapping {
  readonly priority: 1 | 2 | 3 | 4 | 5;
  readonly slaClass: 'P1' | 'P2' | 'P3' | 'P4';
}

/** Validates what a mapping produced against the Flowtune schema, so an adapter can never emit a bad event. */
export function asEvent(
  detailType: 'WorkItemCreated' | 'WorkItemCompleted',
  detail: Record<string, unknown>,
  system: string,
): AdapterResult {
  const checked = validateDetail(detailType, detail) as Validation<WorkItemCreated | WorkItemCompleted>;
  if (checked.ok) return { kind: 'event', detailType, detail: checked.value };
  return {
    kind: 'rejected',
    field: checked.field,
    reason: `the ${system} message maps to a ${detailType} whose ${checked.field} ${checked.reason}`,
  };
}

/** A Flowtune item id from a system's own id: only the characters an execution name allows. */
export function itemIdOf(system: string, id: string | number): string {
  return `${system}-${String(id).replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 80);
}

/** An agent id from a system's user id, in Flowtune's agent id alphabet. */
export function agentIdOf(system: string, id: string | number): string {
  return `${system}:${String(id).replace(/[^A-Za-z0-9_.:@-]/g, '_')}`.slice(0, 128);
}

/** The category for the first of `keys` that `settings.categoryBy` names, else the default. */
export function categoryOf(settings: AdapterSettings, keys: readonly (string | undefined)[]): string {
  for (const key of keys) {
    if (key !== undefined && Object.hasOwn(settings.categoryBy, key)) {
      return settings.categoryBy[key] as string;
    }
  }
  return settings.defaultCategory;
}

/** The tier for the first tag `settings.tierByTag` names, else standard. */
export function tierOf(settings: AdapterSettings, tags: readonly string[]): string {
  for (const tag of tags) {
    const tier = settings.tierByTag?.[tag];
    if (tier !== undefined) return tier;
  }
  return 'standard';
}

/**
 * ISO 8601 with a colon in the offset, from the forms ticketing systems send: Jira's
 * `2026-12-04T10:15:00.000+0100`, ServiceNow's UTC `2026-12-04 10:15:00`, or ISO already.
 */
export function isoTimestamp(value: string): string {
  const servicenow = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
  if (servicenow !== null) return `${servicenow[1]}T${servicenow[2]}Z`;
  return value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}

/** A channel name that fits Flowtune's 1-32 characters. */
export function channelOf(value: string | undefined, fallback: string): string {
  const channel = (value ?? '').trim().slice(0, 32);
  return channel === '' ? fallback : channel;
}
