import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { DEFAULT_FLOWTUNE_WEIGHTS } from '../../domain/routing';
import { type Command, parseOptions } from '../cli/command';
import { percent, table } from '../cli/format';
import { parseCommandOptions } from '../cli/simulate';
import { highsSolver } from '../lp';
import { loadScenario } from '../scenario';
import { DEFAULT_GOLD_SHARE, evaluateCustomerValue, OTHERS_MAX_LOSS_POINTS } from './evaluate';

const HELP = `
Usage: flowtune customer-value --scenario FILE [--load X] [--reps N] [--seed S]
                               [--gold-share F] [--weight W] [--json]

Measures what the customer's tier does in Flowtune's routing cost: every replication runs twice
on the same arrivals and tiers, with the policy's "customer" weight (a gold customer's item counts
as two priority levels higher at the default weight 2) and with it at 0, and prints the SLA attainment of gold
items and of the others. The claim: gold attainment rises; the others lose at most
${OTHERS_MAX_LOSS_POINTS} points on average.

Options:
  --scenario FILE     scenario file, e.g. scenarios/contact-centre.yaml (required)
  --load X            offered load as a fraction of the LP capacity (default: the scenario's)
  --reps N            replications (default 4)
  --seed S            base seed (default 1)
  --gold-share F      share of items from gold customers (default ${DEFAULT_GOLD_SHARE})
  --weight W          the policy's customer weight under test (default 2, as DEFAULT_FLOWTUNE_WEIGHTS)
  --json              print one JSON object instead of the table
  -h, --help          this help

Example:
  npm run customer-value -- --scenario scenarios/contact-centre.yaml --load 1 --reps 4
`;

const Options = z.object({
  scenario: z.string({ error: 'is required: pass --scenario FILE' }).min(1),
  load: z.coerce.number().positive().max(3).optional(),
  reps: z.coerce.number().int().min(1).max(200).default(4),
  seed: z.coerce.number().int().min(0).default(1),
  'gold-share': z.coerce.number().gt(0).lt(1).default(DEFAULT_GOLD_SHARE),
  weight: z.coerce.number().min(0).max(10).default(DEFAULT_FLOWTUNE_WEIGHTS.customer),
  json: z.boolean().default(false),
});

/** `flowtune customer-value …`: gold vs other items' SLA attainment with the tier weighed in and ignored. */
export const customerValueCommand: Command = {
  name: 'customer-value',
  summary: "the customer tier's effect on SLA attainment (gold up, others within a bound)",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions(
      argv,
      {
        scenario: { type: 'string' },
        load: { type: 'string' },
        reps: { type: 'string' },
        seed: { type: 'string' },
        'gold-share': { type: 'string' },
        weight: { type: 'string' },
        json: { type: 'boolean' },
      },
      'customer-value',
    );
    const options = parseCommandOptions(Options, values, 'customer-value');
    const scenario = loadScenario(options.scenario);
    const load = options.load ?? scenario.load;
    const solver = await highsSolver();
    const progress = new SingleBar({
      format: `customer-value ${scenario.name} @ ${load} [{bar}] {value}/{total} replications (2 runs each)`,
      stream: process.stderr,
      hideCursor: true,
    });
    progress.start(options.reps, 0);
    const result = evaluateCustomerValue({
      scenario,
      load,
      replications: options.reps,
      seed: options.seed,
      solver,
      goldShare: options['gold-share'],
      customerWeight: options.weight,
      onReplication: (done) => progress.update(done),
    });
    progress.stop();
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return result.claimHolds ? 0 : 1;
    }
    const avg = (pick: (run: (typeof result.replications)[number]) => number) =>
      result.replications.reduce((sum, run) => sum + pick(run), 0) / result.replications.length;
    const rows = [
      ['gold', percent(avg((run) => run.withoutTier.gold)), percent(avg((run) => run.withTier.gold))],
      ['others', percent(avg((run) => run.withoutTier.others)), percent(avg((run) => run.withTier.others))],
      ['all', percent(avg((run) => run.withoutTier.all)), percent(avg((run) => run.withTier.all))],
    ];
    const sign = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
    process.stdout.write(
      `${scenario.name}, load ${load}, ${options.reps} replications, seed ${options.seed}, gold share ${result.goldShare}, customer weight ${result.customerWeight}\n\n` +
        `${table(['SLA attainment', 'tier ignored (weight 0)', `tier weighed (weight ${result.customerWeight})`], rows)}\n\n` +
        `gold ${sign(result.goldGainPoints)} points, others ${sign(result.othersChangePoints)} points ` +
        `(bound: at most −${OTHERS_MAX_LOSS_POINTS}): ${result.claimHolds ? 'holds' : 'MISS'}\n`,
    );
    return result.claimHolds ? 0 : 1;
  },
};
