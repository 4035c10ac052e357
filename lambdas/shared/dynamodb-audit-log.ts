import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './dynamodb-expressions';
import { queryAll } from './dynamodb-query';
import {
  type AppendOptions,
  type AuditKind,
  type AuditLog,
  type AuditRecord,
  MAX_AUDIT_KEY_SEQUENCE,
  sameAuditRecord,
} from './ports';
import { StoredAuditRecord, sequencedRecordKey } from './table-layout';

export interface DynamoDbAuditLogOptions {
  readonly client: DynamoDBDocumentClient;
  readonly auditTable: string;
}

/**
 * AuditLog on the Audit table: append-only, one conditional put per record. A key already taken by
 * the same record is a retried write ('exists'); taken by a different one, the record is kept under
 * the next sequenced key instead of being dropped.
 */
export class DynamoDbAuditLog implements AuditLog {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoDbAuditLogOptions) {
    this.client = options.client;
    this.table = options.auditTable;
  }

  async append(record: AuditRecord, options: AppendOptions = {}): Promise<'appended' | 'exists'> {
    for (let sequence = 1; sequence <= MAX_AUDIT_KEY_SEQUENCE; sequence++) {
      const candidate =
        sequence === 1 ? record : { ...record, recordKey: sequencedRecordKey(record.recordKey, sequence) };
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: candidate,
            // Append-only: a retried write of the same record never overwrites the first.
            ConditionExpression: 'attribute_not_exists(recordKey)',
          }),
        );
        return 'appended';
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        if (options.keyIdentifiesFact === true) return 'exists';
        const existing = await this.client.send(
          new GetCommand({
            TableName: this.table,
            Key: { itemId: candidate.itemId, recordKey: candidate.recordKey },
            ConsistentRead: true,
          }),
        );
        if (existing.Item !== undefined && sameAuditRecord(existing.Item, candidate)) return 'exists';
      }
    }
    throw new Error(
      `audit key ${record.itemId} / ${record.recordKey} is taken ${MAX_AUDIT_KEY_SEQUENCE} times over by other records`,
    );
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
