import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';

/**
 * ReportBatchItemFailures by hand (the Powertools batch package is not among our dependencies):
 * a record whose handler throws is reported and redelivered; the others are deleted. On a FIFO
 * queue, order within the message group must hold, so the first failure also fails every
 * record after it.
 *
 * @example
 * return processBatch(event.Records, { fifo: false }, (record) => handleOne(record));
 */
export async function processBatch(
  records: readonly SQSRecord[],
  options: { readonly fifo: boolean; readonly onFailure?: (record: SQSRecord, error: unknown) => void },
  handle: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchItemFailure[] = [];
  if (options.fifo) {
    for (const [index, record] of records.entries()) {
      try {
        await handle(record);
      } catch (error) {
        options.onFailure?.(record, error);
        for (const rest of records.slice(index)) failures.push({ itemIdentifier: rest.messageId });
        break;
      }
    }
  } else {
    const results = await Promise.allSettled(records.map((record) => handle(record)));
    results.forEach((result, index) => {
      const record = records[index];
      if (result.status === 'rejected' && record !== undefined) {
        options.onFailure?.(record, result.reason);
        failures.push({ itemIdentifier: record.messageId });
      }
    });
  }
  return { batchItemFailures: failures };
}
