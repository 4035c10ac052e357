import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import type { DynamoDbLocal } from '../dynamodb-local';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../runtime';
import { VirtualClock } from '../virtual-clock';
import { diagnose, type LostItemDiagnosis } from './diagnose';
import { type DriverLog, type DriverProgress, WorkloadDriver } from './driver';
import { buildLedger, type ItemOutcome, type RawAuditRecord } from './ledger';
import type { WorkloadPlan } from './plan';
import { seedHistory } from './plan';
import { type ReviewerLog, SimulatedReviewer } from './reviewer';

/**
 * One run of a workload plan on a fresh local runtime: start, seed, drive, settle, read the
 * ledger, stop (always). Shared by `npm run demo`, `npm run soak` and their tests.
 */

/**
 * The policy the demo runs: confidence and risk limits that send only uncertain or hopeless
 * items to people, password resets to automation, one re-route before escalation, and a
 * 10-minute floor on the completion window once the SLA has passed.
 */
export const DEMO_POLICY: Policy = {
  ...DEFAULT_POLICY,
  version: 'demo-2026-11',
  minConfidence: 0.5,
  maxAutoRisk: 0.6,
  automationCategories: ['password-reset'],
  automationMaxPriority: 2,
  maxReroutes: 1,
  minCompletionWindowSeconds: 600,
};

/**
 * Where a virtual run starts: a fixed Monday 08:00 UTC, so two runs of one seed agree to the
 * millisecond, audit trail included.
 */
export const VIRTUAL_EPOCH = Date.parse('2026-03-02T08:00:00Z');

export interface SessionOptions {
  readonly plan: WorkloadPlan;
  /**
   * Simulated seconds per wall second, on the wall clock (a live, watchable run). Absent: virtual
   * time (local/virtual-clock.ts), from VIRTUAL_EPOCH, as fast as the machine allows and the
   * same on every machine.
   */
  readonly timeScale?: number;
  /** @default DEMO_POLICY */
  readonly policy?: Policy;
  /** Seed the category handling history (as a team migrating from its helpdesk would). @default true */
  readonly seedHistory?: boolean;
  /** Work the human-review queue with a simulated reviewer. @default true */
  readonly reviewer?: boolean;
  /** Reuse a DynamoDB Local (tests share one). */
  readonly dynamoDb?: DynamoDbLocal;
  /**
   * Simulated ms to wait, after the last planned arrival, for every item to settle before
   * declaring the rest lost. @default 12 hours
   */
  readonly settleTimeoutMs?: number;
  /** Runs once everything settled and the ledger is read, before the runtime stops (final checks). */
  readonly beforeStop?: (runtime: LocalRuntime, outcomes: readonly ItemOutcome[]) => Promise<void>;
  /** Runs at each settlement poll (e.g. an operator redriving dead letters). */
  readonly operator?: (runtime: LocalRuntime) => Promise<void>;
  readonly onProgress?: (progress: DriverProgress) => void;
  /** Passed through to the runtime (fault injection, dispatch tick, retry interval...). */
  readonly runtime?: Omit<LocalRuntimeOptions, 'dynamoDb' | 'timeScale'>;
  /** Called with the runtime once it runs, before the driver starts (e.g. to sample invariants). */
  readonly onRuntime?: (runtime: LocalRuntime) => (() => void) | undefined;
}

export interface SessionResult {
  readonly plan: WorkloadPlan;
  readonly outcomes: ItemOutcome[];
  readonly audit: ReadonlyMap<string, readonly RawAuditRecord[]>;
  readonly log: DriverLog;
  readonly reviewer: ReviewerLog;
  /** True when every item settled before the timeout. */
  readonly settled: boolean;
  readonly failures: ReturnType<LocalRuntime['failures']>;
  readonly functionStats: LocalRuntime['functionStats'];
  readonly policy: Policy;
  /** Simulated seconds per wall second, or 'virtual'. */
  readonly timeScale: number | 'virtual';
  readonly wallSeconds: { readonly startup: number; readonly drive: number; readonly ledger: number };
  /** Agent states at the end (activeCount must be 0 for everyone once all is settled). */
  readonly agentsAtEnd: readonly {
    readonly agentId: string;
    readonly status: string;
    readonly activeCount: number;
    readonly capacity: number;
  }[];
  /** For the first 20 lost items: what the runtime holds about them, to find out why. */
  readonly lostDiagnoses: readonly LostItemDiagnosis[];
  /** Every WorkItemRejected Flowtune emitted. */
  readonly rejections: readonly {
    readonly id: string;
    readonly detailType: string;
    readonly field: string;
    readonly reason: string;
  }[];
}

