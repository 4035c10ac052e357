import { percent, seconds } from '../../simulator/cli/format';
import { barChart, escapeXml, lineChart } from '../../simulator/report/svg';
import type { DemoKpis } from '../workload/kpis';
import type { ItemOutcome, RawAuditRecord } from '../workload/ledger';
import { describeRecord, explanationOf, offset } from './format';

/**
 * The demo's HTML report: one self-contained file (inline SVG charts, no script, no CDN) with
 * the KPIs, the ledger, charts over simulated time, and one item's audit trail and explanation.
 */

export interface DemoReportInput {
  readonly kpis: DemoKpis;
  readonly outcomes: readonly ItemOutcome[];
  readonly showcase?: { readonly outcome: ItemOutcome; readonly trail: readonly RawAuditRecord[] };
  /** What the producers and agents sent, against what the system recorded. */
  readonly trouble: readonly {
    readonly what: string;
    readonly sent: number;
    readonly handled: number;
    readonly how: string;
  }[];
  readonly run: {
    readonly seed: number;
    readonly items: number;
    /** Simulated seconds per wall second, or 'virtual'. */
    readonly timeScale: number | 'virtual';
    readonly policyVersion: string;
    readonly wallSeconds: number;
    readonly date: string;
    readonly node: string;
  };
}

const htmlTable = (headers: readonly string[], rows: readonly (readonly string[])[]): string =>
  `<table><tr>${headers.map((header) => `<th>${escapeXml(header)}</th>`).join('')}</tr>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeXml(cell)}</td>`).join('')}</tr>`)
    .join('')}</table>`;

const finite = (value: number, render: (value: number) => string) =>
  Number.isFinite(value) ? render(value) : 'n/a';

/** Completions per bucket and items in the system, over simulated hours since the first arrival. */
function timeSeries(outcomes: readonly ItemOutcome[], bucketMinutes = 10) {
  const starts = outcomes.flatMap((outcome) => (outcome.createdAt === undefined ? [] : [outcome.createdAt]));
  if (starts.length === 0) return { completions: [], inSystem: [] };
  const origin = Math.min(...starts);
  const ends = outcomes.map((outcome) => outcome.completedAt ?? outcome.lastRecordAt ?? origin);
  const last = Math.max(...ends, ...starts);
  const bucketMs = bucketMinutes * 60_000;
  const buckets = Math.max(1, Math.ceil((last - origin) / bucketMs));
  const completions: [number, number][] = [];
  const inSystem: [number, number][] = [];
  for (let bucket = 0; bucket <= buckets; bucket++) {
    const from = origin + bucket * bucketMs;
    const to = from + bucketMs;
    const hours = (bucket * bucketMinutes) / 60;
    completions.push([
      hours,
      outcomes.filter(
        (outcome) =>
          outcome.completedAt !== undefined && outcome.completedAt >= from && outcome.completedAt < to,
      ).length,
    ]);
    // In the system: created, and not yet at its final record (exceptions stay in).
    inSystem.push([
      hours,
      outcomes.filter((outcome) => {
        if (outcome.createdAt === undefined || outcome.createdAt > from) return false;
        if (outcome.final === 'exception') return true;
        const ended = outcome.completedAt ?? outcome.lastRecordAt;
        return ended === undefined || ended > from;
      }).length,
    ]);
  }
  return { completions, inSystem };
}

