import type { DispatchBenchResult } from '../bench/dispatch';
import {
  bestBaseline,
  FCFS,
  FLOWTUNE,
  findCell,
  type GridCell,
  type GridPlan,
  type RandomSummary,
  type ReplayCell,
  type TargetCheck,
} from '../bench/grid';
import { percent, seconds, table } from '../cli/format';
import { barChart, escapeXml, lineChart } from './svg';

export interface BenchReport {
  readonly plan: GridPlan;
  readonly cells: readonly GridCell[];
  readonly replays: readonly ReplayCell[];
  readonly dispatch: DispatchBenchResult | undefined;
  /** The random section's summary and every generated scenario's result. */
  readonly random?: RandomSummary;
  /** The command line that produced the report. */
  readonly command?: string;
  readonly targets: readonly TargetCheck[];
  readonly wallSeconds: number;
  readonly environment: {
    readonly node: string;
    readonly cpus: number;
    readonly loadAverage: readonly number[];
    readonly date: string;
    readonly workers: number;
  };
  readonly errors: readonly string[];
}

const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');

function logName(path: string): string {
  return path.split('/').at(-1) ?? path;
}

/** Per scenario: mean wait of every policy at every load, Flowtune's ratio to the best baseline below. */
function scenarioTable(report: BenchReport, scenario: string): string {
  const { plan, cells } = report;
  const rows = plan.policies.map((policy) => [
    policy,
    ...plan.loads.map((load) => {
      const cell = findCell(cells, scenario, 'scenario', load, policy);
      return cell === undefined ? '–' : seconds(cell.metrics.meanWait.mean);
    }),
    percent(findCell(cells, scenario, 'scenario', 0.9, policy)?.metrics.slaAttainment.mean ?? Number.NaN),
    percent(
      findCell(cells, scenario, 'scenario', Math.max(...plan.loads), policy)?.throughputVsBound.mean ??
        Number.NaN,
    ),
  ]);
  const ratios = [
    'flowtune ÷ best baseline',
    ...plan.loads.map((load) => {
      const flowtune = findCell(cells, scenario, 'scenario', load, FLOWTUNE);
      const best = bestBaseline(cells, scenario, 'scenario', load);
      return flowtune && best ? ratio(flowtune.metrics.meanWait.mean / best.metrics.meanWait.mean) : '–';
    }),
    '',
    '',
  ];
  const bound = [
    'LP bound / h',
    ...plan.loads.map((load) =>
      (findCell(cells, scenario, 'scenario', load, FLOWTUNE)?.boundPerHour ?? Number.NaN).toFixed(0),
    ),
    '',
    '',
  ];
  return table(
    ['mean wait', ...plan.loads.map((load) => `@${load}`), 'SLA @0.9', `thr/LP @${Math.max(...plan.loads)}`],
    [...rows, ratios, bound],
  );
}

function flowtuneVsFcfsRows(report: BenchReport): string[][] {
  const { plan, cells } = report;
  return plan.scenarios.flatMap(({ name }) =>
    plan.loads.map((load) => {
      const flowtune = findCell(cells, name, 'scenario', load, FLOWTUNE);
      const fcfs = findCell(cells, name, 'scenario', load, FCFS);
      const best = bestBaseline(cells, name, 'scenario', load);
      if (flowtune === undefined || fcfs === undefined) return [name, String(load), '–', '–', '–', '–', '–'];
      return [
        name,
        String(load),
        ratio(flowtune.metrics.meanWait.mean / fcfs.metrics.meanWait.mean),
        ratio(flowtune.metrics.p90Wait.mean / fcfs.metrics.p90Wait.mean),
        `${((flowtune.metrics.slaAttainment.mean - fcfs.metrics.slaAttainment.mean) * 100).toFixed(1)} pts`,
        best === undefined
          ? '–'
          : `${ratio(flowtune.metrics.meanWait.mean / best.metrics.meanWait.mean)} (${best.policy})`,
        percent(flowtune.throughputVsBound.mean),
      ];
    }),
  );
}

