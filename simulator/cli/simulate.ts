import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { POLICY_REGISTRY } from '../../domain/routing';
import { highsSolver } from '../lp';
import { simulate, withPredictions } from '../run';
import { loadScenario } from '../scenario';
import { type Command, parseOptions, UsageError } from './command';
import { percent, seconds, table, withCi } from './format';

const HELP = `
Usage: flowtune simulate --scenario FILE --policy NAME [--load X] [--reps N] [--seed S]
                         [--predictions scenario|noisy|absent|cold] [--json]

Runs a discrete-event simulation of a scenario file (YAML or JSON, see simulator/README.md)
under one routing policy and prints the metrics with 95% confidence intervals over replications.

Options:
  --scenario FILE     scenario file, e.g. scenarios/flexible.yaml (required)
  --policy NAME       ${Object.keys(POLICY_REGISTRY).join(', ')} (required)
  --load X            offered load as a fraction of the LP capacity (default: the scenario's)
  --reps N            replications, each with its own seed (default 5)
  --seed S            base seed (default 1); the same seed gives every policy the same arrivals
  --predictions V     scenario (as written); noisy (item-level predictions with CV 1.0);
                      absent (no item-level predictions, learned statistics only);
                      cold (no model at all: no statistics, no learning)
  --json              print one JSON object instead of the table
  -h, --help          this help

Example:
  npx tsx bin/flowtune.ts simulate --scenario scenarios/flexible.yaml --policy flowtune --load 0.9
`;

const Options = z.object({
  scenario: z.string({ error: 'is required: pass --scenario FILE' }).min(1),
  policy: z.enum(Object.keys(POLICY_REGISTRY) as [string, ...string[]], {
    error: `must be one of ${Object.keys(POLICY_REGISTRY).join(', ')}`,
  }),
  load: z.coerce.number().positive().max(3).optional(),
  reps: z.coerce.number().int().min(1).max(200).default(5),
  seed: z.coerce.number().int().min(0).default(1),
  predictions: z.enum(['scenario', 'noisy', 'absent', 'cold']).default('scenario'),
  json: z.boolean().default(false),
});

export function parseCommandOptions<T extends z.ZodType>(
  schema: T,
  values: unknown,
  command: string,
): z.infer<T> {
  const result = schema.safeParse(values);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UsageError(
      `--${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}\nRun "flowtune ${command} --help" for the options.`,
    );
  }
  return result.data;
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'simulate a scenario under one routing policy (metrics with 95% CIs)',
  help: HELP,
  async run(argv) {
    const { values } = parseOptions(
      argv,
      {
        scenario: { type: 'string' },
        policy: { type: 'string' },
        load: { type: 'string' },
        reps: { type: 'string' },
        seed: { type: 'string' },
        predictions: { type: 'string' },
        json: { type: 'boolean' },
      },
      'simulate',
    );
    const options = parseCommandOptions(Options, values, 'simulate');
    const scenario = withPredictions(loadScenario(options.scenario), options.predictions);
    const load = options.load ?? scenario.load;
    const solver = await highsSolver();
    const progress = new SingleBar({
      format: `simulate ${scenario.name} × ${options.policy} @ ${load} [{bar}] {value}/{total} replications`,
      stream: process.stderr,
      hideCursor: true,
    });
    progress.start(options.reps, 0);
    const summary = simulate({
      scenario,
      policy: options.policy,
      load,
      replications: options.reps,
      seed: options.seed,
      solver,
      onReplication: (done) => progress.update(done),
    });
    progress.stop();
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...summary, predictions: options.predictions })}\n`);
      return 0;
    }
    const m = summary.metrics;
    const rows: string[][] = [
      ['mean wait', withCi(m.meanWait, seconds)],
      ['p50 wait', withCi(m.p50Wait, seconds)],
      ['p90 wait', withCi(m.p90Wait, seconds)],
      ['mean cycle', withCi(m.meanCycle, seconds)],
      ['p90 cycle', withCi(m.p90Cycle, seconds)],
      ['SLA attainment', withCi(m.slaAttainment, (value) => percent(value))],
      ['abandonment', withCi(m.abandonmentRate, (value) => percent(value))],
      ['throughput / h', withCi(m.throughputPerHour, (value) => value.toFixed(1))],
      ['throughput vs LP bound', percent(summary.throughputVsBound)],
      ['utilisation', withCi(m.utilisation, (value) => percent(value))],
      ['fairness (max/min util.)', withCi(m.fairness, (value) => value.toFixed(2))],
      ['Erlang C pooled mean wait', seconds(summary.reference.erlangCMeanWait)],
      [
        'Erlang A pooled mean wait',
        summary.reference.erlangAMeanWait === null ? 'n/a' : seconds(summary.reference.erlangAMeanWait),
      ],
    ];
    process.stdout.write(
      `${scenario.name} × ${options.policy}, load ${load}, ${options.reps} replications, seed ${options.seed}, predictions ${options.predictions}\n\n` +
        `${table(['metric', 'mean ± 95% CI'], rows)}\n`,
    );
    return 0;
  },
};
