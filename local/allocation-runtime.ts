import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AllocationRunOutput, createAllocationHandler } from '../lambdas/allocation/handler';
import { DynamoDbAllocationStore } from '../lambdas/shared/dynamodb-allocation-store';
import type { PolicyStore } from '../lambdas/shared/policy-store';
import type { AuditLog, EventPublisher, FeatureStore, TimerClock } from '../lambdas/shared/ports';
import type { TuningStore } from '../lambdas/shared/tuning-store';
import { every } from './virtual-clock';

/**
 * The allocation job in the local runtime: the real handler (lambdas/allocation/handler.ts) on
 * the runtime's DynamoDB Local ports and bus, started on a timer as the EventBridge schedule
 * starts it on AWS. One run at a time, like the job's own state claim; a failed run is counted
 * and the next tick tries again, as the scheduled Lambda would.
 */

export interface LocalAllocationOptions {
  readonly documentClient: DynamoDBDocumentClient;
  readonly featuresTable: string;
  readonly features: FeatureStore;
  readonly tuning: TuningStore;
  readonly policies: PolicyStore;
  readonly audit: AuditLog;
  readonly events: EventPublisher;
  /** The runtime's clock; the schedule runs on it. */
  readonly clock: TimerClock;
  /** Wall ms between runs; `false`: no timer (runs only through `runOnce`). */
  readonly tickMs: number | false;
}

export interface LocalAllocation {
  /** Runs the job now, unless a run is in progress (then waits for that one and returns its output). */
  runOnce(): Promise<AllocationRunOutput>;
  /** Finished runs and failed runs so far. */
  readonly stats: { readonly runs: number; readonly errors: number; readonly lastError?: string };
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Starts the allocation job's timer.
 *
 * @example
 * const allocation = startLocalAllocation({ documentClient, featuresTable, features, tuning, audit, events, clock, tickMs: 7_500 });
 * await allocation.stop();
 */
export function startLocalAllocation(options: LocalAllocationOptions): LocalAllocation {
  const handler = createAllocationHandler({
    features: options.features,
    tuning: options.tuning,
    policies: options.policies,
    allocation: new DynamoDbAllocationStore({
      client: options.documentClient,
      featuresTable: options.featuresTable,
    }),
    audit: options.audit,
    events: options.events,
    clock: options.clock,
  });
  const stats: { runs: number; errors: number; lastError?: string } = { runs: 0, errors: 0 };
  let inFlight: Promise<AllocationRunOutput> | undefined;
  let stopped = false;

  const runOnce = (): Promise<AllocationRunOutput> => {
    inFlight ??= (async () => {
      try {
        const output = await handler({});
        stats.runs += 1;
        return output;
      } catch (error) {
        stats.errors += 1;
        stats.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const timer =
    options.tickMs === false
      ? undefined
      : every(options.clock, options.tickMs, () => {
          if (!stopped && inFlight === undefined) return runOnce().catch(() => {});
        });

  return {
    runOnce,
    stats,
    stop: async () => {
      stopped = true;
      timer?.cancel();
      await inFlight?.catch(() => {});
    },
  };
}
