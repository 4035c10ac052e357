/**
 * Stand-alone entry for the allocation evidence until `allocationCommand` is registered in
 * bin/flowtune.ts: `npm run allocation -- surge --scenario scenarios/allocation-surge.yaml`.
 */
import { runCommandLine } from '../cli/command';
import { allocationCommand } from './command';

process.exitCode = await runCommandLine([allocationCommand], ['allocation', ...process.argv.slice(2)]);
