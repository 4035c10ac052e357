import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { RunMetrics } from '../../domain/metrics';
import { POLICY_REGISTRY } from '../../domain/routing';
import {
  AS_LOGGED,
  describeMappingIssues,
  KNOWN_LOGS,
  LogMapping,
  loadReplay,
  ReplayError,
  replay,
  UTILISATION_TOLERANCE_POINTS,
  WAIT_TOLERANCE,
} from '../replay';
import { type Command, parseOptions } from './command';
import { percent, seconds, table } from './format';
import { parseCommandOptions } from './simulate';

const HELP = `
Usage: flowtune replay --log FILE --policy NAME [--map FILE] [--seed S] [--json]

Replays a real event log through a routing policy at the log's own staffing: the log's arrivals,
its people (skills they demonstrated, when they worked, how many items they held at once) and its
handling times. XES (.xes, .xes.gz) and CSV/TSV (.csv, .tsv, .txt, optionally .gz).

Fidelity first: the log's own decisions are replayed on the model ("as-logged": each item to the
person who did it, in their order, with the logged handling times), the staffing the log does not
record is calibrated until that replay reproduces the log's mean wait, and the report shows the
log, the as-logged model and each policy side by side. A log the model cannot reproduce (within
±25 % mean wait and ±10 points utilisation) is marked NOT REPRODUCIBLE with the reason, and no
policy claim is made on it.

Options:
  --log FILE      the event log (the shared logs are in ../shared/data/traces)
  --policy NAME   ${Object.keys(POLICY_REGISTRY).join(', ')}, "all", or "${AS_LOGGED}" (fidelity only)
  --map FILE      YAML/JSON column mapping (needed for logs other than the known ones:
                  ${KNOWN_LOGS.map((log) => log.pattern.source).join(', ')}); see simulator/README.md
  --seed S        seed for the patience draws of served items (default 1)
  --json          print one JSON object instead of the table
  -h, --help      this help

Example:
  npx tsx bin/flowtune.ts replay --log ../shared/data/traces/helpdesk.xes.gz --policy all
`;

const Options = z.object({
  log: z.string({ error: 'is required: pass --log FILE' }).min(1),
  policy: z.enum(['all', AS_LOGGED, ...Object.keys(POLICY_REGISTRY)] as [string, ...string[]], {
    error: `must be one of ${Object.keys(POLICY_REGISTRY).join(', ')}, ${AS_LOGGED} or all`,
  }),
  map: z.string().optional(),
  seed: z.coerce.number().int().min(0).default(1),
  json: z.boolean().default(false),
});

function readMapping(path: string): LogMapping {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new ReplayError(`cannot read mapping ${path}: ${reason}; fix the file (YAML or JSON)`);
  }
  const result = LogMapping.safeParse(raw);
  if (!result.success) {
    throw new ReplayError(
      `${path}: invalid mapping: ${describeMappingIssues(result.error)} (see simulator/README.md, "Replaying logs")`,
    );
  }
  return result.data;
}

/** A file the user named must exist: say which and what to do, not ENOENT and a stack. */
function requireFile(path: string, what: string): void {
  if (!existsSync(path)) throw new ReplayError(`${path}: no such ${what}; check the path`);
}

/** What the log had that gave no work, so nothing is dropped silently. */
function ratioOf(value: number, reference: number): number {
  return reference > 0 ? value / reference : Number.NaN;
}

