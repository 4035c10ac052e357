import { z } from 'zod';
import { PolicyChanged } from '../../domain/events/tuning';
import { DEFAULT_POLICY, Policy } from '../../domain/policy';
import { diffPolicies } from '../../domain/policy/diff';
import type { PolicyChangeKind, PolicyVersionRecord } from '../../domain/tuning/versions';
import type { AuditLog, AuditRecord, Clock, EventPublisher, FeatureStore } from './ports';
import { auditExpiresAt } from './table-layout';
import type { TuningStore } from './tuning-store';

/**
 * The one way the active decision policy changes. A person's approval (ops API), the tuning loop,
 * the allocation job, an experiment's promotion, a rollback to an earlier version and the
 * deploy-time default all call `change` (or `rollbackTo`), which
 *   1. writes the new document as an immutable version (POLICY / V#<version>; a version id is
 *      never reused for another document),
 *   2. activates it only if the active version is still the one the change was computed from
 *      (a conditional write: a concurrent change makes this one retry from the new active
 *      version, when the caller can, or fail with PolicyConflictError — never overwrite),
 *   3. appends a POLICY_CHANGED audit record (actor, reason, what changed) to the policy history,
 *   4. publishes PolicyChanged.
 * Decisions that activate nothing (an experiment rolled back while the control stays active, a
 * rejected approval) go through `announce`: the same audit record and event, no version.
 * Nothing else writes POLICY / ACTIVE (test/unit/policy-store-writers.test.ts keeps it so).
 */

/** Audit trail id of the policy history: one record per change, oldest first. */
export const POLICY_HISTORY_ID = 'policy#history';
export const POLICY_CHANGED_KIND = 'POLICY_CHANGED';

type Evidence = Readonly<Record<string, number | string | boolean>>;

export interface PolicyChangeRequest {
  /** The new document, under a version id not used before. */
  readonly policy: Policy;
  /** The active version the change was computed from (DEFAULT_POLICY.version when none is stored). */
  readonly baseVersion: string;
  readonly kind: PolicyChangeKind;
  readonly reason: string;
  /** `flowtune:<function>` or the person acting. */
  readonly actor: string;
  /** The person who approved it, when one did (the event's `approval` is then 'approved'). */
  readonly approvedBy?: string;
  readonly experimentId?: string;
  readonly evidence?: Evidence;
}

export interface PolicyChangeResult {
  /** `already-active`: a retry of a change that had already taken effect (nothing written twice). */
  readonly outcome: 'activated' | 'already-active';
  readonly version: string;
  readonly previousVersion: string;
  readonly event: PolicyChanged;
}

export interface PolicyAnnouncement {
  readonly kind: Extract<PolicyChangeKind, 'rolled-back' | 'rejected'>;
  /** The version that stays (or becomes) active. */
  readonly policyVersion: string;
  readonly previousVersion: string;
  readonly reason: string;
  readonly actor: string;
  readonly approvedBy?: string;
  readonly experimentId?: string;
  readonly changes?: readonly string[];
  readonly evidence?: Evidence;
}

/** One change in the policy history, as `flowtune ops policies history` shows it. */
export const PolicyHistoryEntry = z.object({
  at: z.string(),
  version: z.string(),
  previousVersion: z.string(),
  kind: z.string(),
  actor: z.string(),
  approvedBy: z.string().optional(),
  reason: z.string(),
  changes: z.array(z.string()),
  experimentId: z.string().optional(),
  activated: z.boolean(),
});
export type PolicyHistoryEntry = z.infer<typeof PolicyHistoryEntry>;

/** The active policy moved on since the change was computed; say from which version to start again. */
export class PolicyConflictError extends Error {
  override readonly name = 'PolicyConflictError';

  constructor(
    readonly activeVersion: string,
    readonly baseVersion: string,
    readonly version: string,
  ) {
    super(
      `the active policy is ${activeVersion}, not ${baseVersion} as when ${version} was computed; nothing was activated — compute the change again from ${activeVersion}`,
    );
  }
}

/** A version id already names another document: versions are immutable, pick a new id. */
export class PolicyVersionTakenError extends Error {
  override readonly name = 'PolicyVersionTakenError';
}

export class UnknownPolicyVersionError extends Error {
  override readonly name = 'UnknownPolicyVersionError';
}

