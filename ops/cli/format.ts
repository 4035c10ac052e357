import { type BottleneckView, formatAge } from '../../domain/ops/bottleneck';
import type { StaffingApprovalView } from '../../lambdas/ops-api/allocation-approvals';
import type { ExperimentActionResult, ExperimentView } from '../../lambdas/ops-api/experiments';
import type { ActionResult, HumanTask, ItemStatus, TrailEntry } from '../../lambdas/ops-api/operations';
import type { TuningApprovalView } from '../../lambdas/ops-api/tuning-approvals';
import type { ExperimentList, PolicyDiffView, PolicyHistoryView } from './client';

/** Plain-text renderings of the ops API's answers for the terminal. */

export function formatStatus(status: ItemStatus): string {
  const lines = [
    `${status.itemId}  ${status.stage}${status.waitingFor === undefined ? '' : ` (waiting for ${status.waitingFor})`}`,
  ];
  const facts: [string, string | undefined][] = [
    [
      'in stage',
      status.secondsInStage === undefined
        ? undefined
        : `${formatAge(status.secondsInStage)} (since ${status.since})`,
    ],
    ['queue', status.queue],
    ['priority', status.priority?.toString()],
    ['assignee', status.assignee],
    ['path', status.path],
    [
      'SLA due',
      status.slaDueAt === undefined ? undefined : `${status.slaDueAt}${status.overdue ? '  OVERDUE' : ''}`,
    ],
    ['attempt', status.attempt?.toString()],
    ['policy', status.policyVersion],
    ['model', status.modelVersion],
    ['actions', status.actions.length === 0 ? 'none now' : status.actions.join(', ')],
  ];
  for (const [label, value] of facts) if (value !== undefined) lines.push(`  ${label.padEnd(9)} ${value}`);
  lines.push('', 'Audit trail:');
  for (const entry of status.trail) lines.push(`  ${trailLine(entry)}`);
  return lines.join('\n');
}

function trailLine(entry: TrailEntry): string {
  const summary = summarise(entry);
  return `${entry.at}  ${entry.kind.padEnd(22)} ${entry.actor}${summary === '' ? '' : `  ${summary}`}`;
}

function summarise(entry: TrailEntry): string {
  const details =
    typeof entry.details === 'object' && entry.details !== null
      ? (entry.details as Record<string, unknown>)
      : {};
  const parts: string[] = [];
  for (const key of ['agentId', 'reason', 'path', 'outcome', 'from', 'waitingFor']) {
    const value = details[key] ?? entry[key];
    if (typeof value === 'string' || typeof value === 'number') parts.push(`${key}=${value}`);
  }
  return parts.join(' ');
}

export function formatBottlenecks(view: BottleneckView): string {
  const lines = [`${view.items} live items at ${view.generatedAt}`];
  if (view.headlines.length > 0) lines.push('', ...view.headlines.map((headline) => `  • ${headline}`));
  const active = view.stages.filter((cell) => cell.items > 0);
  lines.push('', `  ${'stage'.padEnd(20)} ${'items'.padStart(6)} ${'share'.padStart(6)}  oldest     overdue`);
  for (const cell of active) {
    lines.push(
      `  ${cell.stage.padEnd(20)} ${String(cell.items).padStart(6)} ${`${Math.round(cell.share * 100)}%`.padStart(6)}  ${formatAge(cell.oldestAgeSeconds).padEnd(10)} ${cell.overdue}`,
    );
  }
  if (view.queues.length > 0) {
    lines.push('', '  per queue (biggest waiting stage):');
    for (const row of view.queues) {
      const where =
        row.bottleneck === undefined
          ? 'none waiting'
          : `${row.bottleneck.stage} ${Math.round(row.bottleneck.share * 100)}%`;
      lines.push(`  ${row.queue.padEnd(20)} ${String(row.items).padStart(6)}  ${where}`);
    }
  }
  if (view.truncatedStages.length > 0) {
    lines.push(
      '',
      `  (counts are lower bounds in ${view.truncatedStages.join(', ')}: the read stopped at its limit)`,
    );
  }
  return lines.join('\n');
}

