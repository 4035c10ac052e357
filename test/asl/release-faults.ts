import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';

/** What a request carries that the faults below look at: its table(s). */
interface WriteInput {
  readonly TableName?: unknown;
  readonly TransactItems?: readonly Readonly<Record<string, { readonly TableName?: unknown }>>[];
}

function tablesOf(input: unknown): string[] {
  if (typeof input !== 'object' || input === null) return [];
  const { TableName, TransactItems } = input as WriteInput;
  const tables = typeof TableName === 'string' ? [TableName] : [];
  for (const item of TransactItems ?? []) {
    for (const action of Object.values(item)) {
      if (typeof action.TableName === 'string') tables.push(action.TableName);
    }
  }
  return tables;
}

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
]);

/**
 * Faults on the ASL runner's DynamoDB client, aimed at the writes that touch one table (the
 * Features table, where agents' slots are counted), whatever shape the release takes: one
 * transaction or separate updates. Armed faults fire once each, in order.
 */
export class ReleaseFaults {
  private readonly armed: ('lose-reply' | 'conflict')[] = [];
  /** Writes to the table that were applied and then reported as failed. */
  lostReplies = 0;

  constructor(client: DynamoDBClient, table: string) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const touches = WRITE_COMMANDS.has(context.commandName ?? '') && tablesOf(args.input).includes(table);
        const fault = touches ? this.armed.shift() : undefined;
        if (fault === 'conflict') {
          // DynamoDB's answer when a concurrent transaction holds one of the items: nothing applied.
          throw new TransactionCanceledException({
            message:
              'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]',
            $metadata: { httpStatusCode: 400 },
            CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
          });
        }
        const result = await next(args);
        if (fault === 'lose-reply') {
          this.lostReplies += 1;
          // Applied, but the answer never arrives: the caller sees a client-side timeout.
          throw Object.assign(new Error('socket hang up after the request was sent'), {
            name: 'TimeoutError',
          });
        }
        return result;
      },
      // Outside the SDK's own retries, so the caller (the state machine's Retry) sees the fault.
      { step: 'initialize', name: 'releaseFaults' },
    );
  }

  /** The next write to the table is applied, then its reply is lost. */
  loseNextReply(): void {
    this.armed.push('lose-reply');
  }

  /** The next write to the table is refused as a transaction conflict, before any effect. */
  conflictOnNextWrite(): void {
    this.armed.push('conflict');
  }

  /** Faults armed but not fired yet. */
  get pending(): number {
    return this.armed.length;
  }
}
