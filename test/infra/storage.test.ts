import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { AUDIT_TABLE, INSTANCES_TABLE, TABLES, type TableDefinition } from '../../lib/definitions';
import { logicalIdOf, resourcesOfType, synthFlowtune } from './support';

const { stack, template } = synthFlowtune();
const storage = stack.storage;

function tableResource(definition: TableDefinition) {
  const logicalId = logicalIdOf(stack, storage.table(definition));
  const found = resourcesOfType(template, 'AWS::DynamoDB::Table').find(([id]) => id === logicalId);
  if (found === undefined) throw new Error(`table ${definition.id} (${logicalId}) is not in the template`);
  return found[1];
}

function keySchema(definition: { partitionKey: { name: string }; sortKey?: { name: string } }) {
  return [
    { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
    ...(definition.sortKey === undefined
      ? []
      : [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }]),
  ];
}

describe('Storage', () => {
  it('provisions exactly the tables of TABLES', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', TABLES.length);
  });

  const tableEntries = TABLES.map((table): [string, TableDefinition] => [table.id, table]);

  it.each(tableEntries)(
    'gives table %s the key schema, billing, TTL and point-in-time recovery of its definition',
    (_, definition) => {
      const properties = tableResource(definition).Properties ?? {};

      expect(properties.KeySchema).toEqual(keySchema(definition));
      expect(properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(properties.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: definition.pointInTimeRecovery,
      });
      expect(properties.TimeToLiveSpecification).toEqual(
        definition.timeToLiveAttribute === undefined
          ? undefined
          : { AttributeName: definition.timeToLiveAttribute, Enabled: true },
      );
    },
  );

  it.each(tableEntries)('encrypts table %s with the customer-managed key', (_, definition) => {
    expect(tableResource(definition).Properties?.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(stack, storage.key), 'Arn'] },
    });
  });

  it('indexes Instances by stage, oldest first', () => {
    const [byStage] = INSTANCES_TABLE.globalSecondaryIndexes;

    expect(tableResource(INSTANCES_TABLE).Properties?.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byStage',
        KeySchema: keySchema(byStage),
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('rotates the tables key', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true }),
      DeletionPolicy: 'Retain',
    });
    const keys = resourcesOfType(template, 'AWS::KMS::Key');
    expect(keys.every(([, key]) => key.Properties?.EnableKeyRotation === true)).toBe(true);
  });

  it('retains the Audit table and protects it from deletion', () => {
    const audit = tableResource(AUDIT_TABLE);

    expect(audit.DeletionPolicy).toBe('Retain');
    expect(audit.UpdateReplacePolicy).toBe('Retain');
    expect(audit.Properties?.DeletionProtectionEnabled).toBe(true);
  });
});
