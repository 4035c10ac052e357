import type { ExperimentStartBody, ReasonBody } from '../../domain/ops/api';
import { METRICS } from '../../domain/ops/metrics';
import { diffPolicies } from '../../domain/policy/diff';
import {
  changeImpact,
  type Experiment,
  type ExperimentEvidence,
  type ExperimentOutlook,
  evaluateExperiment,
  experimentOutlook,
  startExperiment,
} from '../../domain/tuning';
import { emitMetric } from '../shared/metrics-names';
import type { Telemetry } from '../shared/observability';
import type { PolicyStore } from '../shared/policy-store';
import type { AuditLog, Clock } from '../shared/ports';
import { auditRecord } from '../shared/table-layout';
import { LIVE_EXPERIMENT_STATUSES, type TuningStore } from '../shared/tuning-store';
import { OpsRequestError } from './errors';

/**
 * Experiments as an operation: a person starts an A/B or shadow experiment of a candidate policy,
 * reads where it stands, and stops it. The dispatcher routes the treatment arm by the candidate
 * and the tuning loop decides it (promote through the policy store, roll back, or end
 * inconclusive); these operations only write the experiment document, through the tuning store's
 * conditional writes, and audit each action with its actor and reason.
 */

export interface ExperimentDeps {
  /** Where the experiments are; absent where no tuning loop runs (the routes then answer 404). */
  readonly tuning?: Pick<
    TuningStore,
    | 'readExperiment'
    | 'getExperiment'
    | 'listExperiments'
    | 'beginExperiment'
    | 'updateExperiment'
    | 'readConfig'
    | 'readState'
  >;
  /** The active policy, and the candidate's version recorded so a promotion activates that very document. */
  readonly policies: PolicyStore;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
}

/** An experiment in a list. */
export interface ExperimentSummary {
  readonly experimentId: string;
  readonly kind: Experiment['mode'];
  readonly status: Experiment['status'];
  readonly candidateVersion: string;
  readonly controlVersion: string;
  readonly split: number;
  readonly startedAt: string;
  readonly startedBy: string;
  readonly decidedAt?: string;
  readonly reason?: string;
}

/** One experiment in full: its document's settings, the arms, the evidence and what happens next. */
export interface ExperimentView extends ExperimentSummary {
  readonly startReason?: string;
  readonly stoppedBy?: string;
  readonly guardrails: Experiment['guardrails'];
  readonly stopping: Experiment['stopping'];
  /** The policy fields the candidate changes from the control (what a promotion would change). */
  readonly changes: readonly string[];
  /** The tuning loop has counted outcomes up to here (the end of the last bucket it read). */
  readonly countedUntil?: string;
  readonly arms: ExperimentOutlook['arms'];
  readonly evidence: ExperimentEvidence;
  /** The loop's decision on these totals: continue, promote, rollback or inconclusive. */
  readonly decision: ExperimentOutlook['decision'];
  readonly settings: ExperimentOutlook['settings'];
  readonly endsAt?: string;
  readonly next: readonly string[];
}

export interface ExperimentActionResult {
  readonly experimentId: string;
  readonly action: 'started' | 'stopped';
  readonly status: Experiment['status'];
  readonly candidateVersion: string;
  readonly controlVersion: string;
  readonly actor: string;
  readonly at: string;
  /** What happens now. */
  readonly outcome: string;
}

/** Audit trail id of an experiment's actions. */
export const experimentAuditId = (experimentId: string) => `experiment#${experimentId}`;

const iso = (at: number) => new Date(at).toISOString();

/** `exp-20261120T090000Z`: the start time, to the second. */
const defaultExperimentId = (now: number) => `exp-${iso(now).replace(/[-:]/g, '').replace(/\.\d+/, '')}`;

