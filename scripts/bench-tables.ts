import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BenchJson, renderBenchMarkdown, replaceBlock } from '../simulator/report/markdown';

/**
 * Writes the performance tables of README.md (summary) and simulator/README.md (full) from a bench
 * run's JSON, between their bench-tables markers, so the documents show that run's every scenario
 * and every MISS, with its date, machine and command.
 */

const HELP = `
Usage: npm run bench:tables -- [--report FILE] [--check]

Regenerates the performance tables in README.md and simulator/README.md from a bench run's JSON
(written by \`npm run bench\` beside its HTML report).

Options:
  --report FILE   the run's JSON (default reports/bench.json)
  --check         write nothing; exit 1 when a document's tables differ from the report's
  -h, --help      this help
`;

const TARGETS = [
  { path: 'README.md', detail: 'summary' as const },
  { path: 'simulator/README.md', detail: 'full' as const },
];

function main(argv: readonly string[]): number {
  let values: { report?: string | undefined; check?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        report: { type: 'string' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(
      `${(error as Error).message}\nRun "npm run bench:tables -- --help" for the options.\n`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const reportPath = values.report ?? 'reports/bench.json';
  let text: string;
  try {
    text = readFileSync(reportPath, 'utf8');
  } catch (error) {
    process.stderr.write(
      `cannot read ${reportPath}: ${(error as Error).message}\nRun "npm run bench" first (it writes reports/bench.json), or pass --report FILE.\n`,
    );
    return 2;
  }
  const parsed = BenchJson.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    process.stderr.write(
      `${reportPath} is not a bench report this script can read: ${issue?.path.join('.') ?? '(root)'}: ${issue?.message ?? 'invalid'}\nRe-run "npm run bench" with this version.\n`,
    );
    return 2;
  }
  let stale = 0;
  for (const { path, detail } of TARGETS) {
    const before = readFileSync(path, 'utf8');
    const after = replaceBlock(before, renderBenchMarkdown(parsed.data, detail), path);
    if (after === before) continue;
    stale++;
    if (values.check) process.stderr.write(`${path}: tables differ from ${reportPath}\n`);
    else {
      writeFileSync(path, after);
      process.stdout.write(`${path}: tables written from ${reportPath}\n`);
    }
  }
  return values.check && stale > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
