import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DispatchMessage } from '../../domain/process';
import { DISPATCH_MESSAGE_GROUP } from '../../lib/definitions/events';
import type { DispatchTrigger } from './ports';

export interface SqsDispatchTriggerOptions {
  readonly client: SQSClient;
  readonly dispatchQueueUrl: string;
}

/** DispatchTrigger on the FIFO dispatch queue: one message group, so rounds never overlap. */
export class SqsDispatchTrigger implements DispatchTrigger {
  constructor(private readonly options: SqsDispatchTriggerOptions) {}

  async tick(reason: string, at: number): Promise<void> {
    const message = DispatchMessage.parse({ kind: 'tick', reason, at: new Date(at).toISOString() });
    const body = JSON.stringify(message);
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: this.options.dispatchQueueUrl,
        MessageBody: body,
        MessageGroupId: DISPATCH_MESSAGE_GROUP,
        // The same tick sent twice (a retried handler) is delivered once.
        MessageDeduplicationId: createHash('sha256').update(body).digest('hex'),
      }),
    );
  }
}
