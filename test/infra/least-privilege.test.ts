import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dynamoDbActionsByPlaceholder, PROCESS_INSTANCE, TABLES } from '../../lib/definitions';
import {
  actionsOf,
  allows,
  identityStatements,
  logicalIdOf,
  type PolicyStatementJson,
  resourcesOf,
  resourcesOfType,
  statementsIn,
  statementsOfRole,
  synthFlowtune,
  WITH_CONNECTOR_CONTEXT,
} from './support';

/**
 * The only actions granted on Resource "*", each with the reason AWS leaves no narrower choice.
 * A new wildcard resource fails the test until it is justified here.
 */
const WILDCARD_RESOURCE_JUSTIFICATIONS: Readonly<Record<string, string>> = {
  'xray:PutTraceSegments': 'X-Ray supports no resource-level permissions for sending traces.',
  'xray:PutTelemetryRecords': 'X-Ray supports no resource-level permissions for telemetry.',
  'xray:GetSamplingRules': 'X-Ray sampling rules are read account-wide.',
  'xray:GetSamplingTargets': 'X-Ray sampling targets are read account-wide.',
  'logs:CreateLogDelivery':
    'Step Functions log delivery (vended logs) supports no resource-level permissions.',
  'logs:GetLogDelivery': 'Step Functions log delivery (vended logs) supports no resource-level permissions.',
  'logs:UpdateLogDelivery':
    'Step Functions log delivery (vended logs) supports no resource-level permissions.',
  'logs:DeleteLogDelivery':
    'Step Functions log delivery (vended logs) supports no resource-level permissions.',
  'logs:ListLogDeliveries':
    'Step Functions log delivery (vended logs) supports no resource-level permissions.',
  'logs:PutResourcePolicy': 'Log delivery writes the account-level CloudWatch Logs resource policy.',
  'logs:DescribeResourcePolicies': 'Log delivery reads the account-level CloudWatch Logs resource policy.',
  'logs:DescribeLogGroups': 'Log delivery validates the destination among all log groups.',
  // Not on "*": on `execution:<process-instance machine>:*`, whose names are chosen at run time.
  'states:DescribeExecution':
    'Execution names are item ids (then <id>.<attempt>), known only at run time: granted on the executions of the process-instance state machine.',
};

/** Item-level DynamoDB writes, in sorted order. */
const DYNAMODB_WRITES = [
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

describe.each([
  ['as deployed by default', {}],
  ['with the optional connector', WITH_CONNECTOR_CONTEXT],
] as const)('%s', (_, context) => {
  const { stack, template } = synthFlowtune({ context });

  const allowStatements = identityStatements(template).filter(
    ({ statement }) => statement.Effect === 'Allow',
  );

  describe('least privilege', () => {
    it('grants no wildcard action in any identity policy', () => {
      const wildcards = allowStatements.flatMap(({ policy, statement }) =>
        actionsOf(statement)
          .filter((action) => action.includes('*'))
          .map((action) => `${policy}: ${action}`),
      );

      expect(wildcards).toEqual([]);
    });

    it('attaches no managed policy and no inline role policy: every grant is in a reviewed identity policy', () => {
      for (const [logicalId, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
        expect(role.Properties?.ManagedPolicyArns, logicalId).toBeUndefined();
        expect(role.Properties?.Policies, logicalId).toBeUndefined();
      }
      template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    });

    it('uses a wildcard resource only for actions AWS offers no resource-level permission for', () => {
      const unjustified = allowStatements
        .filter(({ statement }) =>
          resourcesOf(statement).some((resource) => JSON.stringify(resource).includes('*')),
        )
        .flatMap(({ policy, statement }) =>
          actionsOf(statement)
            .filter((action) => WILDCARD_RESOURCE_JUSTIFICATIONS[action] === undefined)
            .map((action) => `${policy}: ${action}`),
        );

      expect(unjustified).toEqual([]);
    });

    it('lets the state machine make exactly the DynamoDB writes its ASL makes, table by table', () => {
      const statements = statementsOfRole(
        template,
        logicalIdOf(stack, stack.orchestration.stateMachine.role),
      );
      const needed = dynamoDbActionsByPlaceholder(readFileSync(PROCESS_INSTANCE.file, 'utf8'));

      for (const table of TABLES) {
        const tableArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.storage.table(table)), 'Arn'] };
        const granted = DYNAMODB_WRITES.filter((action) =>
          statements.some((statement: PolicyStatementJson) => allows(statement, action, tableArn)),
        );
        expect(granted, table.id).toEqual([...(needed.get(table.placeholder) ?? [])].sort());
      }
    });

    it('uses the tables key only through DynamoDB', () => {
      const keyArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.storage.key), 'Arn'] };
      const keyStatements = allowStatements.filter(({ statement }) =>
        resourcesOf(statement).some((resource) => JSON.stringify(resource) === JSON.stringify(keyArn)),
      );

      expect(keyStatements.length).toBeGreaterThan(0);
      for (const { statement } of keyStatements) {
        expect(statement.Condition).toEqual({
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        });
      }
    });

    it('gives service principals exact actions in every key policy (the account root keeps the default delegation to IAM)', () => {
      for (const [logicalId, key] of resourcesOfType(template, 'AWS::KMS::Key')) {
        const statements = statementsIn(key.Properties?.KeyPolicy);
        for (const statement of statements.filter((candidate) =>
          JSON.stringify(candidate.Principal).includes('Service'),
        )) {
          expect(
            actionsOf(statement).filter((action) => action.includes('*')),
            logicalId,
          ).toEqual([]);
        }
      }
    });
  });
});
