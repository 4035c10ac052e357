import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { MIN_REASON_LENGTH } from './nag';

/**
 * checkov (the open-source IaC scanner `bash .ci/run` runs on the synthesized template, see
 * scripts/checkov.sh) reads a skip from the resource's own metadata:
 * `Metadata: { checkov: { skip: [{ id, comment }] } }`. Every skip is made through `skipCheck`,
 * next to the resource it concerns, and says why the check does not apply there; the infra tests
 * (test/infra/checkov.test.ts) refuse a skip without such a reason.
 */

/** A checkov check of the AWS CloudFormation framework (single-resource or graph check). */
export type CheckovCheckId = `CKV_AWS_${number}` | `CKV2_AWS_${number}`;

/** One skip as checkov reads it from `Metadata.checkov.skip`. */
export interface CheckovSkip {
  readonly id: CheckovCheckId;
  readonly comment: string;
}

/** Metadata key checkov reads. */
export const CHECKOV_METADATA_KEY = 'checkov';

/**
 * Skips checkov check `id` on `scope`'s CloudFormation resource (the construct itself when it is
 * one, else its default child), with the reason it does not apply.
 *
 * @example
 * skipCheck(api.deploymentStage, 'CKV_AWS_120', 'Answers are live item state: a cache would serve stale decisions.');
 */
export function skipCheck(scope: IConstruct, id: CheckovCheckId, comment: string): void {
  const resource = cfnResourceOf(scope);
  if (comment.trim().length < MIN_REASON_LENGTH) {
    throw new Error(
      `checkov skip of ${id} on ${scope.node.path} needs a specific reason (at least ${MIN_REASON_LENGTH} characters); got "${comment}".`,
    );
  }
  const existing = skipsOf(resource);
  if (existing.some((skip) => skip.id === id)) {
    throw new Error(`checkov ${id} is already skipped on ${scope.node.path}; give one reason, once.`);
  }
  resource.addMetadata(CHECKOV_METADATA_KEY, { skip: [...existing, { id, comment }] });
}

/** The checkov skips already on a resource. */
export function skipsOf(resource: CfnResource): readonly CheckovSkip[] {
  const metadata = resource.getMetadata(CHECKOV_METADATA_KEY) as { skip?: CheckovSkip[] } | undefined;
  return metadata?.skip ?? [];
}

function cfnResourceOf(scope: IConstruct): CfnResource {
  if (CfnResource.isCfnResource(scope)) return scope;
  const child = scope.node.defaultChild;
  if (child === undefined || !CfnResource.isCfnResource(child)) {
    throw new Error(`${scope.node.path} has no CloudFormation resource to carry a checkov skip`);
  }
  return child;
}
