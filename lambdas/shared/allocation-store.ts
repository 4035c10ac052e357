import { z } from 'zod';
import {
  AllocationJobState,
  AllocationSettings,
  type AllocationSettingsInput,
  ArrivalDay,
} from '../../domain/allocation/job';
import { StaffingRecommended } from '../../domain/events/staffing';

/**
 * The allocation job's storage port and where it lives in the Features table. A DynamoDB and an
 * in-memory implementation follow the same contract (the conditions in each method's TSDoc);
 * the agents' queues themselves are on their AGENT records (FeatureStore.assignQueue).
 *
 * Features (pk, sk):
 *   POLICY     / ALLOCATION                           AllocationSettings (queues, guardrails), next to the policy
 *   ALLOCATION / STATE                                { state: AllocationJobState (JSON), revision }
 *   ALLOCATION / ARRIVALS#<interval min>#<UTC day>    ArrivalDay: counts per category per interval (JSON)
 *   ALLOCATION / APPROVAL#<recommendationId>          a recommendation left for approval, and what became of it
 */

export const ALLOCATION_PK = 'ALLOCATION';
/** Under pk POLICY, beside the active decision policy and the tuning settings. */
export const ALLOCATION_SETTINGS_SK = 'ALLOCATION';
export const ALLOCATION_STATE_SK = 'STATE';
export const ARRIVALS_PREFIX = 'ARRIVALS#';
export const ALLOCATION_APPROVAL_PREFIX = 'APPROVAL#';
/** Arrival rollups outlive the longest history the settings allow (56 days). */
export const ARRIVAL_RETENTION_DAYS = 63;
/** Approvals, decided or not, are kept this long after their recommendation lapsed. */
export const APPROVAL_RETENTION_DAYS = 30;

const IsoTime = z.iso.datetime({ offset: true });

export const ApprovalStatus = z.enum(['pending', 'approved', 'rejected', 'expired', 'applied', 'failed']);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** A recommendation the guardrails left for a person, with its fate. */
export const AllocationApproval = z.object({
  recommendationId: z.string().min(1),
  recommendation: StaffingRecommended,
  status: ApprovalStatus,
  requestedAt: IsoTime,
  /** The recommendation's validUntil: unapproved by then, it expires. */
  validUntil: IsoTime,
  /** Every change of status after the request: who (a person or `flowtune:allocation`), when, why. */
  history: z
    .array(z.object({ status: ApprovalStatus, by: z.string().min(1), at: IsoTime, reason: z.string() }))
    .default([]),
});
export type AllocationApproval = z.infer<typeof AllocationApproval>;

export interface StoredAllocationState {
  readonly state: AllocationJobState;
  readonly revision: number;
}

export class InvalidAllocationSettingsError extends Error {
  override readonly name = 'InvalidAllocationSettingsError';
}

