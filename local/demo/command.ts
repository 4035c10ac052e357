import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../lib/definitions';
import { historyFromRecords, historyText } from '../../ops/history/export-history';
import { type Command, parseOptions, UsageError } from '../../simulator/cli/command';
import type { LocalEvent } from '../event-router';
import { startExecutingSystem } from '../executing-system';
import { computeKpis, type DemoKpis } from '../workload/kpis';
import { planWorkload } from '../workload/plan';
import { runSession, type SessionResult } from '../workload/session';
import { troubleRows } from '../workload/trouble';
import {
  describeRecord,
  explanationOf,
  formatExplanation,
  formatKpis,
  formatLedgerLine,
  formatSlaGroups,
  formatTrail,
  offset,
  pickShowcase,
} from './format';
import { renderDemoReport } from './report';

const DEFAULT_REPORT = 'reports/demo.html';
/** Simulated seconds of arrivals per item: 300 items arrive over 90 minutes (load ≈ 0.7). */
const ARRIVAL_SECONDS_PER_ITEM = 18;
/** The executing system behind the automation agents: the connector delivers their decisions to it. */
const EXECUTING_SYSTEM = 'automation-platform';

const HELP = `
Usage: npm run demo -- [--items N] [--seed S] [--wall-clock [--scale X]] [--report FILE] [--json]
       (or: npx tsx local/demo/main.ts [options])

Starts Flowtune's local runtime (DynamoDB Local, the real Lambda handlers in-process, the real
process-instance state machine) and drives a seeded workload through it: work items over five
categories and SLA classes P1-P4, twelve agents with skills, proficiency and capacity coming
online and going offline, agents who finish after their handling time, and deliberate trouble
(duplicate and malformed events, completions out of order, items that never complete, a
cancellation, a stale status replay). Routing decisions for automation go by the connector to a
local stand-in executing system (local/executing-system.ts). Then it prints the KPIs, where every
item ended, one item's audit trail with its routing explanation, and writes an HTML report.

Time is virtual: the runtime's clock stands still while anything is in flight and jumps to the
next timer once nothing is, so hours of SLAs pass in seconds and the same seed prints the same
figures on any machine, however busy. --wall-clock runs on scaled wall time instead (1 wall
second = --scale simulated seconds), a live run to watch, as \`ops serve\` does; its figures then
depend on the machine's speed. Needs Java 17+ (DynamoDB Local); no AWS account.

Options:
  --items N      work items (default 300; arrivals spread over N × ${ARRIVAL_SECONDS_PER_ITEM} simulated seconds)
  --seed S       workload seed (default 1): the same seed plans the same workload
  --wall-clock   scaled wall time instead of virtual time (figures vary with machine load)
  --scale X      with --wall-clock: simulated seconds per wall second (default 360)
  --report FILE  HTML report path (default ${DEFAULT_REPORT})
  --export-history FILE
                 also write the run's history as JSON lines for \`flowtune replay --events FILE\`
  --json         print one JSON object instead of the tables (progress still on stderr)
  -h, --help     this help

Exit code: 0 when every item is accounted for (completed, rejected with a reason, cancelled, or
in the human exception queue), no routing decision was duplicated and nothing was dead-lettered;
1 otherwise; 2 on bad options.
`;

const Options = z.object({
  items: z.coerce.number().int().min(10).max(5000).default(300),
  seed: z.coerce.number().int().min(0).default(1),
  'wall-clock': z.boolean().default(false),
  scale: z.coerce.number().min(1).max(3600).optional(),
  report: z.string().min(1).default(DEFAULT_REPORT),
  'export-history': z.string().min(1).optional(),
  json: z.boolean().default(false),
});
type Options = z.infer<typeof Options>;

function parse(argv: readonly string[]): Options {
  const { values } = parseOptions(
    argv,
    {
      items: { type: 'string' },
      seed: { type: 'string' },
      'wall-clock': { type: 'boolean' },
      scale: { type: 'string' },
      report: { type: 'string' },
      'export-history': { type: 'string' },
      json: { type: 'boolean' },
    },
    'demo',
  );
  const parsed = Options.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `--${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}\nRun "npm run demo -- --help" for the options.`,
    );
  }
  if (parsed.data.scale !== undefined && !parsed.data['wall-clock']) {
    throw new UsageError(
      '--scale applies to --wall-clock runs only: virtual time needs no scale.\nRun "npm run demo -- --help" for the options.',
    );
  }
  return parsed.data;
}

/** Simulated seconds per wall second, or undefined for virtual time. */
function timeScaleOf(options: Options): number | undefined {
  return options['wall-clock'] ? (options.scale ?? 360) : undefined;
}

