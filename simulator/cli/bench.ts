import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { POLICY_REGISTRY } from '../../domain/routing';
import { benchmarkDispatch, type DispatchBenchResult } from '../bench/dispatch';
import {
  aggregate,
  checkTargets,
  FCFS,
  FLOWTUNE,
  type GridPlan,
  planTasks,
  randomTargets,
  summariseRandom,
} from '../bench/grid';
import { runTasks } from '../bench/pool';
import type { PredictionVariant } from '../bench/tasks';
import { writeRandomScenarios } from '../random-scenarios';
import { type BenchReport, renderHtml, renderText } from '../report/bench-report';
import { loadScenario, ScenarioError } from '../scenario';
import { type Command, parseOptions, UsageError } from './command';
import { parseCommandOptions } from './simulate';

const DEFAULT_LOGS = ['bpic2012.xes.gz', 'anonymous_bank_february.txt.gz', 'helpdesk.xes.gz'];
const TRACES = '../shared/data/traces';

const HELP = `
Usage: flowtune bench [--reps N] [--seed S] [--workers W] [--scenarios LIST] [--loads LIST]
                      [--policies LIST] [--variants LIST] [--variant-loads LIST]
                      [--logs LIST|none] [--replay-policies LIST|all] [--no-dispatch]
                      [--random N] [--random-reps N] [--random-dir DIR]
                      [--out FILE] [--json]

Runs every routing policy over scenarios × loads × replications on common random numbers, the
prediction variants (noisy item hints with CV 1.0; no predictions at all), replays of the real
logs, the random section (generated scenarios nobody tuned for) and the dispatch-round
micro-benchmark. Prints the tables and the targets (PASS/MISS),
writes an HTML report with charts (and a JSON twin beside it). Progress goes to stderr.

Options:
  --reps N              replications per point (default 4)
  --seed S              base seed (default 1)
  --workers W           worker threads (default: CPUs, at most 2)
  --scenarios LIST      comma-separated scenario files or names in scenarios/ (default: all; none)
  --loads LIST          loads as fractions of LP capacity (default 0.7,0.9,0.95,1,1.1)
  --policies LIST       policies (default: all: ${Object.keys(POLICY_REGISTRY).join(', ')})
  --variants LIST       prediction variants: noisy, absent, cold (default all three) or none
  --variant-loads LIST  loads the variants run at (default 0.9)
  --logs LIST|none      logs to replay (default: ${DEFAULT_LOGS.join(', ')} in ${TRACES}, when present)
  --replay-policies L   policies for the replays (default ${FLOWTUNE},${FCFS}; "all" for every policy)
  --no-dispatch         skip the 200 agents × 500 items dispatch-round benchmark
  --random N            random section: N generated scenarios (drawn from --seed), each at its own
                        load by every policy on common random numbers (default 50; 0 = none)
  --random-reps N       replications per random scenario (default 4)
  --random-dir DIR      where the generated scenarios are written, each re-runnable with
                        \`flowtune simulate --scenario FILE\` (default reports/random-scenarios)
  --out FILE            HTML report path (default reports/bench.html)
  --json                print the report as one JSON object instead of the tables
  -h, --help            this help
`;

const list = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');

const Options = z.object({
  reps: z.coerce.number().int().min(1).max(100).default(4),
  seed: z.coerce.number().int().min(0).default(1),
  workers: z.coerce.number().int().min(0).max(64).default(Math.min(2, availableParallelism())),
  scenarios: z.string().optional(),
  loads: z.string().default('0.7,0.9,0.95,1,1.1'),
  policies: z.string().optional(),
  variants: z.string().default('noisy,absent,cold'),
  'variant-loads': z.string().default('0.9'),
  logs: z.string().optional(),
  'replay-policies': z.string().default(`${FLOWTUNE},${FCFS}`),
  'no-dispatch': z.boolean().default(false),
  random: z.coerce.number().int().min(0).max(500).default(50),
  'random-reps': z.coerce.number().int().min(1).max(100).default(4),
  'random-dir': z.string().min(1).default('reports/random-scenarios'),
  out: z.string().default('reports/bench.html'),
  json: z.boolean().default(false),
});

/**
 * The scenarios to run: the named ones (files, or names in scenarios/), else every routing
 * scenario in scenarios/. Files there that are not routing scenarios (another tool's format) are
 * skipped with a note; a named file that does not validate is an error.
 */
function scenarioFiles(selection: readonly string[] | undefined): Array<{ name: string; path: string }> {
  const directory = 'scenarios';
  if (selection?.length === 1 && selection[0] === 'none') return [];
  if (selection === undefined) {
    const files = existsSync(directory)
      ? readdirSync(directory)
          .filter((file) => /\.(ya?ml|json)$/.test(file))
          .sort()
      : [];
    return files.flatMap((file) => {
      const path = join(directory, file);
      try {
        return [{ name: loadScenario(path).name, path: resolve(path) }];
      } catch (error) {
        if (!(error instanceof ScenarioError)) throw error;
        process.stderr.write(
          `bench: ${path} is not a routing scenario, skipped (${error.message.split('\n')[1]?.trim() ?? 'invalid'})\n`,
        );
        return [];
      }
    });
  }
  return selection.map((entry) => {
    const path = existsSync(entry)
      ? entry
      : [`${entry}`, `${entry}.yaml`, `${entry}.yml`, `${entry}.json`]
          .map((file) => join(directory, file))
          .find(existsSync);
    if (path === undefined)
      throw new UsageError(`scenario "${entry}" not found (looked for it as a file and in ${directory}/)`);
    return { name: loadScenario(path).name, path: resolve(path) };
  });
}