export function formatTasks(result: {
  readonly tasks: readonly HumanTask[];
  readonly more: boolean;
}): string {
  if (result.tasks.length === 0) return 'No pending human tasks.';
  const lines: string[] = [];
  for (const task of result.tasks) {
    const decision = task.context.decision as { reason?: string } | undefined;
    const score = task.context.score as { confidence?: number; slaBreachRisk?: number } | undefined;
    lines.push(
      `${task.itemId}  ${task.kind.toUpperCase()}  queue=${task.queue || '-'} priority=${task.priority} waiting ${formatAge(task.waitingSeconds)}${task.overdue ? ' OVERDUE' : ''}`,
    );
    if (decision?.reason !== undefined) lines.push(`  why: ${decision.reason}`);
    if (typeof task.context.reason === 'string') lines.push(`  why: ${task.context.reason}`);
    if (score?.confidence !== undefined) {
      lines.push(
        `  score: confidence ${score.confidence.toFixed(2)}, SLA-breach risk ${(score.slaBreachRisk ?? 0).toFixed(2)}`,
      );
    }
    if (task.alternatives.length > 0) {
      lines.push(
        `  could take it: ${task.alternatives.map((alt) => `${alt.agentId} (${alt.freeSlots} free)`).join(', ')}`,
      );
    }
    for (const entry of task.history) lines.push(`  earlier: ${trailLine(entry)}`);
    lines.push(`  actions: ${task.actions.join(', ')}`, '');
  }
  if (result.more) lines.push('(more tasks wait: raise --limit)');
  return lines.join('\n').trimEnd();
}

export function formatAction(result: ActionResult): string {
  return `${result.itemId}: ${result.action} by ${result.actor} at ${result.at} → ${result.outcome}`;
}

/** The tuning changes waiting for a person, one block each: what changes, why it needs a person, the evidence. */
export function formatTuningApprovals(result: { readonly approvals: readonly TuningApprovalView[] }): string {
  if (result.approvals.length === 0) return 'no tuning change waits for approval';
  return result.approvals
    .map((approval) =>
      [
        `${approval.approvalId}  ${approval.kind} ${approval.previousVersion} → ${approval.version}  waiting ${Math.round(approval.waitingSeconds / 60)} min (expires ${approval.expiresAt})`,
        `  why a person: ${approval.approvalReasons.join('; ') || '(high impact)'}`,
        `  reason: ${approval.reason}`,
        ...(approval.changes.length === 0 ? [] : [`  changes: ${approval.changes.join(', ')}`]),
        ...(approval.experimentId === undefined ? [] : [`  experiment: ${approval.experimentId}`]),
        `  evidence: ${Object.entries(approval.evidence)
          .map(([name, value]) => `${name}=${value}`)
          .join(' ')}`,
        `  decide: flowtune ops approvals approve|reject ${approval.approvalId} --reason TEXT`,
      ].join('\n'),
    )
    .join('\n\n');
}

/**
 * The staffing moves and offloads waiting for a person, one block each: what would change, the
 * guardrail that held it, the job's reasoning, and per queue the forecast and the staffing need.
 */
export function formatStaffingApprovals(result: {
  readonly approvals: readonly StaffingApprovalView[];
}): string {
  if (result.approvals.length === 0) return 'no staffing move waits for approval';
  const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;
  return result.approvals
    .map((approval) =>
      [
        `${approval.approvalId}  ${approval.summary}  waiting ${Math.round(approval.waitingSeconds / 60)} min (expires ${approval.expiresAt}, in ${Math.round(approval.expiresInSeconds / 60)} min)`,
        `  why a person: ${approval.approvalReason}`,
        `  reason: ${approval.reason}`,
        ...approval.queues.map(
          (queue) =>
            `  ${queue.queueId}: forecast ${Math.round(queue.forecastArrivalsPerHour)}/h × ${Math.round(queue.predictedHandlingSeconds)} s, needs ${queue.requiredServers} on shift, has ${queue.onShiftServersBefore} → ${queue.onShiftServersAfter}; within ${queue.targetSeconds} s ${percent(queue.expectedServiceLevelBefore)} → ${percent(queue.expectedServiceLevelAfter)} (target ${percent(queue.targetServiceLevel)}, ${queue.model})`,
        ),
        `  gain: ${approval.expectedGainPerHour.toFixed(1)} more answered in target per hour; confidence ${approval.confidence.toFixed(2)}${approval.forecastWape === undefined ? '' : `; recent forecast WAPE ${percent(approval.forecastWape)}`}`,
        `  decide: flowtune ops staffing approve|reject ${approval.approvalId} --reason TEXT`,
      ].join('\n'),
    )
    .join('\n\n');
}

