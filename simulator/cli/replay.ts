import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { RunMetrics } from '../../domain/metrics';
import { Policy } from '../../domain/policy';
import { POLICY_REGISTRY } from '../../domain/routing';
import {
  AS_LOGGED,
  describeMappingIssues,
  KNOWN_LOGS,
  LogMapping,
  loadHistoryReplay,
  loadReplay,
  ReplayError,
  replay,
  type StaffingInference,
  UTILISATION_TOLERANCE_POINTS,
  WAIT_TOLERANCE,
} from '../replay';
import { type Command, parseOptions } from './command';
import { percent, seconds, table } from './format';
import { parseCommandOptions } from './simulate';

const HELP = `
Usage: flowtune replay --log FILE --policy NAME [--map FILE] [--seed S] [--json]
       flowtune replay --events FILE.jsonl [--policy NAME] [--policy-file FILE] [--seed S] [--json]

Replays a real event log through a routing policy at the log's own staffing: the log's arrivals,
its people (skills they demonstrated, when they worked, how many items they held at once) and its
handling times. XES (.xes, .xes.gz) and CSV/TSV (.csv, .tsv, .txt, optionally .gz).

Fidelity first: the log's own decisions are replayed on the model ("as-logged": each item to the
person who did it, in their order, with the logged handling times), the staffing the log does not
record is calibrated until that replay reproduces the log's mean wait, and the report shows the
log, the as-logged model and each policy side by side. A log the model cannot reproduce (within
±25 % mean wait and ±10 points utilisation) is marked NOT REPRODUCIBLE with the reason, and no
policy claim is made on it.

Flowtune's own history (\`flowtune export-history\`, JSON lines) replays the same way: the items
completed in its window, the agents who completed them, calibrated until the as-logged replay
reproduces the history's own waits. With --policy-file, a decision-policy document exactly as
stored (validated like a proposal, weights included) is replayed beside --policy: "what would
this candidate have done last week" in one command.

Options:
  --log FILE      the event log (the shared logs are in ../shared/data/traces)
  --events FILE   Flowtune history JSON lines from \`flowtune export-history\` (instead of --log)
  --policy NAME   ${Object.keys(POLICY_REGISTRY).join(', ')}, "all", or "${AS_LOGGED}" (fidelity only);
                  default "${AS_LOGGED}" when --policy-file is given
  --policy-file F a policy document (JSON or YAML, as \`flowtune ops policies\` shows it)
  --map FILE      YAML/JSON column mapping (needed for logs other than the known ones:
                  ${KNOWN_LOGS.map((log) => log.pattern.source).join(', ')}); see simulator/README.md
  --seed S        seed for the patience draws of served items (default 1)
  --json          print one JSON object instead of the table
  -h, --help      this help

Examples:
  npx tsx bin/flowtune.ts replay --log ../shared/data/traces/helpdesk.xes.gz --policy all
  npx tsx bin/flowtune.ts export-history --outputs cdk-outputs.json --from 2026-11-23 --out week.jsonl
  npx tsx bin/flowtune.ts replay --events week.jsonl --policy flowtune --policy-file candidate.json
`;

const PolicyName = z.enum(['all', AS_LOGGED, ...Object.keys(POLICY_REGISTRY)] as [string, ...string[]], {
  error: `must be one of ${Object.keys(POLICY_REGISTRY).join(', ')}, ${AS_LOGGED} or all`,
});

const Options = z
  .object({
    log: z.string().min(1).optional(),
    events: z.string().min(1).optional(),
    policy: PolicyName.optional(),
    'policy-file': z.string().min(1).optional(),
    map: z.string().optional(),
    seed: z.coerce.number().int().min(0).default(1),
    json: z.boolean().default(false),
  })
  .superRefine((options, context) => {
    if ((options.log === undefined) === (options.events === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['log'],
        message:
          'is required: pass --log FILE (an event log) or --events FILE (Flowtune history), one of them',
      });
    }
    if (options.policy === undefined && options['policy-file'] === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['policy'],
        message: 'is required: pass --policy NAME or --policy-file FILE',
      });
    }
    if (options.events !== undefined && options.map !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['map'],
        message: 'applies to --log only; a history needs no mapping',
      });
    }
  });

