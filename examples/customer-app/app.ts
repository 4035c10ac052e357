/**
 * A customer's own CDK app with Flowtune inside it, built from the installed `flowtune` package
 * only (never from the repository's sources): scripts/example-app.sh packs the package, installs
 * the tarball into a fresh folder beside this file, compiles it and runs `cdk synth` with the
 * cdk-nag packs registered, so any unacknowledged finding fails the synth.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { applyCompliancePacks, Flowtune } from 'flowtune';
import { INBOUND_EVENTS } from 'flowtune/events';

const app = new App();
const stack = new Stack(app, 'CustomerStack', {
  description: 'A customer stack that holds its own resources and Flowtune beside them',
});

// The customer's existing on-call topic: Flowtune's alarms notify it instead of a topic of their own.
const onCall = new Topic(stack, 'OnCallTopic', {
  displayName: 'On-call',
  enforceSSL: true,
  masterKey: new Key(stack, 'OnCallTopicKey', { enableKeyRotation: true }),
});

const flowtune = new Flowtune(stack, 'Flowtune', {
  alarmTopic: onCall,
  logRetention: RetentionDays.SIX_MONTHS,
  archiveRetention: Duration.days(90),
  tuningCycleMinutes: 10,
  // The helpdesk runs in another account of the customer: its producer may put the inbound events.
  producers: { accountIds: ['111122223333'] },
});

// The helpdesk integration's role may put events on Flowtune's bus, and nothing else of it.
const helpdesk = new Role(stack, 'HelpdeskProducerRole', {
  assumedBy: new AccountRootPrincipal(),
  description: `Puts ${Object.keys(INBOUND_EVENTS).join(', ')} events on the Flowtune bus`,
});
flowtune.grantPutEvents(helpdesk);

applyCompliancePacks(app);
app.synth();

/**
 * Never called: compiled only, to prove the package's declarations reach the compiler. Were
 * `Flowtune` typed `any` (declarations missing or unresolved), the expected error would not
 * occur and tsc would fail on the unused directive.
 */
export function declarationsAreTyped(scope: Stack): void {
  // @ts-expect-error tuningCycleMinutes is a number of minutes
  new Flowtune(scope, 'Typed', { tuningCycleMinutes: 'ten' });
}
