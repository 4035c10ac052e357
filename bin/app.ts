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

// `-c flowtune:producerAccounts=111122223333,444455556666` and/or `-c flowtune:producerOrganization=o-...`
// let producers in other accounts put the inbound detail-types on the bus.
const contextText = (key: string) =>
  z
    .string({ error: `${key} must be a string; got ${JSON.stringify(app.node.tryGetContext(key))}` })
    .optional()
    .parse(app.node.tryGetContext(key));
const producerAccounts = contextText('flowtune:producerAccounts')
  ?.split(',')
  .map((id) => id.trim())
  .filter((id) => id !== '');
const producerOrganization = contextText('flowtune:producerOrganization');
const producers =
  (producerAccounts?.length ?? 0) > 0 || producerOrganization !== undefined
    ? { accountIds: producerAccounts, organizationId: producerOrganization }
    : undefined;

new FlowtuneStack(app, 'Flowtune', {
  description:
    'Flowtune: serverless dynamic workflow optimization (events, Step Functions, Lambda, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  emulator,
  producers,
});
applyCompliancePacks(app);
