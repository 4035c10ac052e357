import type { DriftDetected } from '../../domain/events/tuning';
import type { HandlingFeatures } from '../../domain/model';
import type { Policy } from '../../domain/policy';
import type { Assignment, DispatchRound, RoutingPolicy } from '../../domain/routing/types';
import { buildHandlingModel, HANDLING_MODEL_VERSION } from '../../domain/scoring';
import {
  applyReestimation,
  armKey,
  bucketStart,
  type CategoryStatistics,
  createRoundPlanner,
  type Experiment,
  emptyBucket,
  initialTuningState,
  intendedArm,
  type Observation,
  type ObservationBucket,
  observe,
  type RunningItem,
  runTuningCycle,
  startExperiment,
  statisticsSince,
  type TuningConfig,
  type TuningCycleResult,
  type TuningState,
  type WindowKpis,
} from '../../domain/tuning';
import { type EngineResult, runEngine, simulatedEpochMs } from '../engine';
import { EventQueue } from '../event-queue';
import { SIMULATION_EPOCH_MS } from '../run';
import type { TuningScenario } from './scenario';
import type { TuningWorkload } from './workload';

/**
 * Runs the tuning loop inside the discrete-event simulator without touching the engine, the way
 * the allocation job does: as a RoutingPolicy that, on the simulated clock, runs a tuning cycle
 * every `cycleMinutes` and otherwise routes with the active policy (split by arm during an A/B
 * experiment, shadowed by the candidate in shadow mode), plus a wrapper around the engine's
 * true-handling-time function that learns when each item will complete.
 *
 * The loop sees only what production would: arrivals up to now, completions and SLA outcomes once
 * their time has passed (SLA misses at the due time, as the completion timeout reports them), the
 * predictions the policy itself made, and the roster. People on call stay invisible to routing
 * until the loop calls them (at once within the guardrail, after `approvalDelayMinutes` beyond it).
 */

export interface HarnessExperiment {
  readonly experimentId: string;
  readonly candidate: Policy;
  readonly mode: 'shadow' | 'ab';
  readonly treatmentShare: number;
  readonly startAtSeconds: number;
}

export interface HarnessOptions {
  readonly scenario: TuningScenario;
  readonly workload: TuningWorkload;
  /** false: no cycles at all (no detection, no re-estimation, nobody called in): the control. */
  readonly loopEnabled: boolean;
  readonly config?: TuningConfig;
  readonly experiment?: HarnessExperiment;
  /** Keep the per-item outcomes (SLA curves, shadow assertions). @default true */
  readonly keepOutcomes?: boolean;
  /**
   * Send the loop the work in progress at each cycle (censored evidence for the residual test), as
   * production does once the cycle reads it; false: completions only. @default true
   */
  readonly observeRunning?: boolean;
  /**
   * Called with every round the harness routed: the round as the planner saw it (on-duty agents,
   * re-estimated features), the documents in force and the decisions (the equivalence test).
   */
  readonly onRound?: (routed: RoutedRound) => void;
  /** Called after every cycle with its result (diagnostics: the detectors' state over time). */
  readonly onCycle?: (atSeconds: number, result: TuningCycleResult) => void;
}

/** One round the harness routed, as the dispatcher would see it. */
export interface RoutedRound {
  readonly round: DispatchRound;
  readonly policy: Policy;
  readonly experiment: Experiment | undefined;
  readonly assignments: readonly Assignment[];
}

export interface TimedDrift {
  readonly atSeconds: number;
  readonly event: DriftDetected;
}

export interface HarnessLog {
  readonly cycles: number;
  readonly drift: readonly TimedDrift[];
  readonly reestimations: readonly {
    readonly category: string;
    readonly sinceSeconds: number;
    readonly atSeconds: number;
  }[];
  readonly standby: readonly {
    readonly agentId: string;
    readonly decision: 'auto' | 'approval';
    readonly calledAtSeconds: number;
    readonly onDutyFromSeconds: number;
  }[];
  readonly policyChanges: readonly {
    readonly kind: string;
    readonly version: string;
    readonly decidedAtSeconds: number;
    readonly appliedAtSeconds: number;
    readonly needsApproval: boolean;
  }[];
  readonly experiment?: Experiment;
  /** The window KPIs of every cycle. */
  readonly kpis: readonly (WindowKpis & { readonly atSeconds: number })[];
  /** Live decisions taken while a shadow candidate ran, and how many the candidate would have taken alike. */
  readonly shadow: { readonly decisions: number; readonly agreed: number };
}

