// `npm run soak`: thousands of work items through the local runtime under faults; exit 1 unless every invariant holds.
import { writeFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { type Command, parseOptions, runCommandLine, UsageError } from '../../simulator/cli/command';
import { percent, table } from '../../simulator/cli/format';
import { CAPACITY_SAMPLE_MS, defaultSoakFaults, runSoak, SOAK_TROUBLE, type SoakResult } from './soak';

const HELP = `
Usage: npm run soak -- [--items N] [--seed S] [--rate R] [--agents A] [--wall-clock [--scale X]]
                       [--no-faults] [--faults X] [--json] [--out FILE]

Drives N work items through Flowtune's local runtime (DynamoDB Local, the real handlers, the
real state machine) with ${percent(SOAK_TROUBLE.duplicateCreated, 0)} duplicate WorkItemCreated, ${percent(SOAK_TROUBLE.malformed, 0)} malformed, ${percent(SOAK_TROUBLE.earlyCompletion, 0)} completions racing
their wait and ${percent(SOAK_TROUBLE.duplicateCompletion, 0)} duplicated, items that never complete, cancellations, and the seeded
fault plan of local/faults.ts (AWS calls throttled and failing, every function crashing or
timing out after its work at 1%), redriving dead letters as an operator would. Then it checks:
  - 0 lost: every item completed, rejected with a reason, cancelled, or in the exception queue
  - exactly one routing decision per (item, attempt): ASSIGNED, ROUTED and WorkItemRouted once
  - capacity never exceeded (sampled every ${CAPACITY_SAMPLE_MS / 1000} simulated s) and no slot leaked at the end

Time is virtual (as in \`npm run demo\`): the runtime's clock stands still while anything is in
flight and jumps to the next timer once nothing is, so the same seed gives the same figures on
any machine, however busy, and no wall second the machine spends counts as simulated time.
--wall-clock runs on scaled wall time instead; its figures then depend on the machine's speed.

Options:
  --items N      work items (default 10000)
  --seed S       workload and fault seed (default 1)
  --rate R       arrivals per simulated minute (default 15)
  --agents A     agents (default 40)
  --wall-clock   scaled wall time instead of virtual time (figures vary with machine load)
  --scale X      with --wall-clock: simulated seconds per wall second (default 60)
  --no-faults    run without injected faults
  --faults X     multiply every fault rate by X (default 1)
  --json         print one JSON object instead of the table
  --out FILE     also write that JSON object to FILE
  -h, --help     this help

Exit code 0 when every invariant holds, 1 otherwise, 2 on bad options.
`;

const Options = z.object({
  items: z.coerce.number().int().min(10).max(100_000).default(10_000),
  seed: z.coerce.number().int().min(0).default(1),
  rate: z.coerce.number().positive().max(500).default(15),
  'wall-clock': z.boolean().default(false),
  scale: z.coerce.number().min(1).max(3600).optional(),
  agents: z.coerce.number().int().min(4).max(500).default(40),
  'no-faults': z.boolean().default(false),
  faults: z.coerce.number().min(0).max(50).default(1),
  json: z.boolean().default(false),
  out: z.string().min(1).optional(),
});

const mark = (ok: boolean) => (ok ? 'ok' : 'FAIL');

/** The soak's summary table. */
export function formatSoakSummary(result: SoakResult): string {
  const { kpis, session, capacity } = result;
  const byState = kpis.byState;
  const arrivalMinutes = result.options.items / result.options.arrivalsPerMinute;
  const valid = session.outcomes.filter((outcome) => outcome.plannedFate !== 'malformed').length;
  const sent = {
    created: session.log.counts.duplicateCreatedSent,
    completions: session.log.counts.duplicateCompletionsSent,
  };
  const faults = Object.entries(result.faultsInjected)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  const rows: string[][] = [
    ['work items', String(kpis.items), `${valid} valid, ${kpis.items - valid} malformed`, ''],
    [
      'duplicates sent / recorded as duplicate',
      `${sent.created} / ${kpis.duplicatesIgnored.created}`,
      `completions ${sent.completions} / ${kpis.duplicatesIgnored.completions}; more recorded than sent = redeliveries after injected timeouts`,
      mark(
        kpis.duplicatesIgnored.created >= sent.created &&
          kpis.duplicatesIgnored.completions >= sent.completions,
      ),
    ],
    [
      'out-of-order completions',
      String(session.log.counts.earlyCompletionsSent),
      `${kpis.earlyCompletions} overtook their wait and were handed over`,
      '',
    ],
    [
      'faults injected',
      String(Object.values(result.faultsInjected).reduce((sum, count) => sum + count, 0)),
      faults || 'none',
      '',
    ],
    ['dead letters redriven', String(result.redriven), 'as docs/redrive.md says', ''],
    ['completed', String(byState.completed), `${percent(kpis.slaAttainment)} within SLA`, ''],
    ['rejected with a reason', String(byState.rejected), '', ''],
    ['cancelled', String(byState.cancelled), '', ''],
    ['in the exception queue', String(byState.exception), exceptionBreakdown(result.session.outcomes), ''],
    [
      'lost',
      String(byState.lost),
      byState.lost === 0
        ? ''
        : kpis.lost
            .slice(0, 3)
            .map((o) => o.itemId)
            .join(', '),
      mark(byState.lost === 0),
    ],
    [
      'routing decisions per (item, attempt) ≠ 1',
      String(result.routingViolations.length),
      `${result.routedItems} items routed, ${kpis.reroutes} re-routes`,
      mark(result.routingViolations.length === 0),
    ],
    [
      'capacity exceeded',
      String(capacity.violations.length),
      `${capacity.samples} samples, peak ${percent(capacity.peakUtilisation, 0)} of capacity`,
      mark(capacity.violations.length === 0),
    ],
    ['slots leaked at the end', String(capacity.leaks.length), '', mark(capacity.leaks.length === 0)],
    ['dead letters left', String(session.failures.length), '', mark(session.failures.length === 0)],
    [
      'settled before the timeout',
      session.settled ? 'yes' : 'no',
      `${result.simulatedHours.toFixed(1)} h simulated (arrivals over ${(arrivalMinutes / 60).toFixed(1)} h, ${result.options.arrivalsPerMinute}/min); ${result.wallSeconds.toFixed(0)} s wall: start ${session.wallSeconds.startup.toFixed(0)} s, run ${session.wallSeconds.drive.toFixed(0)} s, ledger ${session.wallSeconds.ledger.toFixed(0)} s`,
      mark(session.settled),
    ],
  ];
  return table(['soak', 'count', 'detail', 'check'], rows);
}

const soakCommand: Command = {
  name: 'soak',
  summary: 'soak the local runtime: thousands of items with duplicates, bad input and faults',
  help: HELP,
  async run(argv) {
    const { values } = parseOptions(
      argv,
      {
        items: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        'wall-clock': { type: 'boolean' },
        scale: { type: 'string' },
        agents: { type: 'string' },
        'no-faults': { type: 'boolean' },
        faults: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
      },
      'soak',
    );
    const parsed = Options.safeParse(values);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`--${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}`);
    }
    const options = parsed.data;
    if (options.scale !== undefined && !options['wall-clock']) {
      throw new UsageError(
        '--scale applies to --wall-clock runs only (virtual time needs no scale): add --wall-clock, or drop --scale',
      );
    }
    const timeScale = options['wall-clock'] ? (options.scale ?? 60) : undefined;
    const bar = new SingleBar({
      stream: process.stderr,
      format: 'soak |{bar}| {value}/{total} settled | {created} created | {simulated} h simulated | {wall} s',
      // Without a terminal (CI logs, a pipe), a line every few seconds instead of a redrawn bar.
      noTTYOutput: true,
      notTTYSchedule: 5_000,
      hideCursor: true,
    });
    const started = Date.now();
    let barStarted = false;
    const result = await runSoak({
      items: options.items,
      seed: options.seed,
      arrivalsPerMinute: options.rate,
      ...(timeScale === undefined ? {} : { timeScale }),
      agents: options.agents,
      faults: options['no-faults'] ? false : defaultSoakFaults(options.seed, options.faults),
      onProgress: (progress) => {
        const payload = {
          created: progress.created,
          simulated: (progress.simulatedSeconds / 3600).toFixed(1),
          wall: Math.round((Date.now() - started) / 1000),
        };
        if (!barStarted) {
          bar.start(progress.total, progress.settled, payload);
          barStarted = true;
        } else bar.update(progress.settled, payload);
      },
    });
    if (barStarted) bar.stop();
    const { session, ...rest } = result;
    const json = `${JSON.stringify(
      {
        ...rest,
        kpis: {
          ...result.kpis,
          lost: result.kpis.lost.map((outcome) => ({ itemId: outcome.itemId, reason: outcome.reason })),
        },
        wallSecondsByPhase: session.wallSeconds,
        functionStats: session.functionStats,
        failures: session.failures,
        summary: formatSoakSummary(result).split('\n'),
      },
      null,
      2,
    )}\n`;
    if (options.out !== undefined) writeFileSync(options.out, json);
    if (options.json) {
      process.stdout.write(json);
    } else {
      process.stdout.write(
        `Flowtune soak: ${options.items} items at ${options.rate} per simulated minute, ${options.agents} agents, seed ${options.seed}, ${timeScale === undefined ? 'virtual time' : `1 wall s = ${timeScale} simulated s`}, faults ${options['no-faults'] ? 'off' : `×${options.faults}`}\n\n`,
      );
      process.stdout.write(`${formatSoakSummary(result)}\n`);
      const lost = result.kpis.lost.slice(0, 10);
      if (lost.length > 0)
        process.stdout.write(
          `\nLost (first 10):\n${lost.map((o) => `  ${o.itemId}: ${o.reason}`).join('\n')}\n`,
        );
      for (const diagnosis of result.lost.slice(0, 3))
        process.stdout.write(`\nDiagnosis of ${diagnosis.itemId}:\n${JSON.stringify(diagnosis, null, 2)}\n`);
      if (result.routingViolations.length > 0)
        process.stdout.write(
          `\nRouting violations (first 10):\n  ${result.routingViolations.slice(0, 10).join('\n  ')}\n`,
        );
      process.stdout.write(
        `\n${result.passed ? 'PASSED' : 'FAILED'}: 0 lost, exactly-once routing, capacity never exceeded${result.passed ? '' : ' (see above)'}\n`,
      );
    }
    return result.passed ? 0 : 1;
  },
};

// The handlers stand in for Lambdas on Node 22+; the SDK's notice about this Node 20 tool run is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const exitCode = await runCommandLine([soakCommand], ['soak', ...process.argv.slice(2)]);
process.exitCode = exitCode;
setTimeout(() => process.exit(exitCode), 2_000).unref();

/**
 * Why the items in the exception queue are there: escalated after their re-routes, or sent by a
 * failure. Counted over those items only (an escalated item can leave the queue again, so the
 * run's escalation total is not the queue's share).
 */
function exceptionBreakdown(
  outcomes: readonly { readonly final: string; readonly escalated: boolean }[],
): string {
  const inQueue = outcomes.filter((outcome) => outcome.final === 'exception');
  const escalated = inQueue.filter((outcome) => outcome.escalated).length;
  return `${escalated} escalated after re-route, ${inQueue.length - escalated} after a failure`;
}