async function seedFeatures(runtime: LocalRuntime, policy: Policy, history: boolean): Promise<void> {
  // Through the policy store, as any policy change: a version, the history, PolicyChanged.
  const active = await runtime.policies.active();
  if (active.version !== policy.version) {
    await runtime.policies.change({
      policy,
      baseVersion: active.version,
      kind: 'manual',
      reason: 'the workload plan’s decision policy',
      actor: 'flowtune:workload',
    });
  }
  if (!history) return;
  const categories = seedHistory();
  for (const stats of categories) {
    await runtime.ports.features.updateHandlingStats({ scope: 'category', category: stats.category }, () => ({
      count: stats.count,
      mean: stats.mean,
      m2: stats.m2,
    }));
  }
  // The global line pools the categories (count-weighted mean; within- plus between-category spread).
  const count = categories.reduce((total, stats) => total + stats.count, 0);
  const mean = categories.reduce((total, stats) => total + stats.count * stats.mean, 0) / count;
  const m2 = categories.reduce(
    (total, stats) => total + stats.m2 + stats.count * (stats.mean - mean) ** 2,
    0,
  );
  await runtime.ports.features.updateHandlingStats({ scope: 'global' }, () => ({ count, mean, m2 }));
}

/**
 * Runs `plan` end to end and returns the ledger. The runtime is stopped before this resolves,
 * whatever happens.
 *
 * @example
 * const result = await runSession({ plan: planWorkload({ seed: 1, items: 50, horizonSeconds: 3600 }), timeScale: 600 });
 * result.outcomes.filter((outcome) => outcome.final === 'lost'); // []
 */
export async function runSession(options: SessionOptions): Promise<SessionResult> {
  const policy = options.policy ?? DEMO_POLICY;
  const startupStarted = Date.now();
  const virtualClock =
    options.timeScale === undefined ? new VirtualClock({ start: VIRTUAL_EPOCH }) : undefined;
  const runtime = await startLocalRuntime({
    // Scaled: a round every 250 wall ms (90 simulated s at 360×); virtual: the deployed minute.
    ...(virtualClock === undefined ? { dispatchTickMs: 250, retryIntervalMs: 50 } : {}),
    ...options.runtime,
    ...(virtualClock === undefined ? { timeScale: options.timeScale } : { clock: virtualClock }),
    ...(options.dynamoDb === undefined ? {} : { dynamoDb: options.dynamoDb }),
  }).catch((error: unknown) => {
    virtualClock?.stop();
    throw error;
  });
  let stopSampling: (() => void) | undefined;
  const driver = new WorkloadDriver({
    runtime,
    plan: options.plan,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.operator === undefined
      ? {}
      : { onPoll: () => options.operator?.(runtime) ?? Promise.resolve() }),
  });
  const reviewer = new SimulatedReviewer({ runtime, plan: options.plan });
  try {
    await seedFeatures(runtime, policy, options.seedHistory ?? true);
    stopSampling = options.onRuntime?.(runtime);
    const driveStarted = Date.now();
    driver.start();
    if (options.reviewer ?? true) reviewer.start();
    const { complete } = await driver.finished(options.settleTimeoutMs ?? 12 * 3_600_000);
    driver.stop();
    reviewer.stop();
    stopSampling?.();
    await runtime.idle();
    const ledgerStarted = Date.now();
    const log = driver.log();
    const { outcomes, audit } = await buildLedger(runtime, options.plan, log);
    const agents = await runtime.ports.features.listAgents();
    const lostDiagnoses: LostItemDiagnosis[] = [];
    for (const outcome of outcomes.filter((entry) => entry.final === 'lost').slice(0, 20))
      lostDiagnoses.push(await diagnose(runtime, outcome.itemId));
    await options.beforeStop?.(runtime, outcomes);
    return {
      plan: options.plan,
      outcomes,
      audit,
      log,
      reviewer: reviewer.log(),
      settled: complete,
      failures: runtime.failures(),
      functionStats: structuredClone(runtime.functionStats),
      policy,
      timeScale: options.timeScale ?? 'virtual',
      wallSeconds: {
        startup: (driveStarted - startupStarted) / 1000,
        drive: (ledgerStarted - driveStarted) / 1000,
        ledger: (Date.now() - ledgerStarted) / 1000,
      },
      lostDiagnoses,
      rejections: runtime.emittedEvents('WorkItemRejected').map((event) => {
        const detail = event.detail as Record<string, unknown>;
        return {
          id: String(detail.id),
          detailType: String(detail.detailType),
          field: String(detail.field),
          reason: String(detail.reason),
        };
      }),
      agentsAtEnd: agents.map((agent) => ({
        agentId: agent.agentId,
        status: agent.status,
        activeCount: agent.activeCount,
        capacity: agent.capacity,
      })),
    };
  } finally {
    driver.stop();
    reviewer.stop();
    stopSampling?.();
    await runtime.stop();
    virtualClock?.stop();
  }
}