const VS_HEADERS = [
  'scenario',
  'load',
  'mean wait ÷ FCFS',
  'p90 wait ÷ FCFS',
  'SLA − FCFS',
  'mean wait ÷ best baseline',
  'thr ÷ LP',
];

function variantRows(report: BenchReport): string[][] {
  const { plan, cells } = report;
  return plan.scenarios.flatMap(({ name }) =>
    plan.variants.flatMap((variant) =>
      plan.variantLoads.map((load) => {
        const flowtune = findCell(cells, name, variant, load, FLOWTUNE);
        const best = bestBaseline(cells, name, variant, load);
        return [
          name,
          variant,
          String(load),
          seconds(flowtune?.metrics.meanWait.mean ?? Number.NaN),
          best === undefined ? '–' : `${seconds(best.metrics.meanWait.mean)} (${best.policy})`,
          flowtune && best ? ratio(flowtune.metrics.meanWait.mean / best.metrics.meanWait.mean) : '–',
        ];
      }),
    ),
  );
}

const VARIANT_HEADERS = ['scenario', 'predictions', 'load', 'flowtune mean wait', 'best baseline', 'ratio'];

function replayRows(report: BenchReport): string[][] {
  return report.replays.map((cell) => [
    logName(cell.log),
    cell.policy,
    seconds(cell.metrics.meanWait),
    seconds(cell.metrics.p90Wait),
    percent(cell.metrics.slaAttainment),
    percent(cell.metrics.abandonmentRate),
    seconds(cell.summary.loggedMeanWait),
  ]);
}

const REPLAY_HEADERS = ['log', 'policy', 'mean wait', 'p90 wait', 'SLA', 'abandoned', 'wait in the log'];

/** One row per generated scenario: Flowtune against the best baseline on mean wait and SLA. */
function randomRows(summary: RandomSummary): string[][] {
  return summary.results.map((result) => [
    result.name,
    String(result.load),
    result.description,
    seconds(result.flowtuneMeanWait),
    `${seconds(result.bestBaselineMeanWait)} (${result.bestBaseline})`,
    ratio(result.ratio),
    `${result.slaDeltaPoints >= 0 ? '+' : ''}${result.slaDeltaPoints.toFixed(1)} pts vs ${result.bestSlaBaseline}`,
    result.load > summary.maxLoad ? 'above target loads' : result.ratio <= 1.02 ? 'within 1.02×' : 'MISS',
  ]);
}

const RANDOM_HEADERS = [
  'scenario',
  'load',
  'drawn',
  'flowtune mean wait',
  'best baseline',
  'ratio',
  'SLA − best baseline',
  '',
];

function randomHeadline(summary: RandomSummary): string {
  return (
    `${summary.results.length} scenarios drawn with seed ${summary.seed}, ${summary.replications} replications each, every policy on common random numbers; ` +
    `at loads ≤ ${summary.maxLoad} (${summary.scenarios} scenarios): ${(summary.withinTwoPercentShare * 100).toFixed(0)}% within 1.02× of the best baseline's mean wait, ` +
    `worst ${summary.worstRatio.toFixed(3)}× (${summary.worstScenario}), worst SLA ${summary.slaWorstDeltaPoints >= 0 ? '+' : ''}${summary.slaWorstDeltaPoints.toFixed(1)} pts (${summary.slaWorstScenario}); ` +
    `mean waits under ${summary.waitFloorSeconds} s count as ${summary.waitFloorSeconds} s in the ratios`
  );
}

function targetRows(report: BenchReport): string[][] {
  return report.targets.map((check) => [
    check.pass ? 'PASS' : 'MISS',
    check.target,
    check.scope,
    check.measured,
    check.threshold,
  ]);
}