function leftOut(skipped: Readonly<Record<string, number>>): string {
  const entries = Object.entries(skipped);
  if (entries.length === 0) return '';
  return `left out: ${entries.map(([reason, count]) => `${count} ${reason}`).join(', ')}\n`;
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a real event log (XES or CSV/TSV) through a routing policy',
  help: HELP,
  async run(argv) {
    const { values } = parseOptions(
      argv,
      {
        log: { type: 'string' },
        policy: { type: 'string' },
        map: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
      },
      'replay',
    );
    const options = parseCommandOptions(Options, values, 'replay');
    requireFile(options.log, 'log file');
    if (options.map !== undefined) requireFile(options.map, 'mapping file');
    process.stderr.write(`replay: reading ${options.log}…\n`);
    const calibrated = await loadReplay(options.log, {
      seed: options.seed,
      ...(options.map === undefined ? {} : { mapping: readMapping(options.map) }),
      onStep: (step, staffing, ratio) =>
        process.stderr.write(
          `replay: calibrating staffing, as-logged run ${step}: capacity at the p${Math.round(staffing.capacityQuantile * 100)} of concurrency, breaks over ${seconds(staffing.breakGapSeconds)} → wait ${ratio.toFixed(2)}× the log\n`,
        ),
    });
    const { model, fidelity } = calibrated;
    const policies =
      options.policy === 'all'
        ? Object.keys(POLICY_REGISTRY)
        : options.policy === AS_LOGGED
          ? []
          : [options.policy];
    const results = policies.map((policy, index) => {
      process.stderr.write(
        `replay: ${policy} (${index + 1}/${policies.length}), ${model.summary.jobs} jobs…\n`,
      );
      const result = replay(model, policy);
      return {
        policy,
        metrics: result.metrics,
        // Against the as-logged model, the only comparison the model supports.
        meanWaitVsAsLogged: ratioOf(result.metrics.meanWait, calibrated.asLogged.metrics.meanWait),
        rounds: result.rounds,
        meanDecisionMillis: result.rounds === 0 ? 0 : result.decisionMillis.total / result.rounds,
      };
    });
    const source = KNOWN_LOGS.find((log) => log.pattern.test(options.log))?.source;
    const claim = fidelity.reproducible
      ? 'policies are compared on a model that reproduces the log'
      : `NOT REPRODUCIBLE: ${fidelity.reason}; no policy claim is made on this log`;
    if (options.json) {
      const output = {
        log: options.log,
        source,
        summary: model.summary,
        fidelity: {
          loggedMeanWaitSeconds: fidelity.loggedMeanWaitSeconds,
          modelMeanWaitSeconds: fidelity.modelMeanWaitSeconds,
          loggedUtilisation: fidelity.loggedUtilisation,
          modelUtilisation: fidelity.modelUtilisation,
          ratio: fidelity.ratio,
          reproducible: fidelity.reproducible,
          ...(fidelity.reason === undefined ? {} : { reason: fidelity.reason }),
          staffing: fidelity.staffing,
          calibrationRuns: fidelity.calibrationRuns,
          tolerance: { meanWaitRatio: WAIT_TOLERANCE, utilisationPoints: UTILISATION_TOLERANCE_POINTS },
        },
        claim,
        // The three-way comparison: what really happened, the as-logged model, each policy.
        logged: model.logged,
        asLogged: calibrated.asLogged.metrics,
        results,
      };
      process.stdout.write(
        `${JSON.stringify(options.policy === 'all' || results.length === 0 ? output : { ...output, ...results[0] })}\n`,
      );
      return 0;
    }
    const row = (name: string, metrics: RunMetrics) => [
      name,
      seconds(metrics.meanWait),
      seconds(metrics.p90Wait),
      seconds(metrics.meanCycle),
      percent(metrics.slaAttainment),
      percent(metrics.abandonmentRate),
      metrics.throughputPerHour.toFixed(2),
      percent(metrics.utilisation),
    ];
    const rows = [
      row('log (what happened)', model.logged),
      row(AS_LOGGED, calibrated.asLogged.metrics),
      ...results.map(({ policy, metrics }) => row(policy, metrics)),
    ];
    const s = model.summary;
    const staffing = fidelity.staffing;
    process.stdout.write(
      `${options.log}${source === undefined ? '' : ` (${source})`}\n` +
        `${s.jobs} jobs (${s.abandoned} abandoned in the log), ${s.agents} agents, ${s.categories} categories, ` +
        `${s.spanDays.toFixed(1)} days\n` +
        leftOut(s.skipped) +
        `fidelity: as-logged mean wait ${seconds(fidelity.modelMeanWaitSeconds)} vs ${seconds(fidelity.loggedMeanWaitSeconds)} in the log ` +
        `(${fidelity.ratio.toFixed(2)}×, tolerance ±${WAIT_TOLERANCE * 100} %), utilisation ${percent(fidelity.modelUtilisation)} vs ${percent(fidelity.loggedUtilisation)} ` +
        `(±${UTILISATION_TOLERANCE_POINTS} points); staffing: capacity at the p${Math.round(staffing.capacityQuantile * 100)} of each person's concurrency, ` +
        `idle gaps over ${seconds(staffing.breakGapSeconds)} are breaks\n` +
        `${claim}\n\n` +
        `${table(['', 'mean wait', 'p90 wait', 'mean cycle', 'SLA', 'abandoned', 'done / h', 'utilisation'], rows)}\n`,
    );
    return 0;
  },
};
