import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, RedriveOptions, redrive, type Sender } from '../../scripts/redrive';

/**
 * The redrive command's decisions, against a fake SQS / EventBridge that answers like the real
 * APIs (the same script was run against MiniStack for real: see docs/redrive.md).
 */

interface FakeQueue {
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
  readonly redriveTarget?: string;
  messages: { id: string; body: string; group?: string }[];
}

class FakeAws {
  readonly queues = new Map<string, FakeQueue>();
  readonly putEvents: unknown[] = [];
  moveTaskSupported = true;
  private moveStatus: string[] = [];

  queue(name: string, options: { fifo?: boolean; dlqOf?: string; messages?: string[] } = {}): FakeQueue {
    const queue: FakeQueue = {
      url: `https://sqs.eu-west-1.amazonaws.com/111122223333/${name}`,
      arn: `arn:aws:sqs:eu-west-1:111122223333:${name}`,
      fifo: options.fifo ?? false,
      messages: (options.messages ?? []).map((body, index) => ({
        id: `${name}-m${index}`,
        body,
        group: 'g1',
      })),
      ...(options.dlqOf === undefined ? {} : { redriveTarget: options.dlqOf }),
    };
    this.queues.set(queue.url, queue);
    return queue;
  }

  private byUrl(url: unknown): FakeQueue {
    const queue = this.queues.get(String(url));
    if (queue === undefined) throw Object.assign(new Error('no such queue'), { name: 'QueueDoesNotExist' });
    return queue;
  }

  readonly sqs: Sender = {
    send: async (command: object) => {
      const name = command.constructor.name;
      const input = (command as { input: Record<string, unknown> }).input;
      switch (name) {
        case 'GetQueueAttributesCommand': {
          const queue = this.byUrl(input.QueueUrl);
          return {
            Attributes: {
              QueueArn: queue.arn,
              ApproximateNumberOfMessages: String(queue.messages.length),
              FifoQueue: String(queue.fifo),
              ...(queue.redriveTarget === undefined
                ? {}
                : {
                    RedrivePolicy: JSON.stringify({
                      deadLetterTargetArn: queue.redriveTarget,
                      maxReceiveCount: 5,
                    }),
                  }),
            },
          };
        }
        case 'ListDeadLetterSourceQueuesCommand': {
          const dlq = this.byUrl(input.QueueUrl);
          return {
            queueUrls: [...this.queues.values()].filter((q) => q.redriveTarget === dlq.arn).map((q) => q.url),
          };
        }
        case 'StartMessageMoveTaskCommand': {
          if (!this.moveTaskSupported) {
            throw Object.assign(
              new Error('The action StartMessageMoveTask is not valid for this endpoint.'),
              {
                name: 'InvalidAction',
              },
            );
          }
          const dlq = [...this.queues.values()].find((q) => q.arn === input.SourceArn);
          const source = [...this.queues.values()].find((q) => q.redriveTarget === dlq?.arn);
          if (dlq === undefined || source === undefined) throw new Error('not a DLQ');
          source.messages.push(...dlq.messages.splice(0));
          this.moveStatus = ['RUNNING', 'COMPLETED'];
          return {};
        }
        case 'ListMessageMoveTasksCommand':
          return {
            Results: [
              {
                Status: this.moveStatus.shift() ?? 'COMPLETED',
                ApproximateNumberOfMessagesMoved: 3,
                ApproximateNumberOfMessagesToMove: 3,
              },
            ],
          };
        case 'ReceiveMessageCommand': {
          const queue = this.byUrl(input.QueueUrl);
          return {
            Messages: queue.messages.slice(0, 10).map((message) => ({
              MessageId: message.id,
              ReceiptHandle: message.id,
              Body: message.body,
              Attributes: queue.fifo && message.group !== undefined ? { MessageGroupId: message.group } : {},
            })),
          };
        }
        case 'DeleteMessageCommand': {
          const queue = this.byUrl(input.QueueUrl);
          queue.messages = queue.messages.filter((message) => message.id !== input.ReceiptHandle);
          return {};
        }
        case 'SendMessageCommand': {
          const queue = this.byUrl(input.QueueUrl);
          if (
            queue.fifo &&
            (input.MessageGroupId === undefined || input.MessageDeduplicationId === undefined)
          ) {
            throw new Error('FIFO needs a group and a deduplication id');
          }
          queue.messages.push({
            id: `sent-${queue.messages.length}`,
            body: String(input.MessageBody),
            group: String(input.MessageGroupId),
          });
          return {};
        }
        default:
          throw new Error(`fake SQS has no ${name}`);
      }
    },
  };

  readonly events: Sender = {
    send: async (command: object) => {
      const input = (command as { input: { Entries: unknown[] } }).input;
      this.putEvents.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'e' })) };
    },
  };
}

const event = (detailType: string, id: string) =>
  JSON.stringify({
    version: '0',
    id: `ev-${id}`,
    'detail-type': detailType,
    source: 'helpdesk',
    time: '2026-11-20T09:00:00Z',
    detail: { id },
  });

function run(aws: FakeAws, options: Record<string, unknown>) {
  const log: string[] = [];
  const report = redrive(RedriveOptions.parse(options), {
    sqs: aws.sqs,
    events: aws.events,
    log: (line) => log.push(line),
    sleep: async () => {},
  });
  return { report, log };
}

