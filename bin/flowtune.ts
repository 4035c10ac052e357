#!/usr/bin/env -S npx tsx
/**
 * The flowtune command line: one entry, one subcommand per capability. A command is a module
 * exporting a `Command` (simulator/cli/command.ts); register it in COMMANDS below.
 */
import { demoCommand } from '../local/demo/command';
import { opsCommand } from '../ops/cli/ops';
import { exportHistoryCommand } from '../ops/history/command';
import { allocationCommand } from '../simulator/allocation/command';
import { benchCommand } from '../simulator/cli/bench';
import { type Command, runCommandLine } from '../simulator/cli/command';
import { replayCommand } from '../simulator/cli/replay';
import { simulateCommand } from '../simulator/cli/simulate';
import { tuningCommand } from '../simulator/tuning/command';

const COMMANDS: readonly Command[] = [
  demoCommand,
  simulateCommand,
  replayCommand,
  exportHistoryCommand,
  benchCommand,
  allocationCommand,
  opsCommand,
  tuningCommand,
];

process.exitCode = await runCommandLine(COMMANDS, process.argv.slice(2));
