import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { FaultPlan, type FaultPlanOptions } from '../faults';
import { LOCAL_EVENT_BUS_NAME } from '../local-names';
import type { LocalRuntime } from '../runtime';
import type { LostItemDiagnosis } from '../workload/diagnose';
import type { DriverProgress } from '../workload/driver';
import { computeKpis, type DemoKpis } from '../workload/kpis';
import { planWorkload, type TroubleShares, type WorkloadPlan } from '../workload/plan';
import { runSession, type SessionResult } from '../workload/session';
import { type TroubleRow, troubleRows } from '../workload/trouble';

/**
 * The soak: thousands of work items through the local runtime with duplicates, malformed events,
 * completions out of order and injected faults (local/faults.ts), then the invariants Flowtune
 * promises, read back from the runtime's own records:
 * - nothing lost: every item completed, rejected with a reason, cancelled, or in the human
 *   exception queue;
 * - exactly one routing decision per attempt: one ASSIGNED and one ROUTED record and one
 *   WorkItemRouted event per (item, attempt) that reached an agent;
 * - capacity never exceeded: every agent's activeCount ≤ capacity at every sample, and at the end
 *   activeCount equals the items whose instance says that agent holds a slot (no leak, no double
 *   release).
 */

/** 10% duplicates, 5% malformed, 5% completions racing their wait, and the rest of the trouble. */
export const SOAK_TROUBLE: TroubleShares = {
  duplicateCreated: 0.1,
  malformed: 0.05,
  duplicateCompletion: 0.05,
  earlyCompletion: 0.05,
  neverCompletes: 0.005,
  cancelled: 0.01,
  rush: 0.01,
};

/**
 * The soak's default faults: AWS calls throttled and failing now and then (at the ports and
 * inside the SDK's retry loop), and every function crashing or timing out after its work at 1%;
 * `intensity` multiplies every rate.
 */
export function defaultSoakFaults(seed: number, intensity = 1): FaultPlanOptions {
  const rate = (value: number) => Math.min(1, value * intensity);
  const handler = { crashRate: rate(0.01), timeoutRate: rate(0.01) };
  return {
    seed,
    dynamoDb: { throttleRate: rate(0.003), errorRate: rate(0.001) },
    executions: { throttleRate: rate(0.003) },
    events: { errorRate: rate(0.003) },
    dispatch: { errorRate: rate(0.003) },
    dynamoDbRequests: { throttleRate: rate(0.005), errorRate: rate(0.002) },
    handlers: {
      intake: handler,
      validate: handler,
      score: handler,
      park: handler,
      dispatcher: handler,
      completion: handler,
      agentStatus: handler,
      recordOutcome: handler,
    },
  };
}

export interface SoakOptions {
  readonly items: number;
  readonly seed: number;
  /** Arrivals per wall second. */
  readonly ratePerSecond: number;
  /** Simulated seconds per wall second. */
  readonly timeScale: number;
  readonly agents: number;
  /** The fault plan; `false` for none. */
  readonly faults: FaultPlanOptions | false;
  readonly onProgress?: (progress: DriverProgress) => void;
  /** @default 180_000 */
  readonly settleTimeoutMs?: number;
}

export interface CapacityCheck {
  readonly samples: number;
  /** Samples where some agent held more than its capacity. */
  readonly violations: readonly string[];
  /** Highest activeCount / capacity seen. */
  readonly peakUtilisation: number;
  /** At the end: agents whose activeCount differs from the slots their instances say they hold. */
  readonly leaks: readonly string[];
}

export interface SoakResult {
  readonly options: SoakOptions;
  readonly session: SessionResult;
  readonly kpis: DemoKpis;
  readonly trouble: readonly TroubleRow[];
  readonly capacity: CapacityCheck;
  readonly faultsInjected: Readonly<Record<string, number>>;
  readonly redriven: number;
  /** Valid items whose ROUTED, ASSIGNED or WorkItemRouted count for an attempt was not exactly one. */
  readonly routingViolations: readonly string[];
  /** Valid items that reached an agent (at least one routing decision). */
  readonly routedItems: number;
  readonly wallSeconds: number;
  readonly passed: boolean;
  /** For the first lost items: what the runtime holds about them, to find out why. */
  readonly lost: readonly LostItemDiagnosis[];
}

/** What an operator does with docs/redrive.md, locally: dead letters back to their queue, failed deliveries back on the bus. */
export async function redriveDeadLetters(runtime: LocalRuntime): Promise<number> {
  let moved = 0;
  for (const queue of Object.values(runtime.queues)) {
    for (const dead of queue.deadLetters.splice(0)) {
      const { body, groupId, messageId } = dead.message;
      queue.send({
        body,
        ...(groupId === undefined
          ? {}
          : { groupId, deduplicationId: `${messageId}-redriven-${moved}-${Date.now()}` }),
      });
      moved += 1;
    }
  }
  for (const failure of runtime.router.deliveryFailures.splice(0)) {
    await runtime.putEvents([
      {
        EventBusName: LOCAL_EVENT_BUS_NAME,
        Source: failure.event.source,
        DetailType: failure.event['detail-type'],
        Detail: JSON.stringify(failure.event.detail),
      },
    ]);
    moved += 1;
  }
  return moved;
}