/** Parses the stored settings document, naming the first bad field (an edge like any other). */
export function parseAllocationSettings(raw: unknown): AllocationSettings {
  const parsed = AllocationSettings.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InvalidAllocationSettingsError(
    `stored allocation settings (pk POLICY, sk ALLOCATION) are invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
  );
}

/** One entry of an approval's history. */
export function historyEntry(
  status: ApprovalStatus,
  resolution: { readonly by: string; readonly reason: string; readonly at: number },
): AllocationApproval['history'][number] {
  return { status, by: resolution.by, at: new Date(resolution.at).toISOString(), reason: resolution.reason };
}

export function arrivalDaySortKey(intervalMinutes: number, day: string): string {
  return `${ARRIVALS_PREFIX}${intervalMinutes}#${day}`;
}

export interface AllocationStore {
  /** The settings, or undefined when none are stored (the job then does nothing). Throws InvalidAllocationSettingsError. */
  readSettings(): Promise<AllocationSettings | undefined>;
  saveSettings(settings: AllocationSettingsInput): Promise<void>;
  readState(): Promise<StoredAllocationState | undefined>;
  /** Condition: the stored revision is `expectedRevision` (nothing stored when undefined): one run acts at a time. */
  saveState(state: AllocationJobState, expectedRevision: number | undefined): Promise<'saved' | 'conflict'>;
  /** Rollups of `intervalMinutes` for the UTC days fromDay..toDay (YYYY-MM-DD, inclusive), oldest first. */
  readArrivalDays(intervalMinutes: number, fromDay: string, toDay: string): Promise<ArrivalDay[]>;
  /** Writes each day whole (a rollup is recomputed from the buckets, so a retried write is the same write). */
  putArrivalDays(days: readonly ArrivalDay[]): Promise<void>;
  /** Condition: no approval of this recommendation exists yet ('exists'). */
  putApproval(approval: AllocationApproval): Promise<'created' | 'exists'>;
  /** Approvals in any of `statuses`, oldest request first. */
  listApprovals(statuses: readonly ApprovalStatus[]): Promise<AllocationApproval[]>;
  /**
   * Moves an approval from `from` to `to` (a person approving or rejecting a pending one; the job
   * marking an approved one applied or failed, a lapsed one expired). Condition: its status is
   * still `from`, so two deciders never both win.
   */
  transitionApproval(
    recommendationId: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    resolution: { readonly by: string; readonly reason: string; readonly at: number },
  ): Promise<'transitioned' | 'conflict'>;
}

// ---------------------------------------------------------------------------------------------
// In memory
// ---------------------------------------------------------------------------------------------

const copy = <T>(value: T): T => structuredClone(value);

/** AllocationStore in memory, with the DynamoDB store's conditions. */
export class InMemoryAllocationStore implements AllocationStore {
  private settings: unknown;
  private state: StoredAllocationState | undefined;
  private readonly days = new Map<string, ArrivalDay>();
  private readonly approvals = new Map<string, AllocationApproval>();

  async readSettings(): Promise<AllocationSettings | undefined> {
    return this.settings === undefined ? undefined : parseAllocationSettings(copy(this.settings));
  }

  async saveSettings(settings: AllocationSettingsInput): Promise<void> {
    this.settings = copy(AllocationSettings.parse(settings));
  }

  /** Test helper: stores a settings document as is, valid or not. */
  seedSettings(raw: unknown): void {
    this.settings = copy(raw);
  }

  async readState(): Promise<StoredAllocationState | undefined> {
    return this.state === undefined ? undefined : copy(this.state);
  }

  async saveState(
    state: AllocationJobState,
    expectedRevision: number | undefined,
  ): Promise<'saved' | 'conflict'> {
    if (this.state?.revision !== expectedRevision) return 'conflict';
    this.state = { state: AllocationJobState.parse(copy(state)), revision: (expectedRevision ?? 0) + 1 };
    return 'saved';
  }

  async readArrivalDays(intervalMinutes: number, fromDay: string, toDay: string): Promise<ArrivalDay[]> {
    return [...this.days.values()]
      .filter((day) => day.intervalMinutes === intervalMinutes && day.day >= fromDay && day.day <= toDay)
      .sort((a, b) => a.day.localeCompare(b.day))
      .map(copy);
  }

  async putArrivalDays(days: readonly ArrivalDay[]): Promise<void> {
    for (const day of days)
      this.days.set(arrivalDaySortKey(day.intervalMinutes, day.day), ArrivalDay.parse(copy(day)));
  }

  async putApproval(approval: AllocationApproval): Promise<'created' | 'exists'> {
    if (this.approvals.has(approval.recommendationId)) return 'exists';
    this.approvals.set(approval.recommendationId, AllocationApproval.parse(copy(approval)));
    return 'created';
  }

  async listApprovals(statuses: readonly ApprovalStatus[]): Promise<AllocationApproval[]> {
    return [...this.approvals.values()]
      .filter((approval) => statuses.includes(approval.status))
      .sort(
        (a, b) =>
          a.requestedAt.localeCompare(b.requestedAt) || a.recommendationId.localeCompare(b.recommendationId),
      )
      .map(copy);
  }

  async transitionApproval(
    recommendationId: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    resolution: { by: string; reason: string; at: number },
  ): Promise<'transitioned' | 'conflict'> {
    const approval = this.approvals.get(recommendationId);
    if (approval?.status !== from) return 'conflict';
    this.approvals.set(recommendationId, {
      ...approval,
      status: to,
      history: [...approval.history, historyEntry(to, resolution)],
    });
    return 'transitioned';
  }
}
