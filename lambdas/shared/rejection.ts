import { ItemId } from '../../domain/events';
import type { PersonalData } from '../../domain/personal-data';
import type { AuditLog, AuditRecord, EventPublisher } from './ports';
import { type Pseudonymiser, pseudonymiseInputs } from './pseudonymise';
import { auditRecord, unidentifiedItemId } from './table-layout';

export interface Rejection {
  /** The id as received (may be missing or itself invalid). */
  readonly receivedId: unknown;
  /** Envelope id (or SQS message id) of the event, for `unidentified#<eventId>`. */
  readonly eventId: string;
  readonly detailType: string;
  readonly field: string;
  readonly reason: string;
  readonly issues: readonly { readonly field: string; readonly reason: string }[];
  /** The input as received; pseudonymised before it is stored. */
  readonly inputs: unknown;
  readonly actor: string;
  /** Time of the event (ms), so a redelivered event lands on the same audit key. */
  readonly at: number;
  /** Audit item id for a usable id; defaults to the id itself. */
  readonly auditItemId?: (id: string) => string;
  /** Validates the received id. @default ItemId */
  readonly idSchema?: { safeParse(value: unknown): { success: boolean } };
}

export interface RejectionPorts {
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly pseudonymise: Pseudonymiser;
  /** What in an input is personal data. @default DEFAULT_PERSONAL_DATA */
  readonly personalData?: PersonalData;
}

/**
 * Keeps a refused input and tells its producer: an audit REJECTED record (under the item id when
 * it is usable, else `unidentified#<eventId>`) and a WorkItemRejected event naming the field.
 * Returns the audit item id used.
 */
export async function recordRejection(ports: RejectionPorts, rejection: Rejection): Promise<string> {
  const idSchema = rejection.idSchema ?? ItemId;
  const usableId =
    typeof rejection.receivedId === 'string' && idSchema.safeParse(rejection.receivedId).success
      ? rejection.receivedId
      : undefined;
  const itemId =
    usableId === undefined
      ? unidentifiedItemId(rejection.eventId)
      : (rejection.auditItemId ?? ((id: string) => id))(usableId);
  await ports.audit.append(
    auditRecord({
      itemId,
      kind: 'REJECTED',
      at: rejection.at,
      eventId: rejection.eventId,
      actor: rejection.actor,
      inputs: pseudonymiseInputs(rejection.inputs, ports.pseudonymise, ports.personalData),
      details: {
        detailType: rejection.detailType,
        field: rejection.field,
        reason: rejection.reason,
        issues: rejection.issues,
        eventId: rejection.eventId,
      },
    }),
  );
  await ports.events.publish('WorkItemRejected', {
    schemaVersion: '1',
    id: describeId(rejection.receivedId),
    detailType: rejection.detailType,
    field: rejection.field,
    reason: rejection.reason,
    issues: rejection.issues.map((issue) => ({ field: issue.field, reason: issue.reason })),
    rejectedAt: new Date(rejection.at).toISOString(),
  });
  return itemId;
}

/** The id as the producer sent it, as text; '(missing)' when there was none. */
function describeId(received: unknown): string {
  if (typeof received === 'string') return received.slice(0, 256);
  if (typeof received === 'number' || typeof received === 'boolean') return String(received);
  return '(missing)';
}

/**
 * What an item's trail (oldest first) says of its latest creation: 'accepted' after a RECEIVED,
 * 'refused' after a REJECTED of the creation with no RECEIVED since, 'none' when neither is there.
 */
export function creationVerdict(trail: readonly AuditRecord[]): 'none' | 'accepted' | 'refused' {
  let verdict: 'none' | 'accepted' | 'refused' = 'none';
  for (const record of trail) {
    if (record.kind === 'RECEIVED') verdict = 'accepted';
    else if (record.kind === 'REJECTED' && isCreationRejection(record)) verdict = 'refused';
  }
  return verdict;
}

/**
 * A REJECTED record that refused the item's creation: written by the process's Record Rejection
 * (its details are the validation verdict, with no detailType) or by the intake for a
 * WorkItemCreated. A refused finish event (its detailType names it) does not count.
 */
function isCreationRejection(record: AuditRecord): boolean {
  if (record.details === undefined) return true;
  try {
    const details: unknown = JSON.parse(record.details);
    const detailType =
      typeof details === 'object' && details !== null
        ? (details as { detailType?: unknown }).detailType
        : undefined;
    return detailType === undefined || detailType === 'WorkItemCreated';
  } catch {
    return true;
  }
}
