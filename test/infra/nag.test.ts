import type { App } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { applyCompliancePacks, compliancePacks, MIN_REASON_LENGTH } from '../../lib/nag';
import { synthFlowtune, WITH_CONNECTOR_CONTEXT } from './support';

interface Acknowledgement {
  readonly path: string;
  readonly finding: string;
  readonly reason: string;
}

/** Every acknowledgement recorded in the construct tree (CDK keeps them as node metadata). */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          // CDK records the id with the annotation namespace; cdk-nag matches it without.
          finding: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** Every finding of both packs, as `rule @ construct path`. */
function findings(app: App): { rule: string; path: string }[] {
  return compliancePacks()
    .flatMap((pack) => pack.validateScope(app).violations)
    .flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath ?? '',
      })),
    );
}

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  const acknowledged = synthFlowtune();
  const unacknowledged = synthFlowtune({ skipAcknowledgements: true });

  it('reports no unacknowledged finding', () => {
    expect(findings(acknowledged.app)).toEqual([]);
  });

  it('reports no unacknowledged finding with the optional connector deployed', () => {
    const withConnector = synthFlowtune({ context: WITH_CONNECTOR_CONTEXT });

    expect(withConnector.stack.flowtune.node.tryFindChild('Connector')).toBeDefined();
    expect(findings(withConnector.app)).toEqual([]);
  });

  it('reports no unacknowledged finding for a stack deployed to a given account and region', () => {
    // As `npm run deploy:local` (MiniStack) and a real deploy synthesize it: ARNs are literal there.
    const { app } = synthFlowtune({ env: { account: '000000000000', region: 'us-east-1' } });

    expect(findings(app)).toEqual([]);
  });

  it('lets the app synthesize with both packs registered as validation plugins', () => {
    const { app } = synthFlowtune();
    applyCompliancePacks(app);

    expect(() => app.synth({ force: true })).not.toThrow();
  });

  it('names one exact rule in every acknowledgement and gives a specific reason', () => {
    const all = acknowledgements(acknowledged.app);

    expect(all.length).toBeGreaterThan(0);
    for (const { path, finding, reason } of all) {
      expect(finding, path).toMatch(/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[[^\]]+\])?$/);
      expect(reason.length, `${finding} on ${path}`).toBeGreaterThanOrEqual(MIN_REASON_LENGTH);
    }
  });

  it('acknowledges only findings that really occur on the acknowledged construct', () => {
    const occurring = findings(unacknowledged.app);

    const stale = acknowledgements(acknowledged.app).filter(
      ({ path, finding }) =>
        !occurring.some(
          ({ rule, path: found }) => rule === finding && (found === path || found.startsWith(`${path}/`)),
        ),
    );

    expect(stale).toEqual([]);
  });

  it('acknowledges only the reviewed kinds of finding', () => {
    const reviewed = [
      'AwsSolutions-APIG3',
      'AwsSolutions-APIG6',
      'AwsSolutions-COG4',
      'AwsSolutions-IAM5[Resource::*]',
      // The intake's DescribeExecution on the process-instance machine's executions (names chosen at run time).
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:Flowtune-ProcessInstance:*]',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
      'Serverless-LambdaDLQ',
      'Serverless-LambdaEventSourceMappingDestination',
      'Serverless-SQSRedrivePolicy',
    ];

    const kinds = new Set(acknowledgements(acknowledged.app).map(({ finding }) => finding));

    expect(reviewed).toEqual(expect.arrayContaining([...kinds]));
  });

  it('finds violations when acknowledgements are skipped, so the zero above is earned', () => {
    expect(findings(unacknowledged.app).length).toBeGreaterThan(0);
  });
});
