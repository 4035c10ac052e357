import { createHash, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { systemClock, type Timer, type TimerClock } from '../lambdas/shared/ports';
import type { QueueDefinition } from '../lib/definitions/events';
import { LOCAL_ACCOUNT, LOCAL_REGION, localQueueArn, localQueueName, localQueueUrl } from './local-names';

/**
 * An in-process stand-in for an SQS queue drained by a Lambda event source mapping, driven by a
 * QUEUES definition: batches of up to `batchSize`, a failed message redelivered until its
 * receive count reaches `maxReceiveCount`, then moved to a dead-letter list. FIFO queues deliver
 * one message group at a time, in order (a failed message blocks its group until it succeeds or
 * is dead-lettered), and drop duplicates by deduplication id (or content hash) within 5 minutes.
 * Not a production queue: nothing survives the process.
 */

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  /** FIFO only: increasing per queue. */
  readonly sequenceNumber?: string;
  readonly sentAt: number;
  /** How many times it has been handed to the consumer, this delivery included. */
  readonly receiveCount: number;
  readonly firstReceivedAt?: number;
}

export interface SendMessageInput {
  readonly body: string;
  /** Required on FIFO queues (SQS MessageGroupId); not allowed on standard ones. */
  readonly groupId?: string;
  /** FIFO only; the SHA-256 of the body when absent (content-based deduplication). */
  readonly deduplicationId?: string;
}

export interface SendMessageResult {
  readonly messageId: string;
  readonly sequenceNumber?: string;
  /** True when a FIFO deduplication id was seen in the window: nothing new was queued. */
  readonly duplicate: boolean;
}

/** Returning `batchItemFailures` retries only those messages (ReportBatchItemFailures); throwing retries the batch. */
export type QueueConsumer = (
  messages: readonly QueueMessage[],
) => Promise<SQSBatchResponse | undefined> | Promise<void> | SQSBatchResponse | undefined | void;

export interface DeadLetter {
  readonly message: QueueMessage;
  /** The last failure, as text. */
  readonly lastError: string;
  readonly deadLetteredAt: number;
}

export interface LocalQueueOptions {
  /** Delay before a failed message is visible again (stands in for the visibility timeout). @default 50 */
  readonly redeliveryDelayMs?: number;
  /** Batches in flight at once; a FIFO queue never has two of the same group. @default 1 */
  readonly maxConcurrency?: number;
  /** @default 300_000 (SQS's five minutes) */
  readonly deduplicationWindowMs?: number;
  /**
   * The clock of message times, redelivery delays and the deduplication window (all in its ms);
   * deliveries count as work in flight on it. @default systemClock
   */
  readonly clock?: TimerClock;
}

/** Raised by `send` for input SQS would refuse; the message names the fix. */
export class InvalidQueueMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidQueueMessageError';
  }
}

interface StoredMessage {
  messageId: string;
  body: string;
  groupId?: string;
  deduplicationId?: string;
  sequenceNumber?: string;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  visibleAt: number;
  inFlight: boolean;
}

const MAX_BODY_BYTES = 256 * 1024;

