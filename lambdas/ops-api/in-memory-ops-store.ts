import type { LiveStage } from '../../domain/ops/bottleneck';
import { PolicyProposal } from '../../domain/ops/policy-proposal';
import type { InMemoryTables } from '../shared/in-memory';
import type { AuditLog, InstanceRecord, InstanceStore } from '../shared/ports';
import type { BacklogPage, OpsStore, TrailRecord } from './ports';

/**
 * OpsStore over the in-memory tables of lambdas/shared/in-memory.ts, for handler tests: the same
 * conditions as DynamoDbOpsStore (test/ops/ops-store-contract.ts runs both through the same cases).
 */
export class InMemoryOpsStore implements OpsStore {
  private readonly proposals = new Map<string, PolicyProposal>();

  constructor(
    private readonly tables: InMemoryTables,
    private readonly instances: InstanceStore,
    private readonly audit: AuditLog,
  ) {}

  async readStage(stage: LiveStage, limit: number): Promise<BacklogPage> {
    const records = await this.instances.listByStage(stage);
    return {
      entries: records.slice(0, limit).map((record) => ({
        itemId: record.itemId,
        stage,
        queue: record.category,
        stageEnteredAt: record.stageEnteredAt,
        slaDueAt: record.slaDueAt,
      })),
      truncated: records.length > limit,
    };
  }

  async trail(itemId: string): Promise<TrailRecord[]> {
    return (await this.audit.listForItem(itemId)).map((record) => ({ ...record }));
  }

  async beginOverride(change: {
    itemId: string;
    taskToken: string;
    fromStage: 'HUMAN_REVIEW' | 'EXCEPTION';
    at: number;
  }): Promise<boolean> {
    const instance = this.tables.instances.get(change.itemId);
    if (instance?.stage !== change.fromStage || instance.taskToken !== change.taskToken) return false;
    const { assignee: _removed, ...rest } = instance;
    const next: InstanceRecord = {
      ...rest,
      stage: 'WAITING_ASSIGNMENT',
      stageEnteredAt: change.at,
      enqueuedAt: change.at,
      waitingFor: 'assignment',
    };
    this.tables.instances.set(change.itemId, next);
    return true;
  }

  async abortOverride(change: {
    itemId: string;
    taskToken: string;
    toStage: 'HUMAN_REVIEW' | 'EXCEPTION';
    at: number;
  }): Promise<boolean> {
    const instance = this.tables.instances.get(change.itemId);
    if (instance?.stage !== 'WAITING_ASSIGNMENT' || instance.taskToken !== change.taskToken) return false;
    this.tables.instances.set(change.itemId, {
      ...instance,
      stage: change.toStage,
      stageEnteredAt: change.at,
      waitingFor: change.toStage === 'HUMAN_REVIEW' ? 'human-review' : 'exception',
    });
    return true;
  }

  async listProposals(): Promise<PolicyProposal[]> {
    return [...this.proposals.values()]
      .map((proposal) => structuredClone(proposal))
      .sort((a, b) => a.proposedAt.localeCompare(b.proposedAt));
  }

  async getProposal(version: string): Promise<PolicyProposal | undefined> {
    const proposal = this.proposals.get(version);
    return proposal === undefined ? undefined : structuredClone(proposal);
  }

  async createProposal(proposal: PolicyProposal): Promise<'created' | 'exists'> {
    if (this.proposals.has(proposal.version)) return 'exists';
    this.proposals.set(proposal.version, PolicyProposal.parse(proposal));
    return 'created';
  }

  async markApproved(
    version: string,
    approval: { approvedBy: string; approvedAt: string; approvalReason: string },
  ): Promise<boolean> {
    const proposal = this.proposals.get(version);
    if (proposal?.status !== 'proposed') return false;
    this.proposals.set(version, { ...proposal, status: 'approved', ...approval });
    return true;
  }
}
