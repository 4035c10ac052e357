/**
 * The one definition of every DynamoDB table: the CDK storage construct provisions these and
 * the local runtime creates them in DynamoDB Local from the same objects. Plain data, no CDK
 * imports, so both sides can read it.
 */

export type KeyType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Construct id and CloudFormation logical-id stem; also the local table name. */
  readonly id: string;
  /** Environment variable through which Lambdas receive the physical table name. */
  readonly envVar: string;
  /** ASL substitution placeholder carrying the physical table name. */
  readonly placeholder: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, when items age out. */
  readonly timeToLiveAttribute?: string;
  readonly pointInTimeRecovery: boolean;
}

export const FEATURES_TABLE = {
  id: 'Features',
  envVar: 'FEATURES_TABLE',
  placeholder: 'FeaturesTableName',
  // pk: AGENT#<id> | STATS#<category> | POLICY#<name> | MODEL#<name>; sk: a facet or version.
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [],
  // Tuning observation buckets expire (14 days); other feature records carry no expiresAt.
  timeToLiveAttribute: 'expiresAt',
  pointInTimeRecovery: true,
} as const satisfies TableDefinition;

export const INSTANCES_TABLE = {
  id: 'Instances',
  envVar: 'INSTANCES_TABLE',
  placeholder: 'InstancesTableName',
  partitionKey: { name: 'itemId', type: 'S' },
  // The bottleneck view and the dispatcher's waiting set both read items by stage, oldest first.
  globalSecondaryIndexes: [
    {
      indexName: 'byStage',
      partitionKey: { name: 'stage', type: 'S' },
      sortKey: { name: 'stageEnteredAt', type: 'N' },
    },
  ],
  timeToLiveAttribute: 'expiresAt',
  pointInTimeRecovery: true,
} as const satisfies TableDefinition;

export const AUDIT_TABLE = {
  id: 'Audit',
  envVar: 'AUDIT_TABLE',
  placeholder: 'AuditTableName',
  partitionKey: { name: 'itemId', type: 'S' },
  // `<ISO time>#<record kind>`: a trail reads in order and a retried write of the same record is idempotent.
  sortKey: { name: 'recordKey', type: 'S' },
  globalSecondaryIndexes: [],
  timeToLiveAttribute: 'expiresAt',
  pointInTimeRecovery: true,
} as const satisfies TableDefinition;

export const TABLES = [FEATURES_TABLE, INSTANCES_TABLE, AUDIT_TABLE] as const;

/** Lifecycle stages stored on Instances.stage (and indexed by `byStage`). */
export const STAGES = [
  'VALIDATING',
  'SCORED',
  'WAITING_ASSIGNMENT',
  'HUMAN_REVIEW',
  'ASSIGNED',
  'IN_PROGRESS',
  'EXCEPTION',
  'COMPLETED',
  'REJECTED',
  'CANCELLED',
] as const;
export type Stage = (typeof STAGES)[number];

/** Audit retention: records expire through TTL after this many days. */
export const AUDIT_RETENTION_DAYS = 400;
