import type { BacklogEntry, LiveStage } from '../../domain/ops/bottleneck';
import type { PolicyProposal } from '../../domain/ops/policy-proposal';
import type { Stage } from '../../lib/definitions/tables';

/**
 * What the operations API needs beyond the shared ports (lambdas/shared/ports.ts): a cheap read
 * of the backlog, the raw audit trail, the two conditional writes of an override, and the policy
 * proposals. Each has a DynamoDB implementation (dynamodb-ops-store.ts) and an in-memory one.
 */

export interface BacklogPage {
  readonly entries: readonly BacklogEntry[];
  /** The read stopped at the limit: more items are in the stage. */
  readonly truncated: boolean;
}

export interface BacklogSource {
  /** Items in a stage from the byStage index, oldest first, at most `limit`, projected to what the view needs. */
  readStage(stage: LiveStage, limit: number): Promise<BacklogPage>;
}

/** One audit record with every attribute it was written with (the ASL writes some of its own). */
export interface TrailRecord {
  readonly recordKey: string;
  readonly kind: string;
  readonly at: string;
  readonly actor: string;
  readonly [attribute: string]: unknown;
}

export interface AuditTrailReader {
  /** The item's audit records in time order, all attributes kept. */
  trail(itemId: string): Promise<TrailRecord[]>;
}

export interface OverrideWrites {
  /**
   * Moves a person's wait (HUMAN_REVIEW or EXCEPTION) into WAITING_ASSIGNMENT with the same token, so
   * the capacity claim (FeatureStore.claimCapacity) can take it. Condition: the stage is `fromStage`
   * and the stored token is `taskToken`: two people acting on one task cannot both begin.
   */
  beginOverride(change: {
    readonly itemId: string;
    readonly taskToken: string;
    readonly fromStage: Extract<Stage, 'HUMAN_REVIEW' | 'EXCEPTION'>;
    readonly at: number;
  }): Promise<boolean>;
  /**
   * Puts the wait back after a claim lost its condition. Condition: still WAITING_ASSIGNMENT with
   * `taskToken` (the dispatcher may have claimed it meanwhile; then nothing changes).
   */
  abortOverride(change: {
    readonly itemId: string;
    readonly taskToken: string;
    readonly toStage: Extract<Stage, 'HUMAN_REVIEW' | 'EXCEPTION'>;
    readonly at: number;
  }): Promise<boolean>;
}

export interface PolicyProposalStore {
  listProposals(): Promise<PolicyProposal[]>;
  getProposal(version: string): Promise<PolicyProposal | undefined>;
  /** Stores a new proposal; 'exists' when that version was proposed before (proposals are immutable). */
  createProposal(proposal: PolicyProposal): Promise<'created' | 'exists'>;
  /** Marks a proposal approved. Condition: it is still 'proposed'. */
  markApproved(
    version: string,
    approval: { readonly approvedBy: string; readonly approvedAt: string; readonly approvalReason: string },
  ): Promise<boolean>;
}

/** Everything the ops API stores beyond the shared ports, as one object. */
export interface OpsStore extends BacklogSource, AuditTrailReader, OverrideWrites, PolicyProposalStore {}

/** Features-table keys of a proposal: next to the active policy (pk POLICY, sk ACTIVE). */
export const PROPOSAL_SK_PREFIX = 'PROPOSAL#';
