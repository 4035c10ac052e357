/**
 * Stand-alone entry for the customer-value evidence until `customerValueCommand` is registered in
 * bin/flowtune.ts: `npm run customer-value -- --scenario scenarios/contact-centre.yaml`.
 */
import { runCommandLine } from '../cli/command';
import { customerValueCommand } from './command';

process.exitCode = await runCommandLine([customerValueCommand], ['customer-value', ...process.argv.slice(2)]);
