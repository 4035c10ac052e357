import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './dynamodb-expressions';
import { queryAll } from './dynamodb-query';
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
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'itemId = :itemId',
      ExpressionAttributeValues: { ':itemId': itemId },
      ScanIndexForward: true,
    });
    return items.map((item) => {
      const parsed = StoredAuditRecord.parse(item);
      return { ...parsed, kind: parsed.kind as AuditKind };
    });
  }
}
