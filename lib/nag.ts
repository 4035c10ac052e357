import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, type NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag wiring: which packs judge the app and how a finding is acknowledged. Acknowledgements
 * are made next to the resource that causes them (in the capability constructs), always through
 * `acknowledgeFinding`, so each one names one exact finding and says why it does not apply.
 */

/** The rule packs every Flowtune app is checked against. */
export function compliancePacks(scope?: IConstruct): NagPack[] {
  return [new AwsSolutionsChecks(scope), new ServerlessChecks(scope)];
}

/**
 * Registers the packs as CDK policy-validation plugins: any unacknowledged finding stops `cdk synth`.
 *
 * @example
 * const app = new App();
 * new FlowtuneStack(app, 'Flowtune');
 * applyCompliancePacks(app);
 */
export function applyCompliancePacks(app: App): void {
  Validations.of(app).addPlugins(...compliancePacks(app));
}

/**
 * Context key that turns `acknowledgeFinding` into a no-op. The infra tests synthesize once
 * without acknowledgements to prove that every acknowledgement still matches a real finding.
 */
export const SKIP_ACKNOWLEDGEMENTS_CONTEXT = 'flowtune:nag:skipAcknowledgements';

/** One exact cdk-nag finding: a rule id, with the finding in brackets when the rule reports several. */
export type NagFinding = `AwsSolutions-${string}` | `Serverless-${string}`;

/** A reason shorter than this cannot say which resource is concerned and why the rule does not apply. */
export const MIN_REASON_LENGTH = 40;

/**
 * Acknowledges one finding on `scope` (and the resources below it), with the reason it does not apply.
 *
 * @example
 * acknowledgeFinding(role, 'AwsSolutions-IAM5[Resource::*]',
 *   'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.');
 */
export function acknowledgeFinding(scope: IConstruct, finding: NagFinding, reason: string): void {
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(
      `Acknowledgement of ${finding} on ${scope.node.path} needs a specific reason (at least ${MIN_REASON_LENGTH} characters); got "${reason}".`,
    );
  }
  if (scope.node.tryGetContext(SKIP_ACKNOWLEDGEMENTS_CONTEXT) === true) return;
  Validations.of(scope).acknowledge({ id: finding, reason });
}