function handledByAgent(outcomes: readonly ItemOutcome[]) {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    if (outcome.final !== 'completed' || outcome.handledBy === undefined) continue;
    counts.set(outcome.handledBy, (counts.get(outcome.handledBy) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([label, value]) => ({ label, value }));
}

function showcaseSection(showcase: NonNullable<DemoReportInput['showcase']>): string {
  const { outcome, trail } = showcase;
  const origin = outcome.createdAt ?? Date.parse(trail[0]?.at ?? '');
  const explanation = explanationOf(trail);
  const trailTable = htmlTable(
    ['at', 'record', 'actor', 'what'],
    trail.map((record) => [
      offset(Date.parse(record.at), origin),
      record.kind,
      record.actor,
      describeRecord(record),
    ]),
  );
  if (explanation === undefined) return `<h2>Audit trail of ${escapeXml(outcome.itemId)}</h2>${trailTable}`;
  const names = [
    ...new Set([
      ...explanation.chosen.terms.map((term) => term.name),
      ...(explanation.runnerUp?.terms ?? []).map((term) => term.name),
    ]),
  ];
  const termValue = (terms: readonly { name: string; value: number }[] | undefined, name: string) =>
    terms?.find((term) => term.name === name)?.value.toFixed(4) ?? '';
  const headers = ['cost term', `chosen ${explanation.chosen.agentId}`];
  if (explanation.runnerUp) headers.push(`runner-up ${explanation.runnerUp.agentId}`);
  const rows = names.map((name) => [
    name,
    termValue(explanation.chosen.terms, name),
    ...(explanation.runnerUp ? [termValue(explanation.runnerUp.terms, name)] : []),
  ]);
  rows.push([
    'total',
    explanation.chosen.cost.toFixed(4),
    ...(explanation.runnerUp ? [explanation.runnerUp.cost.toFixed(4)] : []),
  ]);
  return `<h2>Audit trail of ${escapeXml(outcome.itemId)} (${escapeXml(outcome.category)}, ${escapeXml(outcome.slaGroup)})</h2>
${trailTable}
<h3>Why ${escapeXml(explanation.chosen.agentId)}</h3>
<p>${escapeXml(explanation.summary)} ${explanation.candidatesConsidered} candidate agents considered; the lowest cost wins.</p>
${htmlTable(headers, rows)}`;
}

/** The report as one HTML document. */
export function renderDemoReport(input: DemoReportInput): string {
  const { kpis, outcomes, run } = input;
  const series = timeSeries(outcomes);
  const kpiRows: [string, string][] = [
    ['Work items planned', String(kpis.items)],
    ['Completed', String(kpis.byState.completed)],
    ['Throughput', `${finite(kpis.throughputPerHour, (value) => value.toFixed(1))} items per hour`],
    [
      'Wait, created → routed (mean / p90)',
      `${finite(kpis.wait.mean, seconds)} / ${finite(kpis.wait.p90, seconds)}`,
    ],
    ['Cycle time (mean / p90)', `${finite(kpis.cycle.mean, seconds)} / ${finite(kpis.cycle.p90, seconds)}`],
    ['SLA attainment', finite(kpis.slaAttainment, (value) => percent(value))],
    ['Rejected with a reason', String(kpis.rejected)],
    [
      'Duplicates ignored (created / completed)',
      `${kpis.duplicatesIgnored.created} / ${kpis.duplicatesIgnored.completions}`,
    ],
    [
      'Re-routes / escalations / human reviews',
      `${kpis.reroutes} / ${kpis.escalations} / ${kpis.humanReviews}`,
    ],
    ['Routing decisions per attempt ≠ 1', String(kpis.routingViolations)],
    ['Lost', String(kpis.byState.lost)],
  ];
  const stateBars = Object.entries(kpis.byState).map(([label, value]) => ({
    label,
    value,
    highlight: label === 'lost' && value > 0,
  }));
  const charts = [
    lineChart({
      title: 'Completions per 10 simulated minutes',
      xLabel: 'simulated hours',
      yLabel: 'items',
      series: [{ name: 'completed', points: series.completions, highlight: true }],
    }),
    lineChart({
      title: 'Items in the system',
      xLabel: 'simulated hours',
      yLabel: 'items',
      series: [{ name: 'in system', points: series.inSystem, highlight: true }],
    }),
    barChart({
      title: 'SLA attainment by class',
      bars: kpis.bySlaGroup.map((group) => ({ label: group.group, value: group.slaAttainment })),
      reference: 1,
      format: (value) => percent(value, 0),
    }),
    barChart({
      title: 'Cycle time p90 by class (minutes)',
      bars: kpis.bySlaGroup.map((group) => ({ label: group.group, value: group.cycle.p90 / 60 })),
      format: (value) => value.toFixed(1),
    }),
    barChart({
      title: 'Items completed per agent',
      bars: handledByAgent(outcomes),
      format: (value) => value.toFixed(0),
    }),
    barChart({ title: 'Where every item ended', bars: stateBars, format: (value) => value.toFixed(0) }),
  ].join('\n');
  const notAccounted = outcomes.filter((outcome) => outcome.final === 'lost');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flowtune demo report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
td:last-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
.ok{color:#1a7f37;font-weight:bold}.bad{color:#cf222e;font-weight:bold}
</style></head><body>
<h1>Flowtune demo: ${run.items} work items through the local runtime</h1>
<p>${escapeXml(run.date)} · Node ${escapeXml(run.node)} · seed ${run.seed} · ${run.timeScale === 'virtual' ? 'virtual time' : `1 wall second = ${run.timeScale} simulated seconds`} · policy ${escapeXml(run.policyVersion)} · ${run.wallSeconds.toFixed(1)} s wall clock.
The real handlers and the real process-instance state machine ran against DynamoDB Local; every figure below is read back from the runtime's own records (executions and the Audit table). Times are simulated.</p>
<p class="${notAccounted.length === 0 ? 'ok' : 'bad'}">${kpis.items - notAccounted.length} of ${kpis.items} items accounted for; ${notAccounted.length} lost.</p>
<h2>KPIs</h2>
${htmlTable(['KPI', 'value'], kpiRows)}
<h2>By SLA class</h2>
${htmlTable(
  ['class', 'items', 'completed', 'SLA met', 'cycle p50', 'cycle p90'],
  kpis.bySlaGroup.map((group) => [
    group.group,
    String(group.items),
    String(group.completed),
    finite(group.slaAttainment, (value) => percent(value)),
    finite(group.cycle.p50, seconds),
    finite(group.cycle.p90, seconds),
  ]),
)}
<div class="charts">${charts}</div>
<h2>Trouble sent on purpose, and what the system did with it</h2>
${htmlTable(
  ['what', 'sent', 'handled', 'how'],
  input.trouble.map((row) => [row.what, String(row.sent), String(row.handled), row.how]),
)}
${input.showcase === undefined ? '' : showcaseSection(input.showcase)}
<h2>Items not completed</h2>
${htmlTable(
  ['item', 'class', 'ended', 'why'],
  outcomes
    .filter((outcome) => outcome.final !== 'completed')
    .map((outcome) => [outcome.itemId, outcome.slaGroup, outcome.final, outcome.reason]),
)}
</body></html>
`;
}