function numbers(text: string, option: string): number[] {
  const values = (list(text) ?? []).map(Number);
  if (values.length === 0 || values.some((value) => !(value > 0)))
    throw new UsageError(`--${option} must be a comma-separated list of positive numbers, got "${text}"`);
  return values;
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark every policy: scenarios × loads, prediction variants, real logs, dispatch round',
  help: HELP,
  async run(argv) {
    const { values } = parseOptions(
      argv,
      {
        reps: { type: 'string' },
        seed: { type: 'string' },
        workers: { type: 'string' },
        scenarios: { type: 'string' },
        loads: { type: 'string' },
        policies: { type: 'string' },
        variants: { type: 'string' },
        'variant-loads': { type: 'string' },
        logs: { type: 'string' },
        'replay-policies': { type: 'string' },
        'no-dispatch': { type: 'boolean' },
        random: { type: 'string' },
        'random-reps': { type: 'string' },
        'random-dir': { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
      },
      'bench',
    );
    const options = parseCommandOptions(Options, values, 'bench');
    const started = performance.now();
    const policies = list(options.policies) ?? Object.keys(POLICY_REGISTRY);
    for (const policy of policies) {
      if (POLICY_REGISTRY[policy] === undefined)
        throw new UsageError(`unknown policy "${policy}" in --policies`);
    }
    const variants = options.variants === 'none' ? [] : (list(options.variants) ?? []);
    for (const variant of variants) {
      if (variant !== 'noisy' && variant !== 'absent' && variant !== 'cold') {
        throw new UsageError(`--variants takes noisy, absent, cold or none, got "${variant}"`);
      }
    }
    let logs: string[] = [];
    if (options.logs !== 'none') {
      const wanted = list(options.logs) ?? DEFAULT_LOGS.map((file) => join(TRACES, file));
      for (const log of wanted) {
        if (existsSync(log)) logs.push(log);
        else
          process.stderr.write(
            `bench: log ${log} is missing, its replay is skipped (see ${TRACES}/README.md)\n`,
          );
      }
    }
    logs = logs.map((log) => resolve(log));
    const replayPolicies =
      options['replay-policies'] === 'all'
        ? Object.keys(POLICY_REGISTRY)
        : (list(options['replay-policies']) ?? []);
    const plan: GridPlan = {
      scenarios: scenarioFiles(list(options.scenarios)),
      loads: numbers(options.loads, 'loads'),
      policies,
      replications: options.reps,
      seed: options.seed,
      variants: variants as PredictionVariant[],
      variantLoads: numbers(options['variant-loads'], 'variant-loads'),
      logs,
      replayPolicies,
      ...(options.random === 0
        ? {}
        : {
            random: {
              seed: options.seed,
              replications: options['random-reps'],
              scenarios: writeRandomScenarios(options.seed, options.random, options['random-dir']).map(
                (scenario) => ({ ...scenario, path: resolve(scenario.path) }),
              ),
            },
          }),
    };
    if (plan.random !== undefined)
      process.stderr.write(
        `bench: ${plan.random.scenarios.length} random scenarios written to ${options['random-dir']}/ (seed ${options.seed})\n`,
      );
    // The micro-benchmark runs first, before the worker threads compete for the CPUs.
    let dispatch: DispatchBenchResult | undefined;
    if (!options['no-dispatch']) {
      process.stderr.write('bench: dispatch round, 200 agents × 500 waiting items, 200 runs…\n');
      dispatch = benchmarkDispatch({ iterations: 200 });
    }
    const tasks = planTasks(plan);
    const progress = new SingleBar({
      format: 'bench [{bar}] {value}/{total} tasks | {eta_formatted} left | {last}',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 20,
    });
    progress.start(tasks.length, 0, { last: '' });
    const results = await runTasks(tasks, options.workers, (result) => {
      const task = tasks[result.id];
      const label =
        task === undefined
          ? ''
          : task.kind === 'grid'
            ? `${basename(task.scenarioPath)} ${task.variant} @${task.load} #${task.replication + 1}`
            : `${basename(task.logPath)} × ${task.policy}`;
      progress.increment({ last: label });
    });
    progress.stop();
    const { cells, replays, errors } = aggregate(plan, tasks, results);
    const wallSeconds = (performance.now() - started) / 1000;
    const random = summariseRandom(plan, cells);
    const report: BenchReport = {
      plan,
      cells,
      replays,
      dispatch,
      ...(random === undefined ? {} : { random }),
      command: `flowtune bench ${argv.join(' ')}`.trim(),
      targets: [...checkTargets(plan, cells, replays, dispatch, wallSeconds), ...randomTargets(random)],
      wallSeconds,
      environment: {
        node: process.version,
        cpus: availableParallelism(),
        loadAverage: loadavg(),
        date: new Date().toISOString(),
        workers: options.workers,
      },
      errors,
    };
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, renderHtml(report));
    const jsonPath = `${options.out.replace(/\.html?$/, '')}.json`;
    writeFileSync(jsonPath, `${JSON.stringify(report, null, 1)}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(`${renderText(report)}\nReport: ${options.out} (data: ${jsonPath})\n`);
    return errors.length > 0 ? 1 : 0;
  },
};
