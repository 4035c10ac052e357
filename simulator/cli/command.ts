import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * One subcommand of `flowtune`. Commands are registered in bin/flowtune.ts; each lives in its own
 * module, parses its own options with node:util parseArgs and answers `--help`.
 */
export interface Command {
  readonly name: string;
  /** One line for `flowtune --help`. */
  readonly summary: string;
  /** Full help text for `flowtune <name> --help`. */
  readonly help: string;
  /** The command has subcommands and answers `--help` for each itself. */
  readonly handlesHelp?: boolean;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** Raised for bad command-line input: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** parseArgs with strict checking, turning its errors into UsageErrors that name the fix. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
  command: string,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nRun "flowtune ${command} --help" for the options.`);
  }
}

/**
 * Errors that describe bad input rather than a bug: one line, no stack trace, exit code 1. A
 * duplicate id or a policy breaking a hard constraint on a replayed log is the log's (or the
 * candidate policy's) problem to report, not a crash.
 */
const EXPECTED_ERRORS = new Set(['ScenarioError', 'ReplayError', 'DuplicateIdError', 'PolicyViolationError']);

/** Dispatches `argv` (without node and script) to the named command. */
export async function runCommandLine(commands: readonly Command[], argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const overview = [
    'Usage: flowtune <command> [options]',
    '',
    'Commands:',
    ...commands.map(
      (command) =>
        `  ${command.name.padEnd(Math.max(...commands.map((entry) => entry.name.length)))} ${command.summary}`,
    ),
    '',
    'Run "flowtune <command> --help" for the options of a command.',
  ].join('\n');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    process.stderr.write(`Unknown command "${name}".\n\n${overview}\n`);
    return 2;
  }
  const subcommandHelp = command.handlesHelp === true && rest.length > 0 && !rest[0]?.startsWith('-');
  if (!subcommandHelp && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`${command.help.trim()}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`flowtune ${command.name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof Error && EXPECTED_ERRORS.has(error.name)) {
      process.stderr.write(`flowtune ${command.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
