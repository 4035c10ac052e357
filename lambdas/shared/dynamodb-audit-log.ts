import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './dynamodb-expressions';
import type { AuditKind, AuditLog, AuditRecord } from './ports';
import { StoredAuditRecord } from './table-layout';

export interface DynamoDbAuditLogOptions {
  readonly client: DynamoDBDocumentClient;
  readonly auditTable: string;
}

/** AuditLog on the Audit table: append-only, one conditional put per record. */
export class DynamoDbAuditLog implements AuditLog {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoDbAuditLogOptions) {
    this.client = options.client;
    this.table = options.auditTable;
  }

  async append(record: AuditRecord): Promise<'appended' | 'exists'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: record,
          // Append-only: a retried write of the same record never overwrites the first.
          ConditionExpression: 'attribute_not_exists(recordKey)',
        }),
      );
      return 'appended';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'exists';
      throw error;
    }
  }

  async listForItem(itemId: string): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'itemId = :itemId',
          ExpressionAttributeValues: { ':itemId': itemId },
          ScanIndexForward: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const parsed = StoredAuditRecord.parse(item);
        records.push({ ...parsed, kind: parsed.kind as AuditKind });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records;
  }
}
