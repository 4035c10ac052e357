import { App } from 'aws-cdk-lib';
import { FlowtuneStack } from '../lib/flowtune-stack';
import { applyCompliancePacks } from '../lib/nag';

// Wiring only: one stack, judged by the cdk-nag AwsSolutions and Serverless packs on every synth.
const app = new App();
new FlowtuneStack(app, 'Flowtune', {
  description:
    'Flowtune: serverless dynamic workflow optimization (events, Step Functions, Lambda, DynamoDB)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
applyCompliancePacks(app);
