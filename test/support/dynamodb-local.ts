import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/shared/aws-clients';
import { DynamoDbAuditLog } from '../../lambdas/shared/dynamodb-audit-log';
import { DynamoDbFeatureStore } from '../../lambdas/shared/dynamodb-feature-store';
import { DynamoDbInstanceStore } from '../../lambdas/shared/dynamodb-instance-store';
import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE, TABLES } from '../../lib/definitions/tables';
import {
  createTables,
  type DynamoDbLocal,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
  type TableNames,
} from '../../local/dynamodb-local';
import { LOCAL_REGION } from '../../local/local-names';

/**
 * DynamoDB Local with Flowtune's tables, for tests that must prove behaviour against the real
 * engine (conditions, transactions, GSI order). Starting and stopping the JVM is the local
 * runtime's startDynamoDbLocal (java -jar on a free port, -inMemory -disableTelemetry, killed on
 * exit); this adds the tables of lib/definitions under a unique prefix, a DocumentClient and the
 * DynamoDB implementations of the ports. Always call `stop()` in afterAll.
 *
 * @example
 * let db: DynamoDbTestEnvironment;
 * beforeAll(async () => { db = await startDynamoDbTestEnvironment(); });
 * afterAll(async () => { await db?.stop(); });
 */
export interface DynamoDbTestEnvironment {
  readonly local: DynamoDbLocal;
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableNames: {
    readonly featuresTable: string;
    readonly instancesTable: string;
    readonly auditTable: string;
  };
  readonly features: DynamoDbFeatureStore;
  readonly instances: DynamoDbInstanceStore;
  readonly audit: DynamoDbAuditLog;
  /** Creates another full set of tables (a clean world) on the same DynamoDB Local. */
  freshTables(): Promise<DynamoDbPorts>;
  stop(): Promise<void>;
}

export interface DynamoDbPorts {
  readonly tableNames: DynamoDbTestEnvironment['tableNames'];
  readonly features: DynamoDbFeatureStore;
  readonly instances: DynamoDbInstanceStore;
  readonly audit: DynamoDbAuditLog;
}

/** The DynamoDB ports over already-created tables (as the local runtime would build them). */
export function createDynamoDbPorts(
  documentClient: DynamoDBDocumentClient,
  names: TableNames,
): DynamoDbPorts {
  const tableName = (id: string): string => {
    const name = names[id];
    if (name === undefined) throw new Error(`table ${id} was not created`);
    return name;
  };
  const tableNames = {
    featuresTable: tableName(FEATURES_TABLE.id),
    instancesTable: tableName(INSTANCES_TABLE.id),
    auditTable: tableName(AUDIT_TABLE.id),
  };
  return {
    tableNames,
    features: new DynamoDbFeatureStore({ client: documentClient, ...tableNames }),
    instances: new DynamoDbInstanceStore({
      client: documentClient,
      instancesTable: tableNames.instancesTable,
    }),
    audit: new DynamoDbAuditLog({ client: documentClient, auditTable: tableNames.auditTable }),
  };
}

export async function startDynamoDbTestEnvironment(): Promise<DynamoDbTestEnvironment> {
  const local = await startDynamoDbLocal();
  try {
    const documentClient = createDocumentClient({
      endpoint: local.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const freshTables = async () => {
      const prefix = `t${randomUUID().slice(0, 8)}-`;
      return createDynamoDbPorts(documentClient, await createTables(local.client, TABLES, prefix));
    };
    const first = await freshTables();
    return {
      local,
      documentClient,
      ...first,
      freshTables,
      stop: async () => {
        documentClient.destroy();
        await local.stop();
      },
    };
  } catch (error) {
    await local.stop();
    throw error;
  }
}