/** The plain-text summary printed by `flowtune bench`. */
export function renderText(report: BenchReport): string {
  const sections: string[] = [];
  const { plan } = report;
  sections.push(
    `Flowtune bench: ${plan.scenarios.length} scenarios × ${plan.loads.length} loads × ${plan.policies.length} policies × ${plan.replications} replications (seed ${plan.seed}), ` +
      `prediction variants ${plan.variants.join(', ') || 'none'} @ ${plan.variantLoads.join(', ')}, ${plan.logs.length} logs; ` +
      `${report.wallSeconds.toFixed(0)} s on ${report.environment.workers} workers (load average ${report.environment.loadAverage.map((value) => value.toFixed(1)).join(' ')})`,
  );
  for (const { name } of plan.scenarios)
    sections.push(
      `\n== ${name} (mean wait by load; loads are fractions of the LP capacity) ==\n${scenarioTable(report, name)}`,
    );
  sections.push(
    `\n== Flowtune vs longest-idle FCFS and the best baseline ==\n${table(VS_HEADERS, flowtuneVsFcfsRows(report))}`,
  );
  if (plan.variants.length > 0)
    sections.push(`\n== Noisy and absent predictions ==\n${table(VARIANT_HEADERS, variantRows(report))}`);
  if (report.replays.length > 0)
    sections.push(
      `\n== Replay of real logs at their own staffing ==\n${table(REPLAY_HEADERS, replayRows(report))}`,
    );
  if (report.random !== undefined)
    sections.push(
      `\n== Random scenarios (${randomHeadline(report.random)}) ==\n${table(RANDOM_HEADERS, randomRows(report.random))}`,
    );
  if (report.dispatch !== undefined) {
    const d = report.dispatch;
    sections.push(
      `\n== Dispatch round (${d.agents} agents × ${d.waiting} waiting items, ${d.assignmentsPerRound} assignments, ${d.iterations} runs) ==\n` +
        `p50 ${d.p50Millis.toFixed(1)} ms, p99 ${d.p99Millis.toFixed(1)} ms, max ${d.maxMillis.toFixed(1)} ms`,
    );
  }
  sections.push(
    `\n== Targets ==\n${table(['', 'target', 'scope', 'measured', 'threshold'], targetRows(report))}`,
  );
  if (report.errors.length > 0) sections.push(`\n== Errors ==\n${report.errors.join('\n')}`);
  return `${sections.join('\n')}\n`;
}

function htmlTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((header) => `<th>${escapeXml(header)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((cell) => `<td${cell === 'MISS' ? ' class="miss"' : cell === 'PASS' ? ' class="pass"' : ''}>${escapeXml(cell)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The self-contained HTML report (inline SVG, no scripts). */
export function renderHtml(report: BenchReport): string {
  const { plan, cells } = report;
  const scenarioSections = plan.scenarios
    .map(({ name }) => {
      const series = (metric: (cell: GridCell) => number) =>
        plan.policies.map((policy) => ({
          name: policy,
          highlight: policy === FLOWTUNE,
          points: plan.loads
            .map((load) => {
              const cell = findCell(cells, name, 'scenario', load, policy);
              return [load, cell === undefined ? Number.NaN : metric(cell)] as const;
            })
            .filter(([, value]) => Number.isFinite(value)),
        }));
      const scenarioRows = plan.policies.map((policy) => [
        policy,
        ...plan.loads.flatMap((load) => {
          const cell = findCell(cells, name, 'scenario', load, policy);
          if (cell === undefined) return ['–'];
          const m = cell.metrics;
          return [
            `${seconds(m.meanWait.mean)} ±${seconds(m.meanWait.halfWidth)} · p90 ${seconds(m.p90Wait.mean)} · SLA ${percent(m.slaAttainment.mean)} · ab ${percent(m.abandonmentRate.mean)}`,
          ];
        }),
      ]);
      return `<section><h2>${escapeXml(name)}</h2>
<div class="charts">
${lineChart({ title: `${name}: mean wait`, xLabel: 'load (fraction of LP capacity)', yLabel: 'seconds (log)', series: series((cell) => cell.metrics.meanWait.mean), logY: true })}
${lineChart({ title: `${name}: p90 wait`, xLabel: 'load', yLabel: 'seconds (log)', series: series((cell) => cell.metrics.p90Wait.mean), logY: true })}
${lineChart({ title: `${name}: SLA attainment`, xLabel: 'load', yLabel: '%', series: series((cell) => cell.metrics.slaAttainment.mean * 100) })}
${lineChart({ title: `${name}: throughput ÷ LP bound`, xLabel: 'load', yLabel: '%', series: series((cell) => cell.throughputVsBound.mean * 100) })}
</div>
${htmlTable(['policy', ...plan.loads.map((load) => `load ${load}`)], scenarioRows)}
</section>`;
    })
    .join('\n');
  const replayCharts = [...new Set(report.replays.map((cell) => cell.log))]
    .map((log) =>
      barChart({
        title: `${logName(log)}: mean wait (s)`,
        bars: report.replays
          .filter((cell) => cell.log === log)
          .map((cell) => ({
            label: cell.policy,
            value: cell.metrics.meanWait,
            highlight: cell.policy === FLOWTUNE,
          })),
        format: (value) => seconds(value),
      }),
    )
    .join('\n');
  const d = report.dispatch;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flowtune routing benchmark</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
.pass{color:#1a7f37;font-weight:bold}.miss{color:#cf222e;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
</style></head><body>
<h1>Flowtune routing benchmark</h1>
<p>${escapeXml(report.environment.date)} · Node ${escapeXml(report.environment.node)} · ${report.environment.cpus} CPUs, ${report.environment.workers} workers, load average ${report.environment.loadAverage.map((value) => value.toFixed(1)).join(' ')} · ${report.wallSeconds.toFixed(0)} s wall clock ·
${plan.replications} replications per point, seed ${plan.seed}, common random numbers across policies · loads are fractions of the static-planning LP capacity (HiGHS).</p>
<h2>Targets</h2>
${htmlTable(['', 'target', 'scope', 'measured', 'threshold'], targetRows(report))}
<h2>Flowtune vs longest-idle FCFS and the best baseline</h2>
${htmlTable(VS_HEADERS, flowtuneVsFcfsRows(report))}
${scenarioSections}
${plan.variants.length > 0 ? `<section><h2>Noisy and absent predictions</h2>${htmlTable(VARIANT_HEADERS, variantRows(report))}</section>` : ''}
${
  report.replays.length > 0
    ? `<section><h2>Replay of real logs at their own staffing</h2><div class="charts">${replayCharts}</div>${htmlTable(REPLAY_HEADERS, replayRows(report))}
<p>Sources: Helpdesk (Polato et al., Mendeley Data, CC BY 4.0); BPI Challenge 2012 (4TU.ResearchData, doi 10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f); Anonymous Bank call centre (Technion SEE lab, Mandelbaum &amp; Guedj).</p></section>`
    : ''
}
${report.random === undefined ? '' : `<section><h2>Random scenarios</h2><p>${escapeXml(randomHeadline(report.random))}.</p>${htmlTable(RANDOM_HEADERS, randomRows(report.random))}</section>`}
${d === undefined ? '' : `<section><h2>Dispatch round</h2><p>${d.agents} agents × ${d.waiting} waiting items (${d.assignmentsPerRound} assignments per round), ${d.iterations} runs in-process: p50 ${d.p50Millis.toFixed(1)} ms, p99 ${d.p99Millis.toFixed(1)} ms, max ${d.maxMillis.toFixed(1)} ms.</p></section>`}
${report.errors.length > 0 ? `<section><h2>Errors</h2><pre>${escapeXml(report.errors.join('\n'))}</pre></section>` : ''}
</body></html>
`;
}