export class LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  /** Messages that failed `maxReceiveCount` times (the local DLQ). */
  readonly deadLetters: DeadLetter[] = [];
  /** Every failed delivery, for inspection. */
  readonly failures: {
    readonly messageIds: readonly string[];
    readonly error: string;
    readonly at: number;
  }[] = [];

  private readonly waiting: StoredMessage[] = [];
  private readonly seenDeduplicationIds = new Map<string, { messageId: string; expiresAt: number }>();
  private readonly redeliveryDelayMs: number;
  private readonly maxConcurrency: number;
  private readonly deduplicationWindowMs: number;
  private consumer: QueueConsumer | undefined;
  private inFlightBatches = 0;
  private sequence = 0;
  private wakeTimer: Timer | undefined;
  private readonly clock: TimerClock;
  private wakeAt = 0;
  private pumpScheduled = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly definition: QueueDefinition,
    options: LocalQueueOptions = {},
  ) {
    this.name = localQueueName(definition);
    this.url = localQueueUrl(definition);
    this.arn = localQueueArn(definition);
    this.redeliveryDelayMs = options.redeliveryDelayMs ?? 50;
    this.maxConcurrency = Math.max(1, options.maxConcurrency ?? 1);
    this.deduplicationWindowMs = options.deduplicationWindowMs ?? 300_000;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Queues a message and schedules delivery (never synchronously, as with SQS).
   *
   * @example
   * queue.send({ body: JSON.stringify({ kind: 'tick', reason: 'agent online', at }), groupId: 'dispatch-rounds' });
   */
  send(input: SendMessageInput): SendMessageResult {
    if (this.stopped) throw new InvalidQueueMessageError(`queue ${this.name} is stopped`);
    if (Buffer.byteLength(input.body) > MAX_BODY_BYTES) {
      throw new InvalidQueueMessageError(`message body exceeds ${MAX_BODY_BYTES} bytes on ${this.name}`);
    }
    const now = this.clock.now();
    let deduplicationId: string | undefined;
    let sequenceNumber: string | undefined;
    if (this.definition.fifo) {
      if (!input.groupId) {
        throw new InvalidQueueMessageError(
          `${this.name} is a FIFO queue: every message needs a groupId (MessageGroupId)`,
        );
      }
      deduplicationId = input.deduplicationId ?? createHash('sha256').update(input.body).digest('hex');
      this.forgetExpiredDeduplicationIds(now);
      const seen = this.seenDeduplicationIds.get(deduplicationId);
      if (seen) return { messageId: seen.messageId, duplicate: true };
      this.sequence += 1;
      sequenceNumber = String(this.sequence).padStart(20, '0');
    } else if (input.groupId !== undefined || input.deduplicationId !== undefined) {
      throw new InvalidQueueMessageError(
        `${this.name} is a standard queue: groupId and deduplicationId are FIFO-only`,
      );
    }
    const messageId = randomUUID();
    if (deduplicationId !== undefined) {
      this.seenDeduplicationIds.set(deduplicationId, {
        messageId,
        expiresAt: now + this.deduplicationWindowMs,
      });
    }
    this.waiting.push({
      messageId,
      body: input.body,
      ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
      ...(deduplicationId === undefined ? {} : { deduplicationId }),
      ...(sequenceNumber === undefined ? {} : { sequenceNumber }),
      sentAt: now,
      receiveCount: 0,
      visibleAt: now,
      inFlight: false,
    });
    this.schedulePump();
    return { messageId, ...(sequenceNumber === undefined ? {} : { sequenceNumber }), duplicate: false };
  }

  /** Attaches the consumer (the event source mapping) and starts delivering. */
  consume(consumer: QueueConsumer): void {
    this.consumer = consumer;
    this.schedulePump();
  }

  /** Messages waiting, delayed for redelivery or in flight (dead letters excluded). */
  get depth(): number {
    return this.waiting.length;
  }

  /** True while a batch is being delivered or a delivery is about to start (delayed messages wait on the clock). */
  get busy(): boolean {
    return this.inFlightBatches > 0 || this.pumpScheduled;
  }

  /** Resolves once nothing waits or is in flight (dead letters excluded). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops delivering; in-flight batches finish, nothing new starts. */
  stop(): void {
    this.stopped = true;
    this.wakeTimer?.cancel();
    this.wakeTimer = undefined;
    this.notifyIdle(true);
  }

  private isIdle(): boolean {
    return this.waiting.length === 0 && this.inFlightBatches === 0;
  }

  private notifyIdle(force = false): void {
    if (!force && !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private forgetExpiredDeduplicationIds(now: number): void {
    for (const [id, seen] of this.seenDeduplicationIds) {
      if (seen.expiresAt <= now) this.seenDeduplicationIds.delete(id);
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped || !this.consumer) return;
    const consumer = this.consumer;
    while (this.inFlightBatches < this.maxConcurrency) {
      const batch = this.nextBatch(this.clock.now());
      if (batch.length === 0) break;
      void this.clock.track(this.deliver(consumer, batch));
    }
    this.scheduleWakeUp();
  }

  /** The next deliverable batch: visible messages; on FIFO, the head of one free group, in order. */
  private nextBatch(now: number): StoredMessage[] {
    const batch: StoredMessage[] = [];
    if (!this.definition.fifo) {
      for (const message of this.waiting) {
        if (batch.length >= this.definition.batchSize) break;
        if (!message.inFlight && message.visibleAt <= now) batch.push(message);
      }
      return batch;
    }
    const blockedGroups = new Set<string>();
    for (const message of this.waiting) {
      const group = message.groupId ?? '';
      if (blockedGroups.has(group)) continue;
      if (message.inFlight || message.visibleAt > now) {
        // The group's oldest message is not deliverable: nothing behind it may overtake it.
        blockedGroups.add(group);
        continue;
      }
      const selectedGroup = batch[0]?.groupId;
      if (selectedGroup !== undefined && selectedGroup !== message.groupId) continue;
      batch.push(message);
      if (batch.length >= this.definition.batchSize) break;
    }
    return batch;
  }

  private scheduleWakeUp(): void {
    if (this.stopped) return;
    // Visible messages wait for a free slot (the end of a delivery pumps again); only delayed ones need a timer.
    const now = this.clock.now();
    const delayed = this.waiting
      .filter((message) => !message.inFlight && message.visibleAt > now)
      .map((message) => message.visibleAt);
    if (delayed.length === 0) return;
    const wakeAt = Math.min(...delayed);
    if (this.wakeTimer && this.wakeAt <= wakeAt) return;
    this.wakeTimer?.cancel();
    this.wakeAt = wakeAt;
    this.wakeTimer = this.clock.setTimer(wakeAt - now, () => {
      this.wakeTimer = undefined;
      this.pump();
    });
  }

  private async deliver(consumer: QueueConsumer, batch: StoredMessage[]): Promise<void> {
    this.inFlightBatches += 1;
    const now = this.clock.now();
    for (const message of batch) {
      message.inFlight = true;
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
    }
    let failedIds: Set<string>;
    let errorText = '';
    try {
      const response = await consumer(batch.map(snapshot));
      failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      if (failedIds.size > 0) errorText = 'reported in batchItemFailures';
    } catch (error) {
      failedIds = new Set(batch.map((message) => message.messageId));
      errorText = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    const doneAt = this.clock.now();
    if (failedIds.size > 0) this.failures.push({ messageIds: [...failedIds], error: errorText, at: doneAt });
    for (const message of batch) {
      message.inFlight = false;
      if (!failedIds.has(message.messageId)) {
        this.remove(message);
      } else if (message.receiveCount >= this.definition.maxReceiveCount) {
        this.remove(message);
        this.deadLetters.push({ message: snapshot(message), lastError: errorText, deadLetteredAt: doneAt });
      } else {
        message.visibleAt = doneAt + this.redeliveryDelayMs;
      }
    }
    this.inFlightBatches -= 1;
    this.pump();
    this.notifyIdle();
  }

  private remove(message: StoredMessage): void {
    const index = this.waiting.indexOf(message);
    if (index >= 0) this.waiting.splice(index, 1);
  }
}

function snapshot(message: StoredMessage): QueueMessage {
  return {
    messageId: message.messageId,
    body: message.body,
    ...(message.groupId === undefined ? {} : { groupId: message.groupId }),
    ...(message.deduplicationId === undefined ? {} : { deduplicationId: message.deduplicationId }),
    ...(message.sequenceNumber === undefined ? {} : { sequenceNumber: message.sequenceNumber }),
    sentAt: message.sentAt,
    receiveCount: message.receiveCount,
    ...(message.firstReceivedAt === undefined ? {} : { firstReceivedAt: message.firstReceivedAt }),
  };
}

/**
 * The SQS event a Lambda event source mapping would hand the consumer function for this batch,
 * so the real handlers run unchanged.
 */
export function toSqsEvent(queue: Pick<LocalQueue, 'arn'>, messages: readonly QueueMessage[]): SQSEvent {
  return {
    Records: messages.map((message) => ({
      messageId: message.messageId,
      receiptHandle: `local-${message.messageId}-${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: LOCAL_ACCOUNT,
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
        ...(message.sequenceNumber === undefined ? {} : { SequenceNumber: message.sequenceNumber }),
        ...(message.groupId === undefined ? {} : { MessageGroupId: message.groupId }),
        ...(message.deduplicationId === undefined ? {} : { MessageDeduplicationId: message.deduplicationId }),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(message.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: LOCAL_REGION,
    })),
  };
}