describe('redrive', () => {
  it('moves a DLQ of an SQS queue back to it with a message move task and waits for it to finish', async () => {
    // Prepare
    const aws = new FakeAws();
    const dlq = aws.queue('IntakeDLQ', { messages: ['a', 'b', 'c'] });
    const intake = aws.queue('Intake', { dlqOf: dlq.arn });

    // Act
    const { report } = run(aws, { queue: dlq.url });

    // Assess
    await expect(report).resolves.toMatchObject({ mode: 'move', redriven: 3, failed: 0 });
    expect(intake.messages.map((message) => message.body)).toEqual(['a', 'b', 'c']);
    expect(dlq.messages).toEqual([]);
  });

  it('resends (keeping FIFO groups) where the endpoint has no message move tasks', async () => {
    // Prepare
    const aws = new FakeAws();
    aws.moveTaskSupported = false;
    const dlq = aws.queue('DispatchDLQ.fifo', { fifo: true, messages: ['t1', 't2'] });
    const dispatch = aws.queue('Dispatch.fifo', { fifo: true, dlqOf: dlq.arn });

    // Act
    const { report, log } = run(aws, { queue: dlq.url });

    // Assess
    await expect(report).resolves.toMatchObject({ mode: 'resend', redriven: 2, failed: 0 });
    expect(dispatch.messages.map((message) => [message.body, message.group])).toEqual([
      ['t1', 'g1'],
      ['t2', 'g1'],
    ]);
    expect(log.join('\n')).toMatch(/no message move tasks/);
  });

  it('replays dead-lettered EventBridge events onto the bus and leaves anything else for a person', async () => {
    // Prepare
    const aws = new FakeAws();
    const dlq = aws.queue('DeliveryDLQ', {
      messages: [event('WorkItemCompleted', 'HD-1'), 'not an event', event('AgentStatusChanged', 'a-1')],
    });

    // Act
    const { report } = run(aws, { queue: dlq.url, bus: 'Flowtune-Bus' });

    // Assess
    await expect(report).resolves.toMatchObject({ mode: 'replay', redriven: 2, failed: 1 });
    expect(aws.putEvents).toEqual([
      {
        EventBusName: 'Flowtune-Bus',
        Source: 'helpdesk',
        DetailType: 'WorkItemCompleted',
        Detail: '{"id":"HD-1"}',
      },
      {
        EventBusName: 'Flowtune-Bus',
        Source: 'helpdesk',
        DetailType: 'AgentStatusChanged',
        Detail: '{"id":"a-1"}',
      },
    ]);
    expect(dlq.messages.map((message) => message.body)).toEqual(['not an event']);
  });

  it('changes nothing on a dry run', async () => {
    // Prepare
    const aws = new FakeAws();
    const dlq = aws.queue('DeliveryDLQ', { messages: [event('WorkItemCompleted', 'HD-1')] });

    // Act
    const { report, log } = run(aws, { queue: dlq.url, bus: 'Flowtune-Bus', dryRun: true });

    // Assess
    await expect(report).resolves.toMatchObject({ redriven: 1, dryRun: true });
    expect(aws.putEvents).toEqual([]);
    expect(dlq.messages).toHaveLength(1);
    expect(log.join('\n')).toMatch(/would replay WorkItemCompleted from helpdesk/);
  });

  it('finds the queue and the bus in the stack outputs', async () => {
    // Prepare
    const aws = new FakeAws();
    const dlq = aws.queue('AsyncDLQ', { messages: [event('WorkItemCancelled', 'HD-2')] });
    const file = join(mkdtempSync(join(tmpdir(), 'redrive-')), 'outputs.json');
    writeFileSync(
      file,
      JSON.stringify({ Flowtune: { AsyncFailureQueueUrl: dlq.url, EventBusName: 'FlowtuneBus' } }),
    );

    // Act
    const { report } = run(aws, { outputs: file, dlq: 'async' });

    // Assess
    await expect(report).resolves.toMatchObject({ mode: 'replay', redriven: 1 });
    expect(aws.putEvents).toMatchObject([{ EventBusName: 'FlowtuneBus', DetailType: 'WorkItemCancelled' }]);
  });

  it('refuses to move or resend a queue that is no SQS queue’s DLQ, saying to replay', async () => {
    // Prepare
    const aws = new FakeAws();
    const dlq = aws.queue('DeliveryDLQ', { messages: ['x'] });

    // Act
    const { report } = run(aws, { queue: dlq.url, mode: 'move' });

    // Assess
    await expect(report).rejects.toThrow(/--mode replay/);
  });

  it('parses the command line: help, the queue choice and the options, with errors that point at --help', () => {
    expect(parseCommandLine(['--help'])).toBeUndefined();
    expect(
      parseCommandLine(['--outputs', 'o.json', '--dlq', 'dispatch', '--rate', '5', '--dry-run']),
    ).toMatchObject({
      outputs: 'o.json',
      dlq: 'dispatch',
      rate: 5,
      dryRun: true,
      mode: 'auto',
      wait: true,
    });
    expect(() => parseCommandLine(['--mode', 'move'])).toThrow(/--queue.*see --help/);
    expect(() => parseCommandLine(['--queue', 'q', '--dlq', 'nowhere'])).toThrow(/dlq/);
  });
});
