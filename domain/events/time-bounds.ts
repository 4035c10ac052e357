import type { FieldIssue } from './index';

/**
 * How far producers' timestamps may stray from Flowtune's clock. A clock a little ahead is normal
 * (skew); a time far ahead would freeze state keyed on it (an agent whose `changedAt` is in the
 * year 9999 makes every later real update "stale"), and one far behind would feed statistics with
 * years of handling time. Outside the bounds the event is rejected with the field named.
 */
export const TIME_BOUNDS = {
  /** A fact (created, completed, changed...) may be stamped at most this far ahead of now. */
  maxSkewMs: 15 * 60_000,
  /** ...and at most this far behind (the audit retention is 400 days). */
  maxAgeMs: 366 * 24 * 60 * 60_000,
  /** A due time or shift end may lie at most this far ahead (a Standard execution lives at most a year). */
  maxHorizonMs: 366 * 24 * 60 * 60_000,
} as const;

type Kind = 'fact' | 'deadline';

/** The timestamp fields of each inbound detail-type and what they mean. */
const TIMESTAMP_FIELDS: Readonly<Record<string, readonly (readonly [string, Kind])[]>> = {
  WorkItemCreated: [
    ['createdAt', 'fact'],
    ['slaDueAt', 'deadline'],
  ],
  WorkItemCompleted: [
    ['startedAt', 'fact'],
    ['completedAt', 'fact'],
  ],
  WorkItemCancelled: [['cancelledAt', 'fact']],
  AgentStatusChanged: [
    ['changedAt', 'fact'],
    ['shiftEndsAt', 'deadline'],
  ],
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The timestamp fields of a schema-valid inbound detail that lie outside {@link TIME_BOUNDS} of
 * `now`, or out of order (a start after its completion); empty when all are plausible.
 *
 * @example
 * timestampIssues('AgentStatusChanged', { changedAt: '9999-12-31T00:00:00Z' }, Date.now());
 * // [{ field: 'changedAt', reason: 'is 7973 years ahead of now ...' }]
 */
export function timestampIssues(
  detailType: string,
  detail: Readonly<Record<string, unknown>>,
  now: number,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [field, kind] of TIMESTAMP_FIELDS[detailType] ?? []) {
    const value = detail[field];
    if (typeof value !== 'string') continue;
    const at = Date.parse(value);
    const latest = now + (kind === 'fact' ? TIME_BOUNDS.maxSkewMs : TIME_BOUNDS.maxHorizonMs);
    const earliest = now - TIME_BOUNDS.maxAgeMs;
    if (!Number.isFinite(at)) issues.push({ field, reason: 'is not a readable time' });
    else if (at > latest) {
      issues.push({
        field,
        reason: `${value} is later than ${iso(latest)}: ${
          kind === 'fact'
            ? `a fact may be stamped at most ${TIME_BOUNDS.maxSkewMs / 60_000} minutes ahead of Flowtune's clock`
            : 'at most 366 days ahead'
        } (${iso(now)}); check the producer's clock or time zone`,
      });
    } else if (at < earliest) {
      issues.push({
        field,
        reason: `${value} is earlier than ${iso(earliest)} (366 days before Flowtune's clock, ${iso(now)}); check the producer's clock or time zone`,
      });
    }
  }
  if (detailType === 'WorkItemCompleted' && typeof detail.startedAt === 'string') {
    const started = Date.parse(detail.startedAt);
    const completed = Date.parse(String(detail.completedAt));
    if (started > completed) {
      issues.push({
        field: 'startedAt',
        reason: `${detail.startedAt} is after completedAt ${detail.completedAt}`,
      });
    }
  }
  return issues;
}
