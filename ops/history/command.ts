import { readFileSync, writeFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type Command, parseOptions, UsageError } from '../../simulator/cli/command';
import { parseCommandOptions } from '../../simulator/cli/simulate';
import { exportHistory, historyText } from './export-history';

const HELP = `
Usage: flowtune export-history (--outputs FILE [--stack NAME] | --audit-table NAME)
                               [--from TIME] [--to TIME] [--out FILE] [--endpoint URL] [--region R]

Writes Flowtune's own history of a time window as JSON lines: the arrivals, routings,
completions and agent status changes recorded in the stack's Audit table, header first, in
time order. \`flowtune replay --events FILE\` replays it, under the registered strategies or a
candidate policy document (--policy-file): "what would this policy have done last week".

Reads the table with your AWS credentials (dynamodb:Scan on the Audit table); identifiers are
as Flowtune stored them, personal data pseudonymised. A local runtime's history is written by
\`npm run demo -- --export-history FILE\`.

Options:
  --outputs FILE     read AuditTableName from \`cdk deploy --outputs-file FILE\`
  --stack NAME       the stack in that file (default Flowtune)
  --audit-table N    the Audit table's name (the stack's AuditTableName output) instead
  --from TIME        ISO date or time, inclusive (default: the oldest record kept)
  --to TIME          ISO date or time, exclusive (default: now)
  --out FILE         where to write (default: standard output)
  --endpoint URL     a DynamoDB endpoint (LocalStack, MiniStack, DynamoDB Local)
  --region R         AWS region (default: from your environment)
  -h, --help         this help

Example:
  npx tsx bin/flowtune.ts export-history --outputs cdk-outputs.json --from 2026-11-23 --to 2026-11-30 --out week.jsonl
`;

const Time = z
  .string()
  .refine(
    (value) => Number.isFinite(Date.parse(value)),
    'must be an ISO date or time, e.g. 2026-11-23 or 2026-11-23T08:00:00Z',
  )
  .transform((value) => Date.parse(value));

const Options = z.object({
  outputs: z.string().min(1).optional(),
  stack: z.string().min(1).default('Flowtune'),
  'audit-table': z.string().min(1).optional(),
  from: Time.optional(),
  to: Time.optional(),
  out: z.string().min(1).optional(),
  endpoint: z.url().optional(),
  region: z.string().min(1).optional(),
});

const StackOutputs = z.record(z.string(), z.record(z.string(), z.string()));

function auditTableFrom(options: z.infer<typeof Options>): string {
  if (options['audit-table'] !== undefined) return options['audit-table'];
  if (options.outputs === undefined) {
    throw new UsageError(
      'no table to read: pass --outputs FILE (from `cdk deploy --outputs-file`) or --audit-table NAME\nRun "flowtune export-history --help" for the options.',
    );
  }
  let outputs: z.infer<typeof StackOutputs>;
  try {
    outputs = StackOutputs.parse(JSON.parse(readFileSync(options.outputs, 'utf8')));
  } catch (error) {
    throw new UsageError(
      `cannot read stack outputs from ${options.outputs}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  const table = outputs[options.stack]?.AuditTableName;
  if (table === undefined) {
    throw new UsageError(
      `${options.outputs} has no ${options.stack}.AuditTableName; deploy with --outputs-file, or pass --stack or --audit-table`,
    );
  }
  return table;
}

export const exportHistoryCommand: Command = {
  name: 'export-history',
  summary: "write Flowtune's own history (arrivals, routings, completions) as JSON lines for replay",
  help: HELP,
  async run(argv) {
    const { values } = parseOptions(
      argv,
      {
        outputs: { type: 'string' },
        stack: { type: 'string' },
        'audit-table': { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
      },
      'export-history',
    );
    const options = parseCommandOptions(Options, values, 'export-history');
    if (options.from !== undefined && options.to !== undefined && options.to <= options.from) {
      throw new UsageError(
        '--to must be after --from\nRun "flowtune export-history --help" for the options.',
      );
    }
    const auditTable = auditTableFrom(options);
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.region === undefined ? {} : { region: options.region }),
      }),
    );
    process.stderr.write(`export-history: scanning ${auditTable}…\n`);
    const history = await exportHistory({
      client,
      auditTable,
      window: {
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.to === undefined ? {} : { to: options.to }),
      },
      source: options.outputs === undefined ? auditTable : `${options.stack} (${auditTable})`,
      onPage: (records) => process.stderr.write(`export-history: ${records} records read\n`),
    });
    const text = historyText(history.lines);
    if (options.out === undefined) process.stdout.write(text);
    else writeFileSync(options.out, text);
    const { counts, unreadable, invalidCreations } = history;
    const skipped = Object.entries(unreadable);
    process.stderr.write(
      `export-history: ${counts.arrival} arrivals, ${counts.routed} routings, ${counts.completed} completions, ${counts.agent} agent changes` +
        `${options.out === undefined ? '' : ` → ${options.out}`}` +
        `${invalidCreations === 0 ? '' : `; ${invalidCreations} rejected creations left out`}` +
        `${skipped.length === 0 ? '' : `; unreadable records left out: ${skipped.map(([kind, n]) => `${n} ${kind}`).join(', ')}`}\n`,
    );
    return 0;
  },
};
