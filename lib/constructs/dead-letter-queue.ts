import type { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type CfnQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgeFinding } from '../nag';

export interface DeadLetterQueueProps {
  /** FIFO, when it receives the redrive of a FIFO queue. */
  readonly fifo: boolean;
  /** How long a message waits for inspection and redrive. */
  readonly retentionPeriod: Duration;
  /**
   * Customer-managed key the messages are encrypted with. Every principal that sends to the queue
   * must be able to use it through SQS (EventIngest.key's policy allows that within the account).
   *
   * @default - SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;
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
  if (props.encryptionKey !== undefined) encryptQueueWithKey(queue, props.encryptionKey);
  acknowledgeFinding(
    queue,
    'Serverless-SQSRedrivePolicy',
    'This queue is itself a dead-letter queue: a redrive policy would move failed messages away from the operators who inspect them.',
  );
  return queue;
}

/**
 * Encrypts `queue` with `key` (SSE-KMS) at the CloudFormation level. Set through the queue's
 * `encryptionMasterKey`, the key would make CDK's grants on the queue add wildcard KMS actions
 * (kms:ReEncrypt*, kms:GenerateDataKey*) and widen EventBridge targets' queue policies from the
 * rule to the whole account; the key's own policy grants exactly what SQS users need instead.
 */
export function encryptQueueWithKey(queue: Queue, key: IKey): void {
  const resource = queue.node.defaultChild as CfnQueue;
  resource.sqsManagedSseEnabled = undefined;
  resource.kmsMasterKeyId = key.keyArn;
}
