import type { App } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Allocation } from '../../lib/constructs/allocation';
import { AUDIT_TABLE, ENV, FEATURES_TABLE, INSTANCES_TABLE } from '../../lib/definitions';
import { ALLOCATION_FUNCTIONS, ALLOCATION_SCHEDULE } from '../../lib/definitions/allocation';
import { compliancePacks } from '../../lib/nag';
import {
  actionsOf,
  allows,
  type CfnResourceJson,
  logicalIdOf,
  resourcesOfType,
  statementsOfRole,
  synthFlowtune,
} from './support';

/** Findings of both cdk-nag packs on the Allocation construct's resources. */
function allocationFindings(app: App): string[] {
  return compliancePacks()
    .flatMap((pack) => pack.validateScope(app).violations)
    .flatMap((violation) =>
      violation.violatingResources
        .filter((resource) => (resource.constructPath ?? '').startsWith('Flowtune/Default/Allocation/'))
        .map((resource) => `${violation.ruleName} @ ${resource.constructPath ?? ''}`),
    );
}

const definition = ALLOCATION_FUNCTIONS.allocationRun;

describe('Allocation construct', () => {
  const { app, stack, template } = synthFlowtune();
  const allocation = stack.flowtune.node.findChild('Allocation') as Allocation;
  const functionId = logicalIdOf(stack, allocation.fn);
  const roleId = logicalIdOf(stack, allocation.fn.role ?? allocation.fn);

  it('is composed into the Flowtune stack', () => {
    expect(allocation).toBeInstanceOf(Allocation);
  });

  it('has no unacknowledged cdk-nag finding (AwsSolutions and Serverless)', () => {
    expect(allocationFindings(app)).toEqual([]);
  });

  it('acknowledges only findings that exist without the acknowledgement', () => {
    const bare = synthFlowtune({ skipAcknowledgements: true });
    const raised = new Set(
      allocationFindings(bare.app).map((finding) => finding.split(' @ ')[0]?.split('[')[0]),
    );
    const acknowledged = allocation.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) =>
            Object.keys(entry.data as Record<string, string>).map((id) => id.replace(/^annotation::/i, '')),
          ),
      );

    expect(acknowledged.length).toBeGreaterThan(0);
    for (const id of acknowledged)
      expect(raised, `${id} is acknowledged but never raised`).toContain(id.split('[')[0]);
  });

  it('starts the job on a schedule at the rate of its definition, dead-lettering undeliverable runs', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: `Flowtune-${ALLOCATION_SCHEDULE.id}`,
      ScheduleExpression: `rate(${ALLOCATION_SCHEDULE.rateMinutes} minutes)`,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
          DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
          RetryPolicy: {
            MaximumEventAgeInSeconds: ALLOCATION_SCHEDULE.rateMinutes * 60,
            MaximumRetryAttempts: 2,
          },
        }),
      ],
    });
  });

  it('runs the handler of its definition with the tables and bus it needs, a DLQ and encrypted logs kept three months', () => {
    const [, fn] = resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id === functionId) ?? [];
    const variables = (fn as CfnResourceJson | undefined)?.Properties?.Environment as
      | { Variables: Record<string, unknown> }
      | undefined;

    expect(Object.keys(variables?.Variables ?? {}).sort()).toEqual(
      [
        ...definition.tables.map(({ table }) => table.envVar),
        ENV.eventBusName,
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
      ].sort(),
    );
    expect(fn?.Properties).toMatchObject({
      Description: definition.description,
      MemorySize: definition.memorySize,
      Timeout: definition.timeoutSeconds,
      DeadLetterConfig: {
        TargetArn: { 'Fn::GetAtt': [logicalIdOf(stack, allocation.asyncFailureQueue), 'Arn'] },
      },
      TracingConfig: { Mode: 'Active' },
    });
    const logGroupRef = (fn?.Properties?.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)
      ?.LogGroup?.Ref;
    const [, logGroup] =
      resourcesOfType(template, 'AWS::Logs::LogGroup').find(([id]) => id === logGroupRef) ?? [];
    expect(logGroup?.Properties?.RetentionInDays).toBe(90);
    expect(logGroup?.Properties?.KmsKeyId).toBeDefined();
  });

  it('may write the Features and Audit tables and put events on the bus, and nothing else', () => {
    const statements = statementsOfRole(template, roleId);
    const granted = statements.flatMap((statement) => actionsOf(statement));
    const arnOf = (table: typeof FEATURES_TABLE | typeof AUDIT_TABLE | typeof INSTANCES_TABLE) => ({
      'Fn::GetAtt': [logicalIdOf(stack, stack.storage.table(table)), 'Arn'],
    });
    const featuresArn = arnOf(FEATURES_TABLE);
    const auditArn = arnOf(AUDIT_TABLE);
    const instancesArn = arnOf(INSTANCES_TABLE);

    expect(statements.some((statement) => allows(statement, 'dynamodb:UpdateItem', featuresArn))).toBe(true);
    expect(statements.some((statement) => allows(statement, 'dynamodb:PutItem', auditArn))).toBe(true);
    expect(statements.some((statement) => allows(statement, 'dynamodb:GetItem', instancesArn))).toBe(false);
    expect(
      statements.some((statement) =>
        allows(statement, 'events:PutEvents', {
          'Fn::GetAtt': [logicalIdOf(stack, stack.ingest.bus), 'Arn'],
        }),
      ),
    ).toBe(true);
    expect(
      granted.filter((action) => /^(states|sqs|lambda):/.test(action) && action !== 'sqs:SendMessage'),
    ).toEqual([]);
  });

  it('alarms on failing runs and on runs dead-lettered, to the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      AlarmActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalIdOf(stack, allocation.asyncFailureQueue), 'QueueName'] },
        },
      ],
      AlarmActions: Match.anyValue(),
    });
  });
});
