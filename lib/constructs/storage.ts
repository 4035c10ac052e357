import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import {
  type Attribute,
  AttributeType,
  BillingMode,
  type ITable,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { CfnSecret, ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  AUDIT_TABLE,
  type KeyAttribute,
  TABLES,
  type TableAccess,
  type TableDefinition,
} from '../definitions';

/** Item actions a reader needs: point reads, queries (also on the indexes) and scans. */
const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
];

/** The only actions that apply to a secondary index. */
const INDEX_ACTIONS: readonly string[] = ['dynamodb:Query', 'dynamodb:Scan'];

/** A writer's item actions, also used inside TransactWriteItems (which has no action of its own). */
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** DynamoDB calls KMS with the caller's credentials for a table under a customer-managed key. */
const KEY_READ_ACTIONS = ['kms:Decrypt'];
const KEY_WRITE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];

export interface StorageProps {
  /**
   * What happens to Features and Instances when the stack is deleted. Audit is always retained
   * and deletion-protected: it is the record of every decision.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The three DynamoDB tables of lib/definitions/tables.ts (Features, Instances, Audit), on demand,
 * under one customer-managed KMS key, with point-in-time recovery and TTL as each definition says.
 * Access is granted per table with exact actions, never with wildcards.
 */
export class Storage extends Construct {
  /** Customer-managed key of every table (rotated yearly). */
  readonly key: Key;
  /**
   * Customer-managed key (rotated yearly) of Flowtune's configuration at rest: every function's
   * environment variables and the secrets (the pseudonym key, the connector credential). Its
   * policy is the default delegation to the account's IAM: a function's role names it explicitly.
   */
  readonly configKey: Key;
  private readonly tablesById = new Map<string, Table>();

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'TablesKey', {
      description: 'Flowtune: encryption at rest of the Features, Instances and Audit tables',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.configKey = new Key(this, 'ConfigKey', {
      description:
        'Flowtune: encryption at rest of the functions’ environment variables and of the secrets (pseudonym key, connector credential)',
      enableKeyRotation: true,
      // The retained secrets are encrypted with it: it must outlive the stack as they do.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const definition of TABLES) {
      const isAudit = definition.id === AUDIT_TABLE.id;
      this.tablesById.set(
        definition.id,
        this.createTable(
          definition,
          isAudit ? RemovalPolicy.RETAIN : (props.removalPolicy ?? RemovalPolicy.RETAIN),
          isAudit,
        ),
      );
    }
  }

  /** The table provisioned from `definition`. */
  table(definition: TableDefinition): ITable {
    const table = this.tablesById.get(definition.id);
    if (table === undefined) {
      throw new Error(
        `Storage has no table "${definition.id}"; it provisions ${[...this.tablesById.keys()].join(', ')}. Add the definition to TABLES in lib/definitions/tables.ts.`,
      );
    }
    return table;
  }

  /**
   * Grants `access` ('read' or 'readWrite', as in a FunctionDefinition) on one table and its
   * indexes, with the key usage DynamoDB needs for it.
   */
  grantAccess(grantee: IGrantable, definition: TableDefinition, access: TableAccess): void {
    const write = access === 'readWrite';
    this.grantActions(grantee, definition, write ? [...READ_ACTIONS, ...WRITE_ACTIONS] : READ_ACTIONS, write);
  }

  /**
   * Grants exactly `actions` on one table (queries and scans on its indexes too), with the key usage
   * DynamoDB needs: decrypt always, encrypt as well when `writes`.
   */
  grantActions(
    grantee: IGrantable,
    definition: TableDefinition,
    actions: readonly string[],
    writes: boolean,
  ): void {
    const table = this.table(definition);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...actions], resources: [table.tableArn] }),
    );
    const indexActions = actions.filter((action) => INDEX_ACTIONS.includes(action));
    if (indexActions.length > 0 && definition.globalSecondaryIndexes.length > 0) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: indexActions,
          resources: definition.globalSecondaryIndexes.map(
            (index) => `${table.tableArn}/index/${index.indexName}`,
          ),
        }),
      );
    }
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: writes ? KEY_WRITE_ACTIONS : KEY_READ_ACTIONS,
        resources: [this.key.keyArn],
        // Only through DynamoDB: the key cannot be used directly to decrypt anything else.
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }

  /**
   * Lets `grantee` read `secret` (GetSecretValue on it only) and decrypt it with the config key,
   * only through Secrets Manager.
   */
  grantReadSecret(grantee: IGrantable, secret: ISecret): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.configKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }

  /**
   * Encrypts `secret` with the config key at the CloudFormation level. Through the Secret's
   * `encryptionKey`, CDK would add wildcard KMS actions (kms:GenerateDataKey*, kms:ReEncrypt*) to
   * the key policy; readers are granted exactly what they need by `grantReadSecret` instead.
   */
  encryptSecret(secret: Secret): void {
    (secret.node.defaultChild as CfnSecret).kmsKeyId = this.configKey.keyArn;
  }

  private createTable(definition: TableDefinition, removalPolicy: RemovalPolicy, protect: boolean): Table {
    const table = new Table(this, definition.id, {
      partitionKey: toAttribute(definition.partitionKey),
      sortKey: definition.sortKey === undefined ? undefined : toAttribute(definition.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: definition.pointInTimeRecovery },
      timeToLiveAttribute: definition.timeToLiveAttribute,
      deletionProtection: protect,
      removalPolicy,
    });
    for (const index of definition.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: toAttribute(index.partitionKey),
        sortKey: index.sortKey === undefined ? undefined : toAttribute(index.sortKey),
      });
    }
    return table;
  }
}

function toAttribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}