/** Slots held per agent according to the Instances table (capacityHeldBy). */
async function slotsHeld(runtime: LocalRuntime): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await runtime.documentClient.send(
      new ScanCommand({
        TableName: runtime.tables.instancesTable,
        ProjectionExpression: 'capacityHeldBy',
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const agent = item.capacityHeldBy;
      if (typeof agent === 'string') held.set(agent, (held.get(agent) ?? 0) + 1);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return held;
}

/** Samples every agent's activeCount against its capacity while the soak runs. */
function sampleCapacity(runtime: LocalRuntime, intervalMs: number) {
  let samples = 0;
  let peakUtilisation = 0;
  const violations: string[] = [];
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void runtime.ports.features
      .listAgents()
      .then((agents) => {
        samples += 1;
        for (const agent of agents) {
          if (agent.capacity > 0)
            peakUtilisation = Math.max(peakUtilisation, agent.activeCount / agent.capacity);
          if (agent.activeCount > agent.capacity || agent.activeCount < 0)
            violations.push(`${agent.agentId} held ${agent.activeCount} with capacity ${agent.capacity}`);
        }
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  return {
    stop: () => clearInterval(timer),
    result: () => ({ samples, violations: [...violations], peakUtilisation }),
  };
}

/** The plan the soak drives: `items` arrivals at `ratePerSecond` wall, `agents` agents. */
export function soakPlan(
  options: Pick<SoakOptions, 'items' | 'seed' | 'ratePerSecond' | 'timeScale' | 'agents'>,
): WorkloadPlan {
  return planWorkload({
    seed: options.seed,
    items: options.items,
    horizonSeconds: (options.items / options.ratePerSecond) * options.timeScale,
    agents: options.agents,
    trouble: SOAK_TROUBLE,
  });
}

/**
 * Runs the soak and checks the invariants.
 *
 * @example
 * const result = await runSoak({ items: 300, seed: 1, ratePerSecond: 30, timeScale: 120, agents: 16, faults: defaultSoakFaults(1) });
 * result.passed; // true
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const plan = soakPlan(options);
  const faults = options.faults === false ? undefined : new FaultPlan(options.faults);
  let redriven = 0;
  let sampler: ReturnType<typeof sampleCapacity> | undefined;
  const detach: (() => void)[] = [];
  let leaks: string[] = [];
  const session = await runSession({
    plan,
    timeScale: options.timeScale,
    // The soak's timeout is wall ms; the session counts simulated ms.
    settleTimeoutMs: (options.settleTimeoutMs ?? 180_000) * options.timeScale,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    runtime: {
      dispatchTickMs: 250,
      retryIntervalMs: 50,
      queueRedeliveryDelayMs: 50,
      executionHistoryLimit: 4,
      ...(faults === undefined
        ? {}
        : {
            decoratePorts: (ports) => faults.decoratePorts(ports),
            decorateHandlers: faults.decorateHandler,
          }),
    },
    onRuntime: (runtime) => {
      if (faults !== undefined) {
        detach.push(faults.attachToDynamoDbClient(runtime.documentClient, 'handlers-sdk'));
        detach.push(faults.attachToDynamoDbClient(runtime.dynamoDb.client, 'asl-sdk'));
      }
      sampler = sampleCapacity(runtime, 500);
      return () => {
        sampler?.stop();
        for (const remove of detach.splice(0)) remove();
      };
    },
    operator: async (runtime) => {
      redriven += await redriveDeadLetters(runtime);
    },
    beforeStop: async (runtime) => {
      const held = await slotsHeld(runtime);
      const agents = await runtime.ports.features.listAgents();
      leaks = agents
        .filter((agent) => agent.activeCount !== (held.get(agent.agentId) ?? 0))
        .map(
          (agent) =>
            `${agent.agentId}: activeCount ${agent.activeCount}, instances holding a slot ${held.get(agent.agentId) ?? 0}`,
        );
    },
  });
  const kpis = computeKpis(session.outcomes);
  const sampled = sampler?.result() ?? { samples: 0, violations: [], peakUtilisation: 0 };
  const capacity: CapacityCheck = {
    samples: sampled.samples,
    violations: sampled.violations,
    peakUtilisation: sampled.peakUtilisation,
    leaks,
  };
  const routingViolations = session.outcomes.flatMap((outcome) =>
    outcome.routingViolations.map((violation) => `${outcome.itemId}: ${violation}`),
  );
  const routedItems = session.outcomes.filter((outcome) => outcome.routings > 0).length;
  const passed =
    session.settled &&
    kpis.duplicatesIgnored.created >= session.log.counts.duplicateCreatedSent &&
    kpis.byState.lost === 0 &&
    routingViolations.length === 0 &&
    capacity.violations.length === 0 &&
    capacity.leaks.length === 0 &&
    session.failures.length === 0;
  return {
    options,
    session,
    kpis,
    trouble: troubleRows(session, kpis),
    capacity,
    faultsInjected: faults?.byKind() ?? {},
    redriven,
    routingViolations,
    routedItems,
    wallSeconds: (Date.now() - started) / 1000,
    passed,
    lost: session.lostDiagnoses,
  };
}
