/**
 * Stand-alone entry of the tuning benchmark until `tuningCommand` is registered in
 * bin/flowtune.ts: `npm run bench:tuning` (options: `npm run bench:tuning -- --help`).
 */
import { runCommandLine } from '../cli/command';
import { tuningCommand } from './command';

process.exitCode = await runCommandLine([tuningCommand], ['tuning', ...process.argv.slice(2)]);