export interface PolicyStoreDeps {
  readonly versions: Pick<
    TuningStore,
    'putPolicyVersion' | 'getPolicyVersion' | 'listPolicyVersions' | 'activatePolicy'
  >;
  readonly features: Pick<FeatureStore, 'getActivePolicy'>;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

export interface ChangeOptions {
  /**
   * Called with the new active policy after a conflict: the change recomputed from it (with a new
   * version id and `baseVersion` = its version), or undefined to give up with PolicyConflictError.
   * @default give up at the first conflict
   */
  readonly rebase?: (active: Policy) => PolicyChangeRequest | undefined;
  /** Attempts in all, the first included. @default 3 */
  readonly maxAttempts?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class PolicyStore {
  constructor(private readonly deps: PolicyStoreDeps) {}

  /** The active policy (DEFAULT_POLICY when none is stored); an invalid stored one throws. */
  active(): Promise<Policy> {
    return this.deps.features.getActivePolicy();
  }

  version(version: string): Promise<PolicyVersionRecord | undefined> {
    return this.deps.versions.getPolicyVersion(version);
  }

  /** Every stored version, oldest first (proposed-and-lost ones included: versions are never lost). */
  versions(): Promise<PolicyVersionRecord[]> {
    return this.deps.versions.listPolicyVersions();
  }

  /** Every change recorded through this port, oldest first. */
  async history(): Promise<PolicyHistoryEntry[]> {
    const records = await this.deps.audit.listForItem(POLICY_HISTORY_ID);
    return records
      .filter((record) => record.kind === POLICY_CHANGED_KIND)
      .flatMap((record) => {
        const details = PolicyHistoryEntry.partial().safeParse(JSON.parse(record.details ?? '{}'));
        if (!details.success) return [];
        return [
          PolicyHistoryEntry.parse({
            changes: [],
            previousVersion: '',
            kind: 'manual',
            reason: '',
            activated: true,
            ...details.data,
            at: record.at,
            actor: record.actor,
            version: record.policyVersion ?? details.data.version ?? '',
          }),
        ];
      });
  }

  /**
   * Writes `request.policy` as a new immutable version and activates it if the active version is
   * still `request.baseVersion`. Safe to retry: a version already active is not applied twice.
   * Throws PolicyConflictError when another change won and the caller cannot (or will not) rebase.
   */
  async change(request: PolicyChangeRequest, options: ChangeOptions = {}): Promise<PolicyChangeResult> {
    const maxAttempts = options.maxAttempts ?? 3;
    let current = request;
    for (let attempt = 1; ; attempt += 1) {
      const policy = Policy.parse(current.policy);
      const now = this.deps.clock.now();
      const stored = await this.deps.versions.getPolicyVersion(policy.version);
      if (stored !== undefined && diffPolicies(stored.policy, policy).length > 0) {
        throw new PolicyVersionTakenError(
          `policy version ${policy.version} already names another document (created by ${stored.createdBy} at ${stored.createdAt}); versions are immutable — use a new version id`,
        );
      }
      if (stored === undefined) {
        await this.deps.versions.putPolicyVersion({
          version: policy.version,
          policy,
          parentVersion: current.baseVersion,
          kind: current.kind,
          reason: current.reason,
          createdAt: iso(now),
          createdBy: current.approvedBy ?? current.actor,
          ...(current.experimentId === undefined ? {} : { experimentId: current.experimentId }),
        });
      }
      const base = await this.baseDocument(current.baseVersion);
      const changes =
        base === undefined ? ['(all)'] : diffPolicies(base, policy).map((change) => change.path);
      if ((await this.deps.versions.activatePolicy(policy, current.baseVersion)) === 'activated') {
        return this.record(current, policy.version, changes, now, 'activated');
      }
      const active = await this.deps.features.getActivePolicy();
      if (active.version === policy.version) {
        // A retry of a change that took effect: record it once more (the audit key repeats, so
        // the trail holds it once) under the version's own creation time.
        const createdAt = stored?.createdAt ?? iso(now);
        return this.record(current, policy.version, changes, Date.parse(createdAt), 'already-active');
      }
      const next = attempt < maxAttempts ? options.rebase?.(active) : undefined;
      if (next === undefined)
        throw new PolicyConflictError(active.version, current.baseVersion, policy.version);
      current = next;
    }
  }

  /**
   * Makes the stored `version` active again (a new activation of the same immutable document),
   * if the active version is still `baseVersion` (default: the one active when called).
   */
  async rollbackTo(input: {
    readonly version: string;
    readonly actor: string;
    readonly reason: string;
    readonly baseVersion?: string;
  }): Promise<PolicyChangeResult> {
    const record = await this.deps.versions.getPolicyVersion(input.version);
    const policy = record?.policy ?? (input.version === DEFAULT_POLICY.version ? DEFAULT_POLICY : undefined);
    if (policy === undefined) {
      throw new UnknownPolicyVersionError(
        `no stored policy version ${input.version}; see the versions with \`flowtune ops policies history\``,
      );
    }
    const baseVersion = input.baseVersion ?? (await this.deps.features.getActivePolicy()).version;
    if (baseVersion === input.version) {
      throw new PolicyConflictError(baseVersion, baseVersion, input.version);
    }
    const base = await this.baseDocument(baseVersion);
    const changes = base === undefined ? ['(all)'] : diffPolicies(base, policy).map((change) => change.path);
    const request: PolicyChangeRequest = {
      policy,
      baseVersion,
      kind: 'rolled-back',
      reason: input.reason,
      actor: input.actor,
      approvedBy: input.actor,
    };
    if ((await this.deps.versions.activatePolicy(policy, baseVersion)) !== 'activated') {
      const active = await this.deps.features.getActivePolicy();
      throw new PolicyConflictError(active.version, baseVersion, input.version);
    }
    return this.record(request, policy.version, changes, this.deps.clock.now(), 'activated');
  }

  /**
   * Stores `policy` as an immutable version without activating it (an experiment's candidate), so
   * a later promotion activates this very document. 'exists' when the same document is stored
   * under that version already; 'taken' when the version names another document.
   */
  async recordVersion(input: {
    readonly policy: Policy;
    readonly baseVersion: string;
    readonly reason: string;
    readonly actor: string;
    readonly experimentId?: string;
  }): Promise<'created' | 'exists' | 'taken'> {
    const policy = Policy.parse(input.policy);
    const stored =
      policy.version === DEFAULT_POLICY.version
        ? { policy: DEFAULT_POLICY }
        : await this.deps.versions.getPolicyVersion(policy.version);
    if (stored !== undefined) return diffPolicies(stored.policy, policy).length > 0 ? 'taken' : 'exists';
    const created = await this.deps.versions.putPolicyVersion({
      version: policy.version,
      policy,
      parentVersion: input.baseVersion,
      kind: 'manual',
      reason: input.reason.slice(0, 2000),
      createdAt: iso(this.deps.clock.now()),
      createdBy: input.actor,
      ...(input.experimentId === undefined ? {} : { experimentId: input.experimentId }),
    });
    if (created === 'created') return 'created';
    const raced = await this.deps.versions.getPolicyVersion(policy.version);
    return raced !== undefined && diffPolicies(raced.policy, policy).length === 0 ? 'exists' : 'taken';
  }

  /** A decision that activates nothing (the active version stays): audited and announced. */
  async announce(decision: PolicyAnnouncement): Promise<PolicyChanged> {
    const now = this.deps.clock.now();
    const event = PolicyChanged.parse({
      schemaVersion: '1',
      policyVersion: decision.policyVersion,
      previousVersion: decision.previousVersion,
      kind: decision.kind,
      changes: [...(decision.changes ?? [])],
      reason: decision.reason,
      actor: decision.actor,
      approval: decision.approvedBy === undefined ? 'automatic' : 'approved',
      ...(decision.approvedBy === undefined ? {} : { approvedBy: decision.approvedBy }),
      ...(decision.experimentId === undefined ? {} : { experimentId: decision.experimentId }),
      evidence: { ...(decision.evidence ?? {}) },
      changedAt: iso(now),
    });
    await this.deps.audit.append(this.auditRecord(event, now, false));
    await this.deps.events.publish('PolicyChanged', event);
    return event;
  }

  private async baseDocument(version: string): Promise<Policy | undefined> {
    if (version === DEFAULT_POLICY.version) return DEFAULT_POLICY;
    return (await this.deps.versions.getPolicyVersion(version))?.policy;
  }

  private async record(
    request: PolicyChangeRequest,
    version: string,
    changes: readonly string[],
    at: number,
    outcome: PolicyChangeResult['outcome'],
  ): Promise<PolicyChangeResult> {
    const event = PolicyChanged.parse({
      schemaVersion: '1',
      policyVersion: version,
      previousVersion: request.baseVersion,
      kind: request.kind,
      changes: changes.slice(0, 100),
      reason: request.reason,
      actor: request.actor,
      approval: request.approvedBy === undefined ? 'automatic' : 'approved',
      ...(request.approvedBy === undefined ? {} : { approvedBy: request.approvedBy }),
      ...(request.experimentId === undefined ? {} : { experimentId: request.experimentId }),
      evidence: { ...(request.evidence ?? {}) },
      changedAt: iso(at),
    });
    await this.deps.audit.append(this.auditRecord(event, at, true));
    await this.deps.events.publish('PolicyChanged', event);
    return { outcome, version, previousVersion: request.baseVersion, event };
  }

  private auditRecord(event: PolicyChanged, at: number, activated: boolean): AuditRecord {
    return {
      itemId: POLICY_HISTORY_ID,
      recordKey: `${event.changedAt}#${POLICY_CHANGED_KIND}#${event.kind}#${event.policyVersion}`,
      kind: POLICY_CHANGED_KIND,
      at: event.changedAt,
      actor: event.actor,
      details: JSON.stringify({
        previousVersion: event.previousVersion,
        kind: event.kind,
        reason: event.reason,
        changes: event.changes,
        activated,
        ...(event.approvedBy === undefined ? {} : { approvedBy: event.approvedBy }),
        ...(event.experimentId === undefined ? {} : { experimentId: event.experimentId }),
      }),
      policyVersion: event.policyVersion,
      expiresAt: auditExpiresAt(at),
    };
  }
}
