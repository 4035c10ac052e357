import type { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgeFinding } from '../nag';

export interface DeadLetterQueueProps {
  /** FIFO, when it receives the redrive of a FIFO queue. */
  readonly fifo: boolean;
  /** How long a message waits for inspection and redrive. */
  readonly retentionPeriod: Duration;
}

/**
 * A dead-letter queue: encrypted, TLS-only. It has no redrive policy of its own, which the
 * Serverless pack flags on every queue; the acknowledgement says why here, once.
 */
export function createDeadLetterQueue(scope: Construct, id: string, props: DeadLetterQueueProps): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: props.retentionPeriod,
    ...(props.fifo ? { fifo: true, contentBasedDeduplication: true } : {}),
  });
  acknowledgeFinding(
    queue,
    'Serverless-SQSRedrivePolicy',
    'This queue is itself a dead-letter queue: a redrive policy would move failed messages away from the operators who inspect them.',
  );
  return queue;
}