/** A policy document from a file, validated by the schema the store and the ops API use. */
function readPolicyFile(path: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new ReplayError(`cannot read policy ${path}: ${reason}; fix the file (JSON or YAML)`);
  }
  // A proposal body or a stored version's answer carries the document under `policy`.
  const document =
    typeof raw === 'object' && raw !== null && 'policy' in raw ? (raw as { policy: unknown }).policy : raw;
  const result = Policy.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field =
      issue === undefined || issue.path.length === 0 ? '(policy)' : issue.path.map(String).join('.');
    throw new ReplayError(`${path}: not a valid policy: ${field} ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}

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
        events: { type: 'string' },
        policy: { type: 'string' },
        'policy-file': { type: 'string' },
        map: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
      },
      'replay',
    );
    const options = parseCommandOptions(Options, values, 'replay');
    const input = (options.log ?? options.events) as string;
    requireFile(input, options.log !== undefined ? 'log file' : 'history file');
    if (options.map !== undefined) requireFile(options.map, 'mapping file');
    const policyFile = options['policy-file'];
    if (policyFile !== undefined) requireFile(policyFile, 'policy file');
    const candidate = policyFile === undefined ? undefined : readPolicyFile(policyFile);
    process.stderr.write(`replay: reading ${input}…\n`);
    const onStep = (step: number, staffing: StaffingInference, ratio: number) =>
      process.stderr.write(
        `replay: calibrating staffing, as-logged run ${step}: capacity at the p${Math.round(staffing.capacityQuantile * 100)} of concurrency, breaks over ${seconds(staffing.breakGapSeconds)} → wait ${ratio.toFixed(2)}× the log\n`,
      );
    const calibrated =
      options.events !== undefined
        ? await loadHistoryReplay(options.events, { seed: options.seed, onStep })
        : await loadReplay(input, {
            seed: options.seed,
            ...(options.map === undefined ? {} : { mapping: readMapping(options.map) }),
            onStep,
          });
    const { model, fidelity } = calibrated;
    const policyName = options.policy ?? AS_LOGGED;
    const named: (string | Policy)[] =
      policyName === 'all' ? Object.keys(POLICY_REGISTRY) : policyName === AS_LOGGED ? [] : [policyName];
    const policies = candidate === undefined ? named : [...named, candidate];
    const label = (policy: string | Policy) =>
      typeof policy === 'string' ? policy : `${policy.version} (${policyFile}, ${policy.routing.strategy})`;
    const results = policies.map((policy, index) => {
      process.stderr.write(
        `replay: ${label(policy)} (${index + 1}/${policies.length}), ${model.summary.jobs} jobs…\n`,
      );
      const result = replay(model, policy);
      return {
        policy: label(policy),
        ...(typeof policy === 'string' ? {} : { policyVersion: policy.version }),
        metrics: result.metrics,
        // Against the as-logged model, the only comparison the model supports.
        meanWaitVsAsLogged: ratioOf(result.metrics.meanWait, calibrated.asLogged.metrics.meanWait),
        rounds: result.rounds,
        meanDecisionMillis: result.rounds === 0 ? 0 : result.decisionMillis.total / result.rounds,
      };
    });
    const source =
      options.events !== undefined
        ? 'Flowtune history'
        : KNOWN_LOGS.find((log) => log.pattern.test(input))?.source;
    const claim = fidelity.reproducible
      ? 'policies are compared on a model that reproduces the log'
      : `NOT REPRODUCIBLE: ${fidelity.reason}; no policy claim is made on this log`;
    if (options.json) {
      const output = {
        ...(options.events === undefined ? { log: input } : { events: input }),
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
        `${JSON.stringify(policyName === 'all' || results.length !== 1 ? output : { ...output, ...results[0] })}\n`,
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
      `${input}${source === undefined ? '' : ` (${source})`}\n` +
        `${s.jobs} jobs (${s.abandoned} abandoned in the log), ${s.agents} agents, ${s.categories} categories, ` +
        `${s.spanDays.toFixed(1)} days\n` +
        leftOut(s.skipped) +
        `fidelity: as-logged mean wait ${seconds(fidelity.modelMeanWaitSeconds)} vs ${seconds(fidelity.loggedMeanWaitSeconds)} in the log ` +
        `(${fidelity.ratio.toFixed(2)}×, tolerance ±${WAIT_TOLERANCE * 100} %), utilisation ${percent(fidelity.modelUtilisation)} vs ${percent(fidelity.loggedUtilisation)} ` +
        `(±${UTILISATION_TOLERANCE_POINTS} points); staffing: ` +
        (options.events !== undefined
          ? "as recorded (each agent's available stretches and declared capacity)\n"
          : `capacity at the p${Math.round(staffing.capacityQuantile * 100)} of each person's concurrency, ` +
            `idle gaps over ${seconds(staffing.breakGapSeconds)} are breaks\n`) +
        `${claim}\n\n` +
        `${table(['', 'mean wait', 'p90 wait', 'mean cycle', 'SLA', 'abandoned', 'done / h', 'utilisation'], rows)}\n`,
    );
    return 0;
  },
};