export function createExperimentOperations(deps: ExperimentDeps) {
  const { clock, telemetry, policies } = deps;

  const store = () => {
    if (deps.tuning === undefined)
      throw OpsRequestError.notFound('no tuning loop runs behind this API: there are no experiments');
    return deps.tuning;
  };

  const summary = (experiment: Experiment): ExperimentSummary => ({
    experimentId: experiment.experimentId,
    kind: experiment.mode,
    status: experiment.status,
    candidateVersion: experiment.candidate.version,
    controlVersion: experiment.controlVersion,
    split: experiment.treatmentShare,
    startedAt: iso(experiment.startedAt),
    startedBy: experiment.startedBy,
    ...(experiment.decidedAt === undefined ? {} : { decidedAt: iso(experiment.decidedAt) }),
    ...(experiment.reason === undefined ? {} : { reason: experiment.reason }),
  });

  const listExperiments = async (): Promise<{
    readonly current?: ExperimentSummary;
    readonly experiments: readonly ExperimentSummary[];
  }> => {
    const tuning = store();
    const [current, all] = await Promise.all([tuning.readExperiment(), tuning.listExperiments()]);
    // A current document written by hand before experiments had their own copies is listed too.
    const experiments =
      current === undefined || all.some((entry) => entry.experimentId === current.experimentId)
        ? all
        : [current, ...all];
    return {
      ...(current === undefined ? {} : { current: summary(current) }),
      experiments: experiments.map(summary),
    };
  };

  const find = async (experimentId: string): Promise<Experiment> => {
    const tuning = store();
    const current = await tuning.readExperiment();
    if (current?.experimentId === experimentId) return current;
    const stored = await tuning.getExperiment(experimentId);
    if (stored === undefined) {
      throw OpsRequestError.notFound(
        `no experiment "${experimentId}"; see them with \`flowtune ops experiments list\``,
      );
    }
    return stored;
  };

  const experimentStatus = async (experimentId: string): Promise<ExperimentView> => {
    const tuning = store();
    const experiment = await find(experimentId);
    const [config, state, active] = await Promise.all([
      tuning.readConfig(),
      tuning.readState(),
      policies.active(),
    ]);
    const control =
      active.version === experiment.controlVersion
        ? active
        : ((await policies.version(experiment.controlVersion))?.policy ?? active);
    const impact = changeImpact(control, experiment.candidate, config.approval);
    const outlook = experimentOutlook(experiment, config.experiment, clock.now(), {
      needsApproval: impact.reasons,
    });
    const countedUntil = state?.state.processedUntil;
    return {
      ...summary(experiment),
      ...(experiment.startReason === undefined ? {} : { startReason: experiment.startReason }),
      ...(experiment.stoppedBy === undefined ? {} : { stoppedBy: experiment.stoppedBy }),
      guardrails: experiment.guardrails,
      stopping: experiment.stopping,
      changes: diffPolicies(control, experiment.candidate).map((change) => change.path),
      ...(countedUntil === undefined || countedUntil <= 0 ? {} : { countedUntil: iso(countedUntil) }),
      arms: outlook.arms,
      evidence: outlook.evidence,
      decision: outlook.decision,
      settings: outlook.settings,
      ...(outlook.endsAt === undefined ? {} : { endsAt: outlook.endsAt }),
      next: outlook.next,
    };
  };

  const live = (experiment: Experiment | undefined): experiment is Experiment =>
    experiment !== undefined && LIVE_EXPERIMENT_STATUSES.includes(experiment.status);

  const busy = (running: Experiment) =>
    OpsRequestError.conflict(
      `experiment ${running.experimentId} (${running.mode}, candidate ${running.candidate.version}) is ${running.status}: stop it first (flowtune ops experiments stop ${running.experimentId} --reason TEXT)${running.status === 'awaiting-approval' ? ' or decide its promotion (flowtune ops approvals)' : ''}`,
      'ExperimentRunning',
    );

  const startNew = async (body: ExperimentStartBody, actor: string): Promise<ExperimentActionResult> => {
    const tuning = store();
    const current = await tuning.readExperiment();
    if (live(current)) throw busy(current);
    const now = clock.now();
    const active = await policies.active();
    const candidate = body.candidate;
    if (candidate.version === active.version) {
      throw new OpsRequestError(
        400,
        'InvalidRequest',
        `candidate.version: "${candidate.version}" is the active version; give the candidate its own version`,
        'candidate.version',
      );
    }
    if (diffPolicies(active, candidate).length === 0) {
      throw new OpsRequestError(
        400,
        'InvalidRequest',
        `candidate: ${candidate.version} is the active policy ${active.version} under another version; an experiment needs a difference to test`,
        'candidate',
      );
    }
    const experimentId = body.experimentId ?? defaultExperimentId(now);
    // The candidate becomes an immutable version now, so the promotion activates this very
    // document through the policy store (which refuses a version id naming another document).
    const recorded = await policies.recordVersion({
      policy: candidate,
      baseVersion: active.version,
      reason: `candidate of experiment ${experimentId}: ${body.reason}`,
      actor,
      experimentId,
    });
    if (recorded === 'taken') {
      throw OpsRequestError.conflict(
        `policy version ${candidate.version} already names another document; versions are immutable — give the candidate a new version`,
        'VersionTaken',
      );
    }
    const experiment: Experiment = {
      ...startExperiment({
        experimentId,
        candidate,
        active,
        mode: body.kind,
        treatmentShare: body.split ?? 0,
        now,
        startedBy: actor,
      }),
      startReason: body.reason,
      ...(body.guardrails === undefined ? {} : { guardrails: body.guardrails }),
      ...(body.stopping === undefined ? {} : { stopping: body.stopping }),
    };
    const begun = await tuning.beginExperiment(experiment);
    if (begun === 'busy') {
      const winner = await tuning.readExperiment();
      throw live(winner)
        ? busy(winner)
        : OpsRequestError.conflict('another experiment started meanwhile; look again', 'ExperimentRunning');
    }
    if (begun === 'id-taken') {
      throw OpsRequestError.conflict(
        `an experiment "${experimentId}" was stored before; ids are never reused — pick another experimentId`,
        'ExperimentIdTaken',
      );
    }
    await deps.audit.append(
      auditRecord({
        itemId: experimentAuditId(experimentId),
        kind: 'EXPERIMENT_STARTED',
        at: now,
        actor,
        details: {
          reason: body.reason,
          kind: body.kind,
          split: experiment.treatmentShare,
          candidateVersion: candidate.version,
          controlVersion: active.version,
          ...(body.guardrails === undefined ? {} : { guardrails: body.guardrails }),
          ...(body.stopping === undefined ? {} : { stopping: body.stopping }),
        },
        policyVersion: candidate.version,
      }),
    );
    emitMetric(telemetry.metrics, METRICS.humanActions, 1, { action: 'startExperiment' });
    telemetry.logger.info('experiment started', { experimentId, kind: body.kind, actor });
    return {
      experimentId,
      action: 'started',
      status: experiment.status,
      candidateVersion: candidate.version,
      controlVersion: active.version,
      actor,
      at: iso(now),
      outcome:
        body.kind === 'ab'
          ? `items created from now on are split: ${Math.round(experiment.treatmentShare * 100)}% routed by ${candidate.version}, the rest by ${active.version}; the tuning loop decides it every cycle (flowtune ops experiments status ${experimentId})`
          : `${candidate.version} decides every item on paper beside ${active.version} (SHADOW_DECISION audit records); nothing it decides is acted on`,
    };
  };

  const stopExperiment = async (
    experimentId: string,
    body: ReasonBody,
    actor: string,
  ): Promise<ExperimentActionResult> => {
    const tuning = store();
    const experiment = await find(experimentId);
    if (experiment.status !== 'running') {
      throw OpsRequestError.conflict(
        experiment.status === 'awaiting-approval'
          ? `experiment ${experimentId} has ended and its promotion waits for a person: approve or reject it with flowtune ops approvals`
          : `experiment ${experimentId} already ended ${experiment.status}${experiment.stoppedBy === undefined ? '' : ` (stopped by ${experiment.stoppedBy})`}`,
        'ExperimentEnded',
      );
    }
    const now = clock.now();
    const config = await tuning.readConfig();
    const stopped: Experiment = {
      ...experiment,
      status: 'stopped',
      decidedAt: now,
      stoppedBy: actor,
      reason: `stopped by ${actor}: ${body.reason}`,
      evidence: evaluateExperiment(experiment, config.experiment, now).evidence,
    };
    if ((await tuning.updateExperiment(stopped, 'running')) === 'conflict') {
      const after = await find(experimentId);
      throw OpsRequestError.conflict(
        `experiment ${experimentId} changed meanwhile: it is ${after.status} now; look again`,
        'ExperimentEnded',
      );
    }
    await deps.audit.append(
      auditRecord({
        itemId: experimentAuditId(experimentId),
        kind: 'EXPERIMENT_STOPPED',
        at: now,
        actor,
        details: {
          reason: body.reason,
          kind: experiment.mode,
          candidateVersion: experiment.candidate.version,
          controlVersion: experiment.controlVersion,
          totals: experiment.totals,
        },
        policyVersion: experiment.controlVersion,
      }),
    );
    emitMetric(telemetry.metrics, METRICS.humanActions, 1, { action: 'stopExperiment' });
    telemetry.logger.info('experiment stopped', { experimentId, actor });
    return {
      experimentId,
      action: 'stopped',
      status: 'stopped',
      candidateVersion: experiment.candidate.version,
      controlVersion: experiment.controlVersion,
      actor,
      at: iso(now),
      outcome: `${experiment.candidate.version} decides no more items: every item created from now on is routed by the active policy; nothing is promoted`,
    };
  };

  return { listExperiments, startExperiment: startNew, experimentStatus, stopExperiment };
}

export type ExperimentOperations = ReturnType<typeof createExperimentOperations>;
