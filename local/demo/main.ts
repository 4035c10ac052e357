// `npm run demo`: the demo command on its own (bin/flowtune.ts registers the same command).
import { runCommandLine } from '../../simulator/cli/command';
import { demoCommand } from './command';

// The handlers stand in for Lambdas on Node 22+; the SDK's notice about this Node 20 tool run is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const exitCode = await runCommandLine([demoCommand], ['demo', ...process.argv.slice(2)]);
process.exitCode = exitCode;
// Everything is stopped by now; this only guards against a stray timer keeping the process up.
setTimeout(() => process.exit(exitCode), 2_000).unref();
