import { DynamoDbOpsStore } from '../../lambdas/ops-api/dynamodb-ops-store';
import { createOpsOperations } from '../../lambdas/ops-api/operations';
import { telemetryFor } from '../../lambdas/shared/observability';
import type { Timer } from '../../lambdas/shared/ports';
import type { LocalRuntime } from '../runtime';
import { every } from '../virtual-clock';
import type { WorkloadPlan } from './plan';

/**
 * A simulated operations lead working the human-review queue through the real operations API
 * (the same operations the deployed ops Lambda runs): each item the policy sent to review is
 * approved after the plan's review time, with a reason, and the approval lands in the audit
 * trail with the person as actor. Exceptions (escalated items) are left for people: they stay
 * in the exception queue, an explicit state the ledger counts.
 */

export interface ReviewerOptions {
  readonly runtime: LocalRuntime;
  readonly plan: WorkloadPlan;
  /** Queue poll interval, in the runtime clock's (simulated) ms. @default 30_000 */
  readonly pollMs?: number;
  /** @default 'local:ops-lead-rosa' */
  readonly actor?: string;
}

export interface ReviewerLog {
  readonly approved: number;
  /** Approvals the API refused (the wait had moved on meanwhile), with the reason. */
  readonly refused: readonly string[];
}

export class SimulatedReviewer {
  private readonly options: ReviewerOptions;
  private readonly reviewSeconds: ReadonlyMap<string, number>;
  private readonly seen = new Set<string>();
  private readonly timers = new Set<Timer>();
  private readonly refused: string[] = [];
  private approved = 0;
  private inFlight = 0;
  private poller: Timer | undefined;
  private polling = false;
  private readonly operations;

  constructor(options: ReviewerOptions) {
    this.options = options;
    this.reviewSeconds = new Map(options.plan.items.map((item) => [item.itemId, item.reviewSeconds]));
    const { runtime } = options;
    this.operations = createOpsOperations({
      features: runtime.ports.features,
      policies: runtime.policies,
      instances: runtime.ports.instances,
      audit: runtime.ports.audit,
      executions: runtime.ports.executions,
      store: new DynamoDbOpsStore({ client: runtime.documentClient, ...runtime.tables }),
      clock: runtime.clock,
      telemetry: telemetryFor('ops-api'),
    });
  }

  start(): void {
    this.poller = every(this.options.runtime.clock, this.options.pollMs ?? 30_000, () => this.poll());
  }

  /** True while a review is pending or being sent. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const waiting = await this.options.runtime.ports.instances.listByStage('HUMAN_REVIEW', 100);
      for (const instance of waiting) {
        if (instance.taskToken === undefined || this.seen.has(instance.itemId)) continue;
        this.seen.add(instance.itemId);
        const seconds = this.reviewSeconds.get(instance.itemId) ?? 120;
        this.inFlight += 1;
        const timer = this.options.runtime.clock.setTimer(seconds * 1000, () => {
          this.timers.delete(timer);
          return this.approve(instance.itemId).finally(() => {
            this.inFlight -= 1;
          });
        });
        this.timers.add(timer);
      }
    } catch (error) {
      this.refused.push(`queue read failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.polling = false;
    }
  }

  private async approve(itemId: string): Promise<void> {
    try {
      await this.operations.approve(
        itemId,
        { reason: 'checked the customer history: route it, the team lead is informed' },
        this.options.actor ?? 'local:ops-lead-rosa',
      );
      this.approved += 1;
    } catch (error) {
      this.refused.push(`${itemId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  stop(): void {
    this.poller?.cancel();
    for (const timer of this.timers) timer.cancel();
    this.inFlight -= this.timers.size;
    this.timers.clear();
  }

  log(): ReviewerLog {
    return { approved: this.approved, refused: [...this.refused] };
  }
}