export function formatPolicyHistory(view: PolicyHistoryView): string {
  const lines = [`active: ${view.active.version}`];
  if (view.history.length === 0)
    lines.push('no change recorded yet (the deploy-time or built-in default applies)');
  for (const entry of view.history) {
    const who =
      entry.approvedBy !== undefined && entry.approvedBy !== entry.actor
        ? `${entry.actor}, approved by ${entry.approvedBy}`
        : entry.actor;
    lines.push(
      `${entry.at}  ${entry.version}  ${entry.kind}${entry.activated ? '' : ' (not activated)'}  from ${entry.previousVersion}  by ${who}`,
      `    ${entry.reason}`,
      ...(entry.changes.length === 0 ? [] : [`    changed: ${entry.changes.join(', ')}`]),
    );
  }
  lines.push(`versions stored: ${view.versions.map((version) => version.version).join(', ') || 'none'}`);
  return lines.join('\n');
}

export function formatPolicyDiff(view: PolicyDiffView): string {
  if (view.changes.length === 0) return `${view.from} → ${view.to}: no difference but the version`;
  const shown = (value: unknown) => (value === undefined ? '(absent)' : JSON.stringify(value));
  return [
    `${view.from} → ${view.to}:`,
    ...view.changes.map((change) => `  ${change.path}: ${shown(change.from)} → ${shown(change.to)}`),
  ].join('\n');
}

const percentOf = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(1)}%`);

export function formatExperiments(list: ExperimentList): string {
  if (list.experiments.length === 0) {
    return 'No experiments. Start one with: flowtune ops experiments start --policy-file F --kind ab --split 0.2 --reason TEXT';
  }
  const lines = [
    list.current === undefined
      ? 'current: none'
      : `current: ${list.current.experimentId} (${list.current.status})`,
    '',
    `${'EXPERIMENT'.padEnd(26)} ${'KIND'.padEnd(6)} ${'SPLIT'.padEnd(5)} ${'STATUS'.padEnd(17)} ${'CANDIDATE → CONTROL'.padEnd(34)} STARTED`,
  ];
  for (const entry of list.experiments) {
    lines.push(
      `${entry.experimentId.padEnd(26)} ${entry.kind.padEnd(6)} ${entry.split.toFixed(2).padEnd(5)} ${entry.status.padEnd(17)} ${`${entry.candidateVersion} vs ${entry.controlVersion}`.padEnd(34)} ${entry.startedAt} by ${entry.startedBy}`,
    );
    if (entry.reason !== undefined) lines.push(`${''.padEnd(27)}${entry.reason}`);
  }
  return lines.join('\n');
}

export function formatExperiment(view: ExperimentView): string {
  const { control, treatment } = view.arms;
  const { evidence } = view;
  const lines = [
    `${view.experimentId}  ${view.kind === 'ab' ? `A/B, split ${view.split}` : 'shadow'}  ${view.status}`,
    `  candidate ${view.candidateVersion} against control ${view.controlVersion}; changes: ${view.changes.join(', ') || 'none'}`,
    `  started   ${view.startedAt} by ${view.startedBy}${view.startReason === undefined ? '' : `: ${view.startReason}`}`,
    ...(view.decidedAt === undefined ? [] : [`  ended     ${view.decidedAt}: ${view.reason ?? ''}`]),
    '',
    `Arms${view.countedUntil === undefined ? '' : ` (outcomes counted until ${view.countedUntil})`}:`,
    `  ${'ARM'.padEnd(10)} ${'DECIDED'.padStart(8)} ${'MET'.padStart(8)} ${'SLA'.padStart(8)}`,
    `  ${'control'.padEnd(10)} ${String(control.decided).padStart(8)} ${String(control.met).padStart(8)} ${percentOf(control.slaAttainment).padStart(8)}`,
    `  ${'treatment'.padEnd(10)} ${String(treatment.decided).padStart(8)} ${String(treatment.met).padStart(8)} ${percentOf(treatment.slaAttainment).padStart(8)}`,
    '',
    'Sequential tests (mSPRT, as the tuning loop computes them):',
    `  difference (treatment − control)  ${(evidence.difference * 100).toFixed(1)} points`,
    `  promotion  ln Λ ${evidence.promotionLogLikelihood.toFixed(2)} of ${evidence.promotionBoundary.toFixed(2)}`,
    `  harm       ln Λ ${evidence.harmLogLikelihood.toFixed(2)} of ${evidence.harmBoundary.toFixed(2)}`,
    `  decision now: ${view.decision}`,
    '',
    'What happens next:',
    ...view.next.map((line) => `  - ${line}`),
  ];
  return lines.join('\n');
}

export function formatExperimentAction(result: ExperimentActionResult): string {
  return `${result.action} ${result.experimentId} (candidate ${result.candidateVersion}, control ${result.controlVersion}) by ${result.actor} at ${result.at}: ${result.outcome}`;
}
