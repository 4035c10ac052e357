import { z } from 'zod';
import { type Command, parseOptions, UsageError } from '../cli/command';
import { BANK_LOG_PATH, BankLogMissingError, readBankLog } from './bank-log';
import { evaluateForecastOnCalls, formatForecastEvaluation } from './forecast-eval';
import { compareAllocation, formatAllocationComparison } from './surge-run';
import { AllocationScenarioError, loadAllocationScenario } from './surge-scenario';

const HELP = `
Usage: flowtune allocation forecast-eval [--log FILE] [--holdout-days N] [--json]
       flowtune allocation surge --scenario FILE [--reps N] [--seed S] [--json]

forecast-eval  Forecasts hourly call arrivals per call type on the Anonymous Bank call-centre log,
               holding out the last days, and prints WAPE / MAPE / bias (one hour and one day ahead).
surge          Runs an allocation scenario with allocation off and on (same arrivals) and prints
               each queue's service level (answered within target / arrivals) with 95% CIs.

Options:
  --log FILE          call-centre log (default ${BANK_LOG_PATH})
  --holdout-days N    days held out at the end of the log (default 7)
  --scenario FILE     allocation scenario, e.g. scenarios/allocation-surge.yaml
  --reps N            replications (default 10)
  --seed S            base seed (default 1)
  --json              print JSON instead of the report
  -h, --help          this help

Examples:
  npm run allocation -- forecast-eval
  npm run allocation -- surge --scenario scenarios/allocation-surge.yaml --reps 20
`;

function parseWith<T extends z.ZodType>(schema: T, values: unknown): z.infer<T> {
  const result = schema.safeParse(values);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UsageError(`--${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}

const ForecastOptions = z.object({
  log: z.string().min(1).default(BANK_LOG_PATH),
  'holdout-days': z.coerce.number().int().min(1).max(14).default(7),
  json: z.boolean().default(false),
});

const SurgeOptions = z.object({
  scenario: z.string({ error: 'is required: pass --scenario FILE' }).min(1),
  reps: z.coerce.number().int().min(1).max(500).default(10),
  seed: z.coerce.number().int().min(0).default(1),
  json: z.boolean().default(false),
});

/** `flowtune allocation …`: the allocation evidence (forecast accuracy, surge on/off). */
export const allocationCommand: Command = {
  name: 'allocation',
  summary: 'forecast accuracy on the call-centre log; surge scenario with allocation on vs off',
  help: HELP,
  async run(argv) {
    try {
      return runSubcommand(argv);
    } catch (error) {
      if (error instanceof AllocationScenarioError || error instanceof BankLogMissingError) {
        process.stderr.write(`flowtune allocation: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};

function runSubcommand(argv: readonly string[]): number {
  const [subcommand, ...rest] = argv;
  if (subcommand === 'forecast-eval') {
    const { values } = parseOptions(
      rest,
      { log: { type: 'string' }, 'holdout-days': { type: 'string' }, json: { type: 'boolean' } },
      'allocation',
    );
    const options = parseWith(ForecastOptions, values);
    const evaluation = evaluateForecastOnCalls(readBankLog(options.log), {
      holdoutDays: options['holdout-days'],
    });
    process.stdout.write(
      `${options.json ? JSON.stringify(evaluation, null, 2) : formatForecastEvaluation(evaluation)}\n`,
    );
    return 0;
  }
  if (subcommand === 'surge') {
    const { values } = parseOptions(
      rest,
      {
        scenario: { type: 'string' },
        reps: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
      },
      'allocation',
    );
    const options = parseWith(SurgeOptions, values);
    const comparison = compareAllocation(loadAllocationScenario(options.scenario), {
      replications: options.reps,
      seed: options.seed,
    });
    process.stdout.write(
      `${options.json ? JSON.stringify(comparison, null, 2) : formatAllocationComparison(comparison)}\n`,
    );
    return 0;
  }
  throw new UsageError(
    `unknown subcommand "${subcommand ?? ''}"; use forecast-eval or surge (flowtune allocation --help)`,
  );
}
