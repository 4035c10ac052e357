import type { LpSolver, RunMetrics } from '../../domain/metrics';
import { highsSolver } from '../lp';
import { type CalibratedReplay, loadReplay, type ReplayModel, replay } from '../replay';
import type { PredictionVariant } from '../run';
import {
  type PooledReference,
  pooledReference,
  type ReplicationResult,
  replicationSeed,
  runReplication,
  toReplicationResult,
  withPredictions,
} from '../run';
import { loadScenario } from '../scenario';
import { buildWorkload } from '../workload';

export type { PredictionVariant };

/** One unit of benchmark work, small enough to balance across worker threads. */
export type BenchTask =
  | {
      readonly kind: 'grid';
      readonly id: number;
      readonly scenarioPath: string;
      readonly variant: PredictionVariant;
      readonly load: number;
      readonly replication: number;
      readonly seed: number;
      /** All policies run on the same workload: common random numbers. */
      readonly policies: readonly string[];
    }
  | {
      readonly kind: 'replay';
      readonly id: number;
      readonly logPath: string;
      readonly policy: string;
      readonly seed: number;
    };

export type BenchTaskResult =
  | {
      readonly kind: 'grid';
      readonly id: number;
      readonly results: Readonly<Record<string, ReplicationResult>>;
      readonly reference: PooledReference;
      readonly elapsedMs: number;
    }
  | {
      readonly kind: 'replay';
      readonly id: number;
      readonly policy: string;
      readonly metrics: RunMetrics;
      readonly summary: ReplayModel['summary'];
      readonly rounds: number;
      readonly meanDecisionMillis: number;
      readonly elapsedMs: number;
    }
  | { readonly kind: 'error'; readonly id: number; readonly message: string };

/** Per-thread caches: HiGHS loads once, each log is parsed once. */
export interface TaskContext {
  solver?: LpSolver;
  readonly replays: Map<string, Promise<CalibratedReplay>>;
}

export async function executeTask(task: BenchTask, context: TaskContext): Promise<BenchTaskResult> {
  const started = performance.now();
  try {
    if (task.kind === 'grid') {
      context.solver ??= await highsSolver();
      const scenario = withPredictions(loadScenario(task.scenarioPath), task.variant);
      const workload = buildWorkload(
        scenario,
        task.load,
        replicationSeed(task.seed, task.replication),
        context.solver,
      );
      const results: Record<string, ReplicationResult> = {};
      for (const policy of task.policies)
        results[policy] = toReplicationResult(workload, runReplication(workload, policy));
      return {
        kind: 'grid',
        id: task.id,
        results,
        reference: pooledReference(workload),
        elapsedMs: performance.now() - started,
      };
    }
    let model = context.replays.get(task.logPath);
    if (model === undefined) {
      model = loadReplay(task.logPath, { seed: task.seed });
      context.replays.set(task.logPath, model);
    }
    const loaded = (await model).model;
    const result = replay(loaded, task.policy);
    return {
      kind: 'replay',
      id: task.id,
      policy: task.policy,
      metrics: result.metrics,
      summary: loaded.summary,
      rounds: result.rounds,
      meanDecisionMillis: result.rounds === 0 ? 0 : result.decisionMillis.total / result.rounds,
      elapsedMs: performance.now() - started,
    };
  } catch (error) {
    return {
      kind: 'error',
      id: task.id,
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
}
