import { App } from 'aws-cdk-lib';
import { z } from 'zod';
import { EMULATORS, FlowtuneStack } from '../lib/flowtune-stack';
import { applyCompliancePacks } from '../lib/nag';

// Wiring only: one stack, judged by the cdk-nag AwsSolutions and Serverless packs on every synth.
const app = new App();

// `-c flowtune:emulator=ministack` (set by scripts/deploy-local.sh) leaves out what the emulator cannot provision.
const emulator = z
  .enum(EMULATORS, {
    error: (issue) =>
      `flowtune:emulator must be one of ${EMULATORS.join(', ')}; got ${JSON.stringify(issue.input)}`,
  })
  .optional()
  .parse(app.node.tryGetContext('flowtune:emulator'));

new FlowtuneStack(app, 'Flowtune', {
  description:
    'Flowtune: serverless dynamic workflow optimization (events, Step Functions, Lambda, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  emulator,
});
applyCompliancePacks(app);
