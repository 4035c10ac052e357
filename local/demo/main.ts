// `npm run demo`: the demo command on its own (bin/flowtune.ts registers the same command).
import { runCommandLine } from '../../simulator/cli/command';
import { demoCommand } from './command';

const exitCode = await runCommandLine([demoCommand], ['demo', ...process.argv.slice(2)]);
process.exitCode = exitCode;
// Everything is stopped by now; this only guards against a stray timer keeping the process up.
setTimeout(() => process.exit(exitCode), 2_000).unref();
