import { percent, seconds, table } from '../../simulator/cli/format';
import type { DemoKpis } from '../workload/kpis';
import type { ItemOutcome, RawAuditRecord } from '../workload/ledger';

/**
 * What `npm run demo` prints: the KPI table, the ledger ("every item accounted for"), and one
 * item's audit trail with the routing explanation. Pure text functions over the ledger.
 */

export interface CostTerm {
  readonly name: string;
  readonly value: number;
}

export interface ExplainedChoice {
  readonly agentId: string;
  readonly cost: number;
  readonly terms: readonly CostTerm[];
}

export interface RoutingExplanation {
  readonly summary: string;
  readonly chosen: ExplainedChoice;
  readonly runnerUp?: ExplainedChoice;
  readonly candidatesConsidered: number;
}

export const parseDetails = (record: RawAuditRecord | undefined): Record<string, unknown> => {
  if (record?.details === undefined) return {};
  try {
    const value: unknown = JSON.parse(record.details);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const isChoice = (value: unknown): value is ExplainedChoice =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ExplainedChoice).agentId === 'string' &&
  typeof (value as ExplainedChoice).cost === 'number' &&
  Array.isArray((value as ExplainedChoice).terms);

/** The routing explanation of an item's first assignment, from its ASSIGNED (or ROUTED) record. */
export function explanationOf(trail: readonly RawAuditRecord[]): RoutingExplanation | undefined {
  for (const kind of ['ASSIGNED', 'ROUTED']) {
    const record = trail.find((entry) => entry.kind === kind);
    const details = parseDetails(record);
    const explanation = (details.explanation ??
      (record?.explanation === undefined ? undefined : JSON.parse(record.explanation))) as
      | Partial<RoutingExplanation>
      | undefined;
    if (
      explanation !== undefined &&
      typeof explanation.summary === 'string' &&
      isChoice(explanation.chosen)
    ) {
      return {
        summary: explanation.summary,
        chosen: explanation.chosen,
        ...(isChoice(explanation.runnerUp) ? { runnerUp: explanation.runnerUp } : {}),
        candidatesConsidered: Number(explanation.candidatesConsidered ?? 0),
      };
    }
  }
  return undefined;
}

/**
 * The item whose trail shows the most: completed by routing, with a runner-up that lost on cost
 * (not a tie), preferably with an ignored duplicate on the way. Undefined when nothing completed.
 */
export function pickShowcase(
  outcomes: readonly ItemOutcome[],
  audit: ReadonlyMap<string, readonly RawAuditRecord[]>,
): ItemOutcome | undefined {
  let best: { outcome: ItemOutcome; score: number } | undefined;
  for (const outcome of outcomes) {
    if (outcome.final !== 'completed' || outcome.path !== 'routing') continue;
    const explanation = explanationOf(audit.get(outcome.itemId) ?? []);
    if (explanation === undefined) continue;
    let score = 0;
    if (explanation.runnerUp !== undefined) score += 2;
    if (explanation.runnerUp !== undefined && explanation.runnerUp.cost - explanation.chosen.cost > 0.005)
      score += 3;
    if (outcome.duplicateCompletionsIgnored > 0 || outcome.duplicateCreatedIgnored > 0) score += 1;
    if (outcome.slaMet === true) score += 1;
    if (best === undefined || score > best.score) best = { outcome, score };
  }
  return best?.outcome;
}

/** "+1h02m" style offset of `at` from `origin`, both epoch ms. */
export function offset(at: number, origin: number): string {
  const total = Math.round((at - origin) / 1000);
  const sign = total < 0 ? '-' : '+';
  const absolute = Math.abs(total);
  const hours = Math.floor(absolute / 3600);
  const minutes = Math.floor((absolute % 3600) / 60);
  const secs = absolute % 60;
  return hours > 0
    ? `${sign}${hours}h${String(minutes).padStart(2, '0')}m${String(secs).padStart(2, '0')}s`
    : `${sign}${minutes}m${String(secs).padStart(2, '0')}s`;
}

/** One line of what an audit record says, for people. */
export function describeRecord(record: RawAuditRecord): string {
  const details = parseDetails(record);
  const score = (details.score ?? {}) as Record<string, unknown>;
  const decision = (details.decision ?? {}) as Record<string, unknown>;
  switch (record.kind) {
    case 'RECEIVED':
      return `execution started for the event from ${String(details.source ?? '?')}`;
    case 'DUPLICATE':
      return 'duplicate WorkItemCreated: nothing started';
    case 'SCORED':
      return `path ${String(decision.path)}: predicted ${seconds(Number(score.predictedHandlingSeconds))}, SLA risk ${percent(Number(score.slaBreachRisk))}, confidence ${Number(score.confidence).toFixed(2)} (policy ${String(details.policyVersion)})`;
    case 'HUMAN_REVIEW_REQUESTED':
      return 'sent to human review';
    case 'HUMAN_APPROVED':
      return `approved: ${String(details.reason ?? '')}`;
    case 'ASSIGNED': {
      const runnerUp = details.runnerUp as ExplainedChoice | undefined;
      return `dispatcher chose ${String(details.agentId)} (cost ${Number(details.cost).toFixed(3)})${runnerUp ? `, runner-up ${runnerUp.agentId} (cost ${runnerUp.cost.toFixed(3)})` : ''}`;
    }
    case 'ROUTED':
      return `WorkItemRouted to ${String(record.agentId ?? details.agentId ?? '?')}`;
    case 'COMPLETION_WAIT':
      return `waiting for ${String(details.agentId ?? 'the agent')} to complete`;
    case 'EARLY_COMPLETION':
      return 'completion arrived before the wait: kept and handed over';
    case 'COMPLETION_RECEIVED':
      return 'WorkItemCompleted resumed the wait';
    case 'DUPLICATE_COMPLETION':
      return 'duplicate WorkItemCompleted: ignored';
    case 'COMPLETED':
      return `${String(details.outcome)} by ${String(details.handledBy)}: handled ${seconds(Number(details.handleSeconds))}, cycle ${seconds(Number(details.cycleSeconds))}, SLA ${details.slaMet === true ? 'met' : 'missed'}`;
    case 'REROUTED':
      return `re-routed away from ${String(record.previousAgentId ?? '?')} (${String(record.reason ?? '')})`;
    case 'ESCALATED':
      return `escalated to people (${String(record.reason ?? '')})`;
    case 'EXCEPTION':
      return 'in the human exception queue';
    case 'REJECTED':
      return `rejected: ${String(record.field ?? details.field ?? '?')} ${String(record.reason ?? details.reason ?? '')}`;
    default:
      return record.kind.toLowerCase().replaceAll('_', ' ');
  }
}

/** A text table with every column left-aligned (for prose cells). */
function leftTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** The audit trail as a table: offset from creation, kind, actor, what it says. */
export function formatTrail(trail: readonly RawAuditRecord[], createdAt: number): string {
  return leftTable(
    ['at', 'record', 'actor', 'what'],
    trail.map((record) => [
      offset(Date.parse(record.at), createdAt),
      record.kind,
      record.actor,
      describeRecord(record),
    ]),
  );
}

/** The explanation: the summary, then chosen and runner-up cost terms side by side. */
export function formatExplanation(explanation: RoutingExplanation): string {
  const names = [
    ...new Set([
      ...explanation.chosen.terms.map((term) => term.name),
      ...(explanation.runnerUp?.terms ?? []).map((term) => term.name),
    ]),
  ];
  const value = (choice: ExplainedChoice | undefined, name: string) => {
    const term = choice?.terms.find((entry) => entry.name === name);
    return term === undefined ? '' : term.value.toFixed(4);
  };
  const headers = ['cost term', `chosen ${explanation.chosen.agentId}`];
  if (explanation.runnerUp) headers.push(`runner-up ${explanation.runnerUp.agentId}`);
  const rows = names.map((name) => {
    const row = [name, value(explanation.chosen, name)];
    if (explanation.runnerUp) row.push(value(explanation.runnerUp, name));
    return row;
  });
  const total = ['total', explanation.chosen.cost.toFixed(4)];
  if (explanation.runnerUp) total.push(explanation.runnerUp.cost.toFixed(4));
  rows.push(total);
  return [
    explanation.summary,
    `(${explanation.candidatesConsidered} candidate agents considered; lower cost wins)`,
    table(headers, rows),
  ].join('\n');
}

const finite = (value: number, render: (value: number) => string) =>
  Number.isFinite(value) ? render(value) : 'n/a';

/** The KPI table the demo prints. */
export function formatKpis(kpis: DemoKpis): string {
  const rows: [string, string][] = [
    ['work items planned', String(kpis.items)],
    ['completed', String(kpis.byState.completed)],
    ['throughput', `${finite(kpis.throughputPerHour, (value) => value.toFixed(1))} items/h`],
    [
      'wait, created → routed (mean / p90)',
      `${finite(kpis.wait.mean, seconds)} / ${finite(kpis.wait.p90, seconds)}`,
    ],
    ['cycle time (mean / p90)', `${finite(kpis.cycle.mean, seconds)} / ${finite(kpis.cycle.p90, seconds)}`],
    ['SLA attainment', finite(kpis.slaAttainment, (value) => percent(value))],
    ['rejected (with reason)', String(kpis.rejected)],
    [
      'duplicates ignored (created / completed)',
      `${kpis.duplicatesIgnored.created} / ${kpis.duplicatesIgnored.completions}`,
    ],
    ['early completions handed over', String(kpis.earlyCompletions)],
    ['re-routes', String(kpis.reroutes)],
    ['escalations', String(kpis.escalations)],
    ['human reviews', String(kpis.humanReviews)],
    [
      'paths (routing / automation / review)',
      `${kpis.byPath.routing ?? 0} / ${kpis.byPath.automation ?? 0} / ${kpis.byPath['human-review'] ?? 0}`,
    ],
    ['routing decisions per attempt ≠ 1', String(kpis.routingViolations)],
    ['lost', String(kpis.byState.lost)],
  ];
  return table(['KPI', 'value'], rows);
}

/** Per SLA class: items, completed, attainment, cycle p50 / p90. */
export function formatSlaGroups(kpis: DemoKpis): string {
  return table(
    ['SLA class', 'items', 'completed', 'SLA met', 'cycle p50', 'cycle p90'],
    kpis.bySlaGroup.map((group) => [
      group.group,
      String(group.items),
      String(group.completed),
      finite(group.slaAttainment, (value) => percent(value)),
      finite(group.cycle.p50, seconds),
      finite(group.cycle.p90, seconds),
    ]),
  );
}

/** "every item accounted for" line, with the counts per final state. */
export function formatLedgerLine(kpis: DemoKpis): string {
  const { byState } = kpis;
  const accounted = kpis.items - byState.lost;
  return (
    `${accounted} of ${kpis.items} items accounted for: ${byState.completed} completed, ${byState.rejected} rejected with a reason, ` +
    `${byState.cancelled} cancelled, ${byState.exception} in the exception queue` +
    (byState.closed > 0 ? `, ${byState.closed} closed by a person` : '') +
    `; ${byState.lost} lost`
  );
}
