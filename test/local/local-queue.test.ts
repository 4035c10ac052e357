import { describe, expect, it } from 'vitest';
import { DISPATCH_MESSAGE_GROUP, QUEUES } from '../../lib/definitions';
import { InvalidQueueMessageError, LocalQueue, type QueueMessage, toSqsEvent } from '../../local/local-queue';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LocalQueue, standard (the intake queue definition)', () => {
  it('delivers in batches of at most batchSize', async () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.intake);
    const batchSizes: number[] = [];
    queue.consume((batch) => {
      batchSizes.push(batch.length);
    });

    // Act
    for (let index = 0; index < 25; index++) queue.send({ body: JSON.stringify({ index }) });
    await queue.idle();

    // Assess
    expect(QUEUES.intake.batchSize).toBe(10);
    expect(batchSizes).toEqual([10, 10, 5]);
    expect(queue.depth).toBe(0);
  });

  it('redelivers a failing batch until maxReceiveCount, then dead-letters it with the last error', async () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.intake, { redeliveryDelayMs: 1 });
    const receiveCounts: number[] = [];
    queue.consume((batch) => {
      receiveCounts.push(...batch.map((message) => message.receiveCount));
      throw new Error('StartExecution throttled');
    });

    // Act
    queue.send({ body: '{"poison":true}' });
    await queue.idle();

    // Assess
    expect(receiveCounts).toEqual([1, 2, 3, 4, 5]);
    expect(queue.deadLetters).toHaveLength(1);
    expect(queue.deadLetters[0]?.message.body).toBe('{"poison":true}');
    expect(queue.deadLetters[0]?.lastError).toBe('Error: StartExecution throttled');
    expect(queue.failures).toHaveLength(QUEUES.intake.maxReceiveCount);
  });

  it('retries only the messages reported in batchItemFailures', async () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.intake, { redeliveryDelayMs: 1 });
    const delivered: string[] = [];
    let failedOnce = false;
    queue.consume((batch) => {
      delivered.push(...batch.map((message) => message.body));
      const flaky = batch.find((message) => message.body === 'b');
      if (flaky && !failedOnce) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: flaky.messageId }] };
      }
      return undefined;
    });

    // Act
    for (const body of ['a', 'b', 'c']) queue.send({ body });
    await queue.idle();

    // Assess
    expect(delivered).toEqual(['a', 'b', 'c', 'b']);
    expect(queue.deadLetters).toEqual([]);
  });

  it('refuses FIFO-only fields, as SQS does', () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.intake);

    // Act
    const send = () => queue.send({ body: '{}', groupId: 'g' });

    // Assess
    expect(send).toThrow(InvalidQueueMessageError);
  });
});

describe('LocalQueue, FIFO (the dispatch queue definition)', () => {
  it('keeps a group in order across a failed delivery', async () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.dispatch, { redeliveryDelayMs: 1 });
    const deliveries: string[][] = [];
    queue.consume((batch) => {
      deliveries.push(batch.map((message) => message.body));
      if (deliveries.length === 1) throw new Error('dispatch round failed');
    });

    // Act
    for (const body of ['round-1', 'round-2', 'round-3'])
      queue.send({ body, groupId: DISPATCH_MESSAGE_GROUP });
    await queue.idle();

    // Assess
    expect(deliveries).toEqual([
      ['round-1', 'round-2', 'round-3'],
      ['round-1', 'round-2', 'round-3'],
    ]);
  });

  it('never has two batches of one group in flight, even with spare concurrency', async () => {
    // Prepare
    const queue = new LocalQueue({ ...QUEUES.dispatch, batchSize: 1 }, { maxConcurrency: 4 });
    const inFlight = new Map<string, number>();
    let maxPerGroup = 0;
    let maxOverall = 0;
    const order: string[] = [];
    queue.consume(async (batch: readonly QueueMessage[]) => {
      const group = batch[0]?.groupId ?? '';
      inFlight.set(group, (inFlight.get(group) ?? 0) + 1);
      maxPerGroup = Math.max(maxPerGroup, inFlight.get(group) ?? 0);
      maxOverall = Math.max(
        maxOverall,
        [...inFlight.values()].reduce((sum, count) => sum + count, 0),
      );
      await sleep(5);
      order.push(batch[0]?.body ?? '');
      inFlight.set(group, (inFlight.get(group) ?? 1) - 1);
    });

    // Act
    for (const body of ['a1', 'b1', 'a2', 'b2', 'a3']) queue.send({ body, groupId: body.slice(0, 1) });
    await queue.idle();

    // Assess
    expect(maxPerGroup).toBe(1);
    expect(maxOverall).toBe(2);
    expect(order.filter((body) => body.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(order.filter((body) => body.startsWith('b'))).toEqual(['b1', 'b2']);
  });

  it('drops a duplicate by deduplication id or by content within the window', async () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.dispatch);
    const delivered: string[] = [];
    queue.consume((batch) => {
      delivered.push(...batch.map((message) => message.body));
    });

    // Act
    const first = queue.send({ body: 'tick-1', groupId: DISPATCH_MESSAGE_GROUP, deduplicationId: 'd1' });
    const again = queue.send({
      body: 'tick-1 resent',
      groupId: DISPATCH_MESSAGE_GROUP,
      deduplicationId: 'd1',
    });
    const byContent = queue.send({ body: 'tick-2', groupId: DISPATCH_MESSAGE_GROUP });
    const sameContent = queue.send({ body: 'tick-2', groupId: DISPATCH_MESSAGE_GROUP });
    await queue.idle();

    // Assess
    expect(again).toEqual({ messageId: first.messageId, duplicate: true });
    expect(sameContent).toEqual({ messageId: byContent.messageId, duplicate: true });
    expect(delivered).toEqual(['tick-1', 'tick-2']);
  });

  it('requires a message group, as SQS does', () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.dispatch);

    // Act
    const send = () => queue.send({ body: '{}' });

    // Assess
    expect(send).toThrow(/needs a groupId/);
  });

  it('hands consumers the SQS event a Lambda event source mapping builds', async () => {
    // Prepare
    const queue = new LocalQueue(QUEUES.dispatch);
    const events: ReturnType<typeof toSqsEvent>[] = [];
    queue.consume((batch) => {
      events.push(toSqsEvent(queue, batch));
    });

    // Act
    queue.send({ body: '{"kind":"tick"}', groupId: DISPATCH_MESSAGE_GROUP });
    await queue.idle();

    // Assess
    expect(events[0]?.Records[0]).toMatchObject({
      body: '{"kind":"tick"}',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:DispatchQueue.fifo',
      attributes: { ApproximateReceiveCount: '1', MessageGroupId: DISPATCH_MESSAGE_GROUP },
    });
  });
});