/** Why the run failed, if it did: lost items, duplicated decisions, dead letters, unsettled items. */
export function demoProblems(result: SessionResult, kpis: DemoKpis): string[] {
  const problems: string[] = [];
  for (const outcome of kpis.lost) problems.push(`lost: ${outcome.itemId} (${outcome.reason})`);
  for (const outcome of result.outcomes)
    for (const violation of outcome.routingViolations) problems.push(`${outcome.itemId}: ${violation}`);
  for (const failure of result.failures) problems.push(`dead-lettered at ${failure.where}: ${failure.error}`);
  for (const agent of result.agentsAtEnd)
    if (agent.activeCount > agent.capacity)
      problems.push(`${agent.agentId} holds ${agent.activeCount} items over capacity ${agent.capacity}`);
  if (!result.settled && kpis.lost.length === 0) problems.push('the run timed out before every item settled');
  return problems;
}

async function runDemo(options: Options): Promise<number> {
  const started = Date.now();
  const plan = planWorkload({
    seed: options.seed,
    items: options.items,
    horizonSeconds: options.items * ARRIVAL_SECONDS_PER_ITEM,
  });
  const say = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  const timeScale = timeScaleOf(options);
  say(
    `Flowtune demo: ${options.items} work items, ${plan.agents.length} agents, seed ${options.seed}; ${
      timeScale === undefined ? 'virtual time' : `1 wall second = ${timeScale} simulated seconds`
    }.`,
  );
  say(
    'Starting the local runtime (DynamoDB Local, the real handlers, the process-instance state machine)...',
  );

  const bar = new SingleBar({
    stream: process.stderr,
    format: 'demo |{bar}| {value}/{total} items settled | {created} created | {simulated} simulated',
    // Without a terminal (CI logs, a pipe), a line every few seconds instead of a redrawn bar.
    noTTYOutput: true,
    notTTYSchedule: 5_000,
    hideCursor: true,
    clearOnComplete: false,
  });
  let barStarted = false;
  const executingSystem = await startExecutingSystem({ name: EXECUTING_SYSTEM });
  let routedEvents: () => readonly LocalEvent[] = () => [];
  let result: SessionResult;
  try {
    result = await runSession({
      plan,
      ...(timeScale === undefined ? {} : { timeScale }),
      settleTimeoutMs: 6 * 3_600_000,
      runtime: { connector: { endpoint: executingSystem.url, name: executingSystem.name } },
      onRuntime: (runtime) => {
        routedEvents = () => runtime.emittedEvents('WorkItemRouted');
        return undefined;
      },
      onProgress: (progress) => {
        const payload = {
          created: progress.created,
          simulated: offset(progress.simulatedSeconds * 1000, 0).replace('+', ''),
        };
        if (!barStarted) {
          bar.start(progress.total, progress.settled, payload);
          barStarted = true;
        } else bar.update(progress.settled, payload);
      },
    });
  } finally {
    await executingSystem.stop();
  }
  if (barStarted) bar.stop();
  const connector = {
    name: executingSystem.name,
    delivered: executingSystem.deliveries.length,
    automationDecisions: automationDecisions(routedEvents()),
  };

  const kpis = computeKpis(result.outcomes);
  const trouble = troubleRows(result, kpis);
  const showcase = pickShowcase(result.outcomes, result.audit);
  const showcaseTrail = showcase === undefined ? [] : (result.audit.get(showcase.itemId) ?? []);
  const wallSeconds = (Date.now() - started) / 1000;
  const reportPath = resolve(PROJECT_ROOT, options.report);
  mkdirSync(dirname(reportPath), { recursive: true });
  writeFileSync(
    reportPath,
    renderDemoReport({
      kpis,
      outcomes: result.outcomes,
      ...(showcase === undefined ? {} : { showcase: { outcome: showcase, trail: showcaseTrail } }),
      trouble,
      run: {
        seed: options.seed,
        items: options.items,
        timeScale: timeScale ?? 'virtual',
        policyVersion: result.policy.version,
        wallSeconds,
        date: new Date().toISOString(),
        node: `${process.version} on ${cpus().length} CPUs`,
      },
    }),
  );
  const historyFile = options['export-history'];
  if (historyFile !== undefined) {
    // The run's Audit table, as read back for the KPIs, through the same mapping as a deployed export.
    const history = historyFromRecords([...result.audit.values()].flat(), {
      source: `demo seed ${options.seed}, ${options.items} items`,
      now: Date.now(),
    });
    const historyPath = resolve(PROJECT_ROOT, historyFile);
    mkdirSync(dirname(historyPath), { recursive: true });
    writeFileSync(historyPath, historyText(history.lines));
    process.stderr.write(
      `demo: history written to ${historyPath} (${history.counts.arrival} arrivals, ${history.counts.completed} completions); replay it with flowtune replay --events ${historyFile} --policy all\n`,
    );
  }
  const problems = demoProblems(result, kpis);
  if (connector.delivered !== connector.automationDecisions)
    problems.push(
      `connector: ${connector.automationDecisions} automation decision(s), ${connector.delivered} delivered to ${connector.name}`,
    );
  const exitCode = problems.length === 0 ? 0 : 1;

  if (options.json) {
    const explanation = explanationOf(showcaseTrail);
    process.stdout.write(
      `${JSON.stringify(
        {
          run: {
            seed: options.seed,
            items: options.items,
            timeScale: timeScale ?? 'virtual',
            policyVersion: result.policy.version,
            wallSeconds: Math.round(wallSeconds * 10) / 10,
            runtimeWallSeconds: result.wallSeconds,
          },
          kpis: {
            ...kpis,
            lost: kpis.lost.map((outcome) => ({ itemId: outcome.itemId, reason: outcome.reason })),
          },
          trouble,
          connector,
          showcase:
            showcase === undefined
              ? null
              : {
                  itemId: showcase.itemId,
                  trail: showcaseTrail.map((record) => ({
                    at: record.at,
                    kind: record.kind,
                    actor: record.actor,
                    what: describeRecord(record),
                  })),
                  explanation: explanation ?? null,
                },
          notCompleted: result.outcomes
            .filter((outcome) => outcome.final !== 'completed')
            .map((outcome) => ({ itemId: outcome.itemId, final: outcome.final, reason: outcome.reason })),
          report: reportPath,
          problems,
          lostDiagnoses: result.lostDiagnoses,
          exitCode,
        },
        null,
        2,
      )}\n`,
    );
    return exitCode;
  }

  const simulatedHours = kpis.spanSeconds / 3600;
  say('');
  say(
    `Done: ${simulatedHours.toFixed(1)} simulated hours in ${wallSeconds.toFixed(1)} s of wall time (runtime start ${result.wallSeconds.startup.toFixed(1)} s, workload ${result.wallSeconds.drive.toFixed(1)} s).`,
  );
  say('');
  say('KPIs (simulated time, read back from the runtime: executions and the Audit table)');
  say(formatKpis(kpis));
  say('');
  say(formatSlaGroups(kpis));
  say('');
  say('Trouble sent on purpose');
  say(
    trouble.map((row) => `  ${row.what}: ${row.sent} sent, ${row.handled} handled (${row.how})`).join('\n'),
  );
  say('');
  say(formatLedgerLine(kpis));
  const exceptions = result.outcomes.filter((outcome) => outcome.final === 'exception');
  if (exceptions.length > 0)
    say(`  in the exception queue: ${exceptions.map((outcome) => outcome.itemId).join(', ')}`);
  say(
    `  delivered to ${connector.name}: ${connector.delivered} (of ${connector.automationDecisions} automation decisions, by the connector)`,
  );
  if (showcase !== undefined) {
    say('');
    say(
      `Audit trail of ${showcase.itemId} (${showcase.category}, ${showcase.slaGroup}; times from its creation)`,
    );
    say(formatTrail(showcaseTrail, showcase.createdAt ?? Date.parse(showcaseTrail[0]?.at ?? '')));
    const explanation = explanationOf(showcaseTrail);
    if (explanation !== undefined) {
      say('');
      say(`Why ${explanation.chosen.agentId}:`);
      say(formatExplanation(explanation));
    }
  }
  say('');
  say(`HTML report: ${reportPath}`);
  if (problems.length > 0) {
    process.stderr.write(
      `\nFAILED: ${problems.length} problem(s)\n${problems.map((line) => `  ${line}`).join('\n')}\n`,
    );
    for (const diagnosis of result.lostDiagnoses.slice(0, 3))
      process.stderr.write(
        `\nWhat the runtime holds about ${diagnosis.itemId}:\n${JSON.stringify(diagnosis, null, 2)}\n`,
      );
  }
  return exitCode;
}

/** `flowtune demo`: the local runtime under a realistic workload, with KPIs and an audit trail. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'run Flowtune locally under a seeded workload: KPIs, an audit trail, an HTML report',
  help: HELP,
  run: (argv) => runDemo(parse(argv)),
};

/** Distinct routing decisions (item and attempt) for automation agents: what the connector must deliver. */
function automationDecisions(routed: readonly LocalEvent[]): number {
  const keys = new Set<string>();
  for (const event of routed) {
    const detail = event.detail as { id?: unknown; attempt?: unknown; assignee?: { kind?: unknown } };
    if (detail.assignee?.kind === 'automation') keys.add(`${String(detail.id)}#${String(detail.attempt)}`);
  }
  return keys.size;
}
