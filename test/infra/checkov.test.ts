import { App, Stack } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { CHECKOV_METADATA_KEY, skipCheck } from '../../lib/checkov';
import { OUTSIDE_VPC_REASON } from '../../lib/constructs/function-factory';
import { QUEUES, type QueueName } from '../../lib/definitions';
import { MIN_REASON_LENGTH } from '../../lib/nag';
import {
  actionsOf,
  type CfnResourceJson,
  identityStatements,
  logicalIdOf,
  refsIn,
  resourcesOf,
  resourcesOfType,
  synthFlowtune,
  WITH_CONNECTOR_CONTEXT,
} from './support';

/**
 * What checkov (scripts/checkov.sh, run by `bash .ci/run` on the synthesized template) is told
 * to skip, and the fixes it checks, asserted on the template so a change that would fail the scan
 * or skip a check without a reason fails here first, without Python.
 */

interface SkipJson {
  readonly id?: unknown;
  readonly comment?: unknown;
}

function skipsIn(resource: CfnResourceJson): SkipJson[] {
  const metadata = resource.Metadata?.[CHECKOV_METADATA_KEY] as { skip?: SkipJson[] } | undefined;
  return metadata?.skip ?? [];
}

const getAttArn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

describe('skipCheck', () => {
  const stack = new Stack(new App(), 'Probe');

  it('refuses a skip without a specific reason', () => {
    const queue = new Queue(stack, 'NoReason');
    expect(() => skipCheck(queue, 'CKV_AWS_27', 'not needed')).toThrow(/specific reason/);
    expect(() => skipCheck(queue, 'CKV_AWS_27', ' '.repeat(MIN_REASON_LENGTH + 5))).toThrow(
      /specific reason/,
    );
  });

  it('refuses the same check skipped twice on one resource', () => {
    const queue = new Queue(stack, 'Twice');
    const reason = 'A probe queue of this test, never deployed, holding no message at all.';
    skipCheck(queue, 'CKV_AWS_27', reason);
    expect(() => skipCheck(queue, 'CKV_AWS_27', reason)).toThrow(/already skipped/);
  });
});

