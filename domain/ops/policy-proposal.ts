import { z } from 'zod';
import { Policy, PolicyVersion } from '../policy';

/**
 * Policy proposals: an operator proposes a new version of the decision policy (validated by the
 * Policy schema), another operator approves it, and only then does it become the active policy.
 * Pure rules; the ops API stores proposals next to the active policy in the Features table.
 */

export const PolicyProposalStatus = z.enum(['proposed', 'approved']);

export const PolicyProposal = z.object({
  version: PolicyVersion,
  policy: Policy,
  rationale: z.string().min(1),
  proposedBy: z.string().min(1),
  proposedAt: z.iso.datetime({ offset: true }),
  status: PolicyProposalStatus,
  approvedBy: z.string().optional(),
  approvedAt: z.iso.datetime({ offset: true }).optional(),
  approvalReason: z.string().optional(),
  /** Fields that differ from the policy active when it was proposed. */
  changes: z.array(z.string()),
  /**
   * The version active when it was proposed: approval activates it only if that one is still
   * active, so a concurrent change (the tuning loop's, say) is never overwritten unseen.
   * Absent on proposals stored before it was recorded (then: the version active at approval).
   */
  baseVersion: z.string().min(1).optional(),
});
export type PolicyProposal = z.infer<typeof PolicyProposal>;

/**
 * Why a proposal cannot be accepted, or undefined when it can: its version must be new.
 *
 * @example
 * proposalObstacle(policy, DEFAULT_POLICY, ['v2']); // undefined for policy.version 'v3'
 */
export function proposalObstacle(
  proposed: Policy,
  active: Policy,
  existingVersions: readonly string[],
): string | undefined {
  if (proposed.version === active.version) {
    return `version "${proposed.version}" is the active policy's version; give the proposal a new version`;
  }
  if (existingVersions.includes(proposed.version)) {
    return `a proposal of version "${proposed.version}" already exists; proposals are immutable, use a new version`;
  }
  if (policyChanges(active, proposed).length === 0) {
    return 'the proposal changes nothing but the version';
  }
  return undefined;
}

/** Why `approver` cannot approve `proposal`, or undefined when they can (four eyes). */
export function approvalObstacle(proposal: PolicyProposal, approver: string): string | undefined {
  if (proposal.status !== 'proposed') {
    return `proposal ${proposal.version} is already ${proposal.status} (by ${proposal.approvedBy ?? 'unknown'})`;
  }
  if (proposal.proposedBy === approver) {
    return `proposal ${proposal.version} was proposed by ${approver}: another person must approve it`;
  }
  return undefined;
}

/** The top-level and routing fields whose values differ (the version excluded). */
export function policyChanges(from: Policy, to: Policy): string[] {
  const fields = (Object.keys(to) as (keyof Policy)[]).filter((field) => field !== 'version');
  const changed: string[] = [];
  for (const field of fields) {
    if (field === 'routing') {
      if (from.routing.strategy !== to.routing.strategy) changed.push('routing.strategy');
      if (stable(from.routing.weights) !== stable(to.routing.weights)) changed.push('routing.weights');
    } else if (stable(from[field]) !== stable(to[field])) changed.push(field);
  }
  return changed;
}

/** JSON with sorted keys, so equal objects compare equal whatever their key order. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stable(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