export interface HarnessResult {
  readonly engine: EngineResult;
  readonly log: HarnessLog;
}

type Reveal =
  | {
      readonly kind: 'completion';
      readonly jobIndex: number;
      readonly agentId: string;
      readonly observedSeconds: number;
      readonly predictedSeconds: number | undefined;
    }
  | { readonly kind: 'due'; readonly jobIndex: number };

/**
 * One simulated run with the tuning loop on the simulated clock.
 *
 * @example
 * const { engine, log } = runTuningSimulation({ scenario, workload, loopEnabled: true });
 */
export function runTuningSimulation(options: HarnessOptions): HarnessResult {
  const { scenario, workload: tuning } = options;
  const config = options.config ?? scenario.extras.tuning;
  const { workload } = tuning;
  const epochMs = SIMULATION_EPOCH_MS;
  const jobs = workload.jobs;
  const toSeconds = (ms: number) => (ms - epochMs) / 1000;
  const toMs = (seconds: number) => epochMs + seconds * 1000;
  const bucketSeconds = config.bucketSeconds;
  const categorySkills = Object.fromEntries(
    scenario.scenario.categories.map((category) => [category.name, category.requiredSkills]),
  );

  // Observation buckets by start; everything ever observed (re-estimation reads back to its change point).
  const buckets = new Map<number, ObservationBucket>();
  const record = (observation: Observation) => {
    const start = bucketStart(observation.at, bucketSeconds);
    buckets.set(start, observe(buckets.get(start) ?? emptyBucket(start, bucketSeconds), observation));
  };
  const reveals = new EventQueue<Reveal>();
  const decided = new Uint8Array(jobs.length);
  const armOfJob: string[] = new Array<string>(jobs.length).fill('none');
  const predicted = new Map<string, number>();
  /** Items being handled, by job index: what production reads from the instance records. */
  const running = new Map<number, { startedAt: number; endsAt: number; predictedSeconds: number }>();

  let policy: Policy = scenario.extras.policy;
  // The dispatcher's round plan: the same split, shadow and routing code as live.
  const planner = createRoundPlanner();

  let state: TuningState = initialTuningState(toMs(0));
  let experiment: Experiment | undefined;
  let nextCycleAt = toMs(config.cycleMinutes * 60);
  let cycles = 0;
  let clock = 0;
  let arrivalCursor = 0;
  const reestimated = new Map<string, number>();
  let overlayStatistics: CategoryStatistics[] = [];
  const onDuty = new Set(
    tuning.agents.filter((agent) => !tuning.standbyIds.has(agent.agentId)).map((a) => a.agentId),
  );
  const pendingDuty: { agentId: string; at: number }[] = [];
  const pendingPolicies: { policy: Policy; at: number; experimentId?: string }[] = [];
  const drift: TimedDrift[] = [];
  const reestimations: { category: string; sinceSeconds: number; atSeconds: number }[] = [];
  const standbyLog: {
    agentId: string;
    decision: 'auto' | 'approval';
    calledAtSeconds: number;
    onDutyFromSeconds: number;
  }[] = [];
  const policyChanges: {
    kind: string;
    version: string;
    decidedAtSeconds: number;
    appliedAtSeconds: number;
    needsApproval: boolean;
  }[] = [];
  const shadow = { decisions: 0, agreed: 0 };
  const kpis: (WindowKpis & { atSeconds: number })[] = [];
  const approvalDelayMs = scenario.extras.approvalDelayMinutes * 60_000;

  const revealArrivals = (now: number) => {
    for (; arrivalCursor < jobs.length; arrivalCursor++) {
      const job = jobs[arrivalCursor];
      if (job === undefined || toMs(job.arrivalAt) > now) break;
      record({
        kind: 'arrival',
        at: toMs(job.arrivalAt),
        category: job.category,
        requiredSkills: job.requiredSkills,
      });
      // By intent to treat, as the observe Lambda counts it (intendedArm).
      const arm =
        experiment?.status === 'running'
          ? intendedArm(
              { itemId: job.itemId, createdAt: simulatedEpochMs(epochMs, job.arrivalAt) },
              experiment,
            )
          : 'none';
      if (experiment !== undefined && arm !== 'none')
        armOfJob[arrivalCursor] = armKey(experiment.experimentId, arm);
      reveals.push(job.slaDueAt, { kind: 'due', jobIndex: arrivalCursor });
    }
  };

  /** Completions and SLA outcomes whose time has passed become observations. */
  const revealOutcomes = (now: number) => {
    const untilSeconds = toSeconds(now);
    while (reveals.peekTime() < untilSeconds) {
      const next = reveals.pop();
      if (next === undefined) break;
      const { time, payload } = next;
      const job = jobs[payload.jobIndex];
      if (job === undefined) continue;
      if (payload.kind === 'completion') {
        record({
          kind: 'completion',
          at: toMs(time),
          category: job.category,
          agentId: payload.agentId,
          observedSeconds: payload.observedSeconds,
          ...(payload.predictedSeconds === undefined ? {} : { predictedSeconds: payload.predictedSeconds }),
        });
      }
      if (decided[payload.jobIndex] === 1) continue;
      decided[payload.jobIndex] = 1;
      const met = payload.kind === 'completion' && time <= job.slaDueAt;
      record({ kind: 'outcome', at: toMs(time), arm: armOfJob[payload.jobIndex] ?? 'none', met });
    }
  };

  const applyDue = (now: number) => {
    for (let index = pendingDuty.length - 1; index >= 0; index--) {
      const entry = pendingDuty[index];
      if (entry !== undefined && entry.at <= now) {
        onDuty.add(entry.agentId);
        pendingDuty.splice(index, 1);
      }
    }
    for (let index = pendingPolicies.length - 1; index >= 0; index--) {
      const entry = pendingPolicies[index];
      if (entry === undefined || entry.at > now) continue;
      policy = entry.policy;
      if (experiment !== undefined && experiment.experimentId === entry.experimentId) {
        experiment = { ...experiment, status: 'promoted' };
      }
      pendingPolicies.splice(index, 1);
    }
  };

  const overlay = (features: HandlingFeatures): HandlingFeatures =>
    overlayStatistics.length === 0 ? features : applyReestimation(features, overlayStatistics);

  const runCycle = (round: DispatchRound) => {
    const now = round.now;
    revealOutcomes(now);
    const fresh = [...buckets.values()]
      .filter((bucket) => bucket.start >= state.processedUntil)
      .sort((left, right) => left.start - right.start);
    const roster = round.agents.filter((agent) => onDuty.has(agent.agentId));
    const standby = round.agents
      .filter((agent) => tuning.standbyIds.has(agent.agentId) && !onDuty.has(agent.agentId))
      .map((agent) => ({ ...agent, status: 'offline' as const }));
    // Work in progress at the end of the last complete bucket: started before it, completing after.
    const asOf = bucketStart(now, bucketSeconds);
    const inProgress: RunningItem[] = [];
    for (const [jobIndex, item] of running) {
      if (item.endsAt < toSeconds(asOf)) {
        running.delete(jobIndex);
        continue;
      }
      const job = jobs[jobIndex];
      if (job === undefined || item.startedAt >= toSeconds(asOf)) continue;
      inProgress.push({
        category: job.category,
        startedAt: toMs(item.startedAt),
        predictedSeconds: item.predictedSeconds,
      });
    }
    const result = runTuningCycle(state, {
      now,
      ...(options.observeRunning === false ? {} : { inProgress: { asOf, items: inProgress } }),
      config,
      policy,
      modelVersion: HANDLING_MODEL_VERSION,
      buckets: fresh,
      features: overlay(round.features),
      roster,
      standby,
      categorySkills,
      ...(experiment === undefined ? {} : { experiment }),
    });
    cycles++;
    options.onCycle?.(toSeconds(now), result);
    state = result.state;
    experiment = result.experiment ?? experiment;
    const atSeconds = toSeconds(now);
    kpis.push({ ...result.kpis, atSeconds });
    for (const event of result.drift) drift.push({ atSeconds, event });
    for (const entry of result.reestimations) {
      reestimated.set(entry.category, entry.since);
      reestimations.push({ category: entry.category, sinceSeconds: toSeconds(entry.since), atSeconds });
    }
    for (const call of result.standby) {
      const at = call.decision === 'auto' ? now : now + approvalDelayMs;
      pendingDuty.push({ agentId: call.agentId, at });
      standbyLog.push({
        agentId: call.agentId,
        decision: call.decision,
        calledAtSeconds: atSeconds,
        onDutyFromSeconds: toSeconds(at),
      });
    }
    const change = result.policyChange;
    if (change !== undefined) {
      const appliedAt = change.needsApproval ? now + approvalDelayMs : now;
      policyChanges.push({
        kind: change.kind,
        version: change.policy.version,
        decidedAtSeconds: atSeconds,
        appliedAtSeconds: toSeconds(appliedAt),
        needsApproval: change.needsApproval,
      });
      if (change.kind !== 'rolled-back') {
        pendingPolicies.push({
          policy: change.policy,
          at: appliedAt,
          ...(change.experimentId === undefined ? {} : { experimentId: change.experimentId }),
        });
      }
    }
    // Re-estimated categories: statistics since their change point, from everything observed so far.
    const all = [...buckets.values()];
    overlayStatistics = [...reestimated].map(([category, since]) => statisticsSince(all, category, since));
    applyDue(now);
  };

  const route = (view: DispatchRound): Assignment[] => {
    const plan = planner.plan(view, policy, experiment);
    if (plan.shadow !== undefined) {
      // The candidate's paper decisions beside the live ones, as the SHADOW_DECISION records count them.
      shadow.decisions += plan.decisions.length;
      for (const { assignment } of plan.decisions)
        if (plan.shadow.assignments.get(assignment.itemId)?.agentId === assignment.agentId) shadow.agreed++;
    }
    const assignments = plan.decisions.map((decision) => decision.assignment);
    options.onRound?.({ round: view, policy, experiment, assignments });
    return assignments;
  };

  const policyWrapper: RoutingPolicy = {
    name: 'tuning-harness',
    assign(round: DispatchRound): Assignment[] {
      clock = toSeconds(round.now);
      applyDue(round.now);
      const planned = options.experiment;
      if (planned !== undefined && experiment === undefined && clock >= planned.startAtSeconds) {
        // Before this round's arrivals are revealed: an item created from startedAt on is in an arm.
        experiment = startExperiment({
          experimentId: planned.experimentId,
          candidate: planned.candidate,
          active: policy,
          mode: planned.mode,
          treatmentShare: planned.treatmentShare,
          now: round.now,
          startedBy: 'simulated-operator',
        });
      }
      revealArrivals(round.now);
      if (options.loopEnabled && round.now >= nextCycleAt) {
        runCycle(round);
        while (nextCycleAt <= round.now) nextCycleAt += config.cycleMinutes * 60_000;
      }
      const agents = round.agents.filter((agent) => onDuty.has(agent.agentId));
      const features = overlay(round.features);
      const view: DispatchRound = { ...round, agents, features };
      const assignments = route(view);
      if (assignments.length > 0) {
        const model = buildHandlingModel(features);
        const categoryOf = new Map(round.waiting.map((item) => [item.itemId, item.category]));
        for (const assignment of assignments) {
          predicted.set(assignment.itemId, assignment.predictedHandlingSeconds);
          const category = categoryOf.get(assignment.itemId) ?? '';
          record({
            kind: 'decision',
            at: round.now,
            confidence: model.predict(category, assignment.agentId).confidence,
          });
        }
      }
      return assignments;
    },
  };

  const engine = runEngine({
    agents: tuning.agents,
    jobs,
    policy: policyWrapper,
    handlingSeconds: (jobIndex, agentIndex) => {
      const seconds = tuning.handlingSeconds(jobIndex, agentIndex, clock);
      const job = jobs[jobIndex];
      const agent = tuning.agents[agentIndex];
      if (job !== undefined && agent !== undefined) {
        const predictedSeconds = predicted.get(job.itemId);
        if (predictedSeconds !== undefined && predictedSeconds > 0) {
          running.set(jobIndex, { startedAt: clock, endsAt: clock + seconds, predictedSeconds });
        }
        reveals.push(clock + seconds, {
          kind: 'completion',
          jobIndex,
          agentId: agent.agentId,
          observedSeconds: seconds,
          predictedSeconds: predicted.get(job.itemId),
        });
        predicted.delete(job.itemId);
      }
      return seconds;
    },
    features: workload.features,
    learnOnline: true,
    useHints: false,
    window: [0, workload.window[1]],
    hardStopAt: workload.hardStopAt,
    epochMs,
    dispatchIntervalSeconds: 0,
    keepOutcomes: options.keepOutcomes ?? true,
  });

  return {
    engine,
    log: {
      cycles,
      drift,
      reestimations,
      standby: standbyLog,
      policyChanges,
      kpis,
      ...(experiment === undefined ? {} : { experiment }),
      shadow,
    },
  };
}