describe.each([
  ['as deployed by default', {}],
  ['with the optional connector', WITH_CONNECTOR_CONTEXT],
] as const)('checkov %s', (_, context) => {
  const { stack, template } = synthFlowtune({ context });
  const resources = Object.entries(template.toJSON().Resources as Record<string, CfnResourceJson>);
  const functions = resourcesOfType(template, 'AWS::Lambda::Function');

  it('gives every skip a check id and a specific reason, once per resource', () => {
    const skipped = resources.filter(([, resource]) => skipsIn(resource).length > 0);

    expect(skipped.length).toBeGreaterThan(0);
    for (const [logicalId, resource] of skipped) {
      const skips = skipsIn(resource);
      for (const skip of skips) {
        expect(skip.id, logicalId).toMatch(/^CKV2?_AWS_\d+$/);
        expect(typeof skip.comment, `${logicalId} ${String(skip.id)}`).toBe('string');
        expect(String(skip.comment).trim().length, `${logicalId} ${String(skip.id)}`).toBeGreaterThanOrEqual(
          MIN_REASON_LENGTH,
        );
      }
      expect(new Set(skips.map((skip) => skip.id)).size, logicalId).toBe(skips.length);
    }
  });

  it('skips only the checks each resource type was reviewed for', () => {
    const reviewed: Readonly<Record<string, readonly string[]>> = {
      'AWS::Lambda::Function': ['CKV_AWS_115', 'CKV_AWS_116', 'CKV_AWS_117'],
      'AWS::ApiGateway::Stage': ['CKV_AWS_120'],
    };
    for (const [logicalId, resource] of resources) {
      for (const skip of skipsIn(resource)) {
        expect(
          reviewed[resource.Type] ?? [],
          `${logicalId} (${resource.Type}) skips ${String(skip.id)}`,
        ).toContain(skip.id);
      }
    }
  });

  it('keeps every function out of a VPC only with the reason why', () => {
    expect(functions.length).toBeGreaterThan(0);
    for (const [logicalId, fn] of functions) {
      expect(fn.Properties?.VpcConfig, logicalId).toBeUndefined();
      expect(skipsIn(fn), logicalId).toContainEqual({ id: 'CKV_AWS_117', comment: OUTSIDE_VPC_REASON });
    }
  });

  it('reserves concurrency for a function or says why not (CKV_AWS_115), never both', () => {
    for (const [logicalId, fn] of functions) {
      const reserved = fn.Properties?.ReservedConcurrentExecutions;
      const skipped = skipsIn(fn).some((skip) => skip.id === 'CKV_AWS_115');
      expect(reserved !== undefined || skipped, logicalId).toBe(true);
      expect(reserved !== undefined && skipped, logicalId).toBe(false);
    }
  });

  it('reserves one concurrent allocation run: two runs would move the same agents twice', () => {
    const allocation = functions.find(([logicalId]) => logicalId === logicalIdOf(stack, stack.allocation.fn));
    expect(allocation?.[1].Properties?.ReservedConcurrentExecutions).toBe(1);
  });

  it('gives every function a DLQ or says why it is never invoked asynchronously (CKV_AWS_116)', () => {
    for (const [logicalId, fn] of functions) {
      const dlq = fn.Properties?.DeadLetterConfig;
      const skipped = skipsIn(fn).some((skip) => skip.id === 'CKV_AWS_116');
      expect(dlq !== undefined || skipped, logicalId).toBe(true);
      expect(dlq !== undefined && skipped, logicalId).toBe(false);
    }
  });

  it('caps each SQS consumer with the maximum concurrency of its queue definition', () => {
    const mappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');

    expect(mappings.length).toBe(Object.keys(QUEUES).length);
    for (const [name, definition] of Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]) {
      const queueArn = getAttArn(logicalIdOf(stack, stack.ingest.queues[name].queue));
      const mapping = mappings.find(
        ([, resource]) => JSON.stringify(resource.Properties?.EventSourceArn) === JSON.stringify(queueArn),
      );
      expect(mapping?.[1].Properties?.ScalingConfig, definition.id).toEqual({
        MaximumConcurrency: definition.maxConcurrency,
      });
    }
  });

  it('lets every sender to and reader of a queue under the ingest key use the key, through SQS only', () => {
    const ingestKey = stack.ingest.key;
    if (ingestKey === undefined) throw new Error('the stack has no ingest key');
    const keyArn = getAttArn(logicalIdOf(stack, ingestKey));
    const encryptedQueues = resourcesOfType(template, 'AWS::SQS::Queue')
      .filter(([, queue]) => JSON.stringify(queue.Properties?.KmsMasterKeyId) === JSON.stringify(keyArn))
      .map(([logicalId]) => JSON.stringify(getAttArn(logicalId)));
    const policies = resourcesOfType(template, 'AWS::IAM::Policy');
    const rolesOf = (policy: string) =>
      refsIn(policies.find(([logicalId]) => logicalId === policy)?.[1].Properties?.Roles);

    const queueUsers = new Set(
      identityStatements(template)
        .filter(({ statement }) =>
          actionsOf(statement).some((action) => ['sqs:SendMessage', 'sqs:ReceiveMessage'].includes(action)),
        )
        .filter(({ statement }) =>
          resourcesOf(statement).some((resource) => encryptedQueues.includes(JSON.stringify(resource))),
        )
        .flatMap(({ policy }) => rolesOf(policy)),
    );
    const keyUsers = new Set(
      identityStatements(template)
        .filter(
          ({ statement }) =>
            resourcesOf(statement).some((resource) => JSON.stringify(resource) === JSON.stringify(keyArn)) &&
            ['kms:GenerateDataKey', 'kms:Decrypt'].every((action) => actionsOf(statement).includes(action)) &&
            JSON.stringify(statement.Condition).includes('"sqs."'),
        )
        .flatMap(({ policy }) => rolesOf(policy)),
    );

    expect(queueUsers.size).toBeGreaterThan(3);
    expect([...queueUsers].filter((role) => !keyUsers.has(role))).toEqual([]);
  });
});
