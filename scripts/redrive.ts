#!/usr/bin/env tsx
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { FLOWTUNE_SOURCE } from '../domain/events';

/**
 * Redrives a Flowtune dead-letter queue (docs/redrive.md). Three ways, chosen per queue:
 * - move: SQS StartMessageMoveTask, for a DLQ of SQS queues (intake, dispatch): SQS moves the
 *   messages back to the queue they failed in, at an optional rate, and reports progress.
 * - resend: receive → send to the source queue → delete, for endpoints without message move tasks
 *   (some emulators); FIFO messages keep their message group.
 * - replay: receive → PutEvents on the bus → delete, for DLQs whose source is not an SQS queue
 *   (EventBridge rule targets, Lambda asynchronous failures), which StartMessageMoveTask refuses.
 * Every handler downstream is idempotent, so a message redriven twice changes nothing twice.
 */

const HELP = `Usage: npm run redrive -- (--queue <url|arn|name> | --outputs <file> --dlq <name>) [options]

Moves the messages of a dead-letter queue back to where they failed, once the cause is fixed.

Which queue
  --queue <url|arn|name>   the dead-letter queue
  --outputs <file>         stack outputs (cdk deploy --outputs-file), with --dlq:
  --dlq <name>             intake | dispatch | delivery | async | tuning-async | connector (the DLQ
                           of the intake queue, of the dispatch queue, of EventBridge rule targets,
                           of Lambda async invocations, of the tuning loop's observe function, of the
                           optional connector's undelivered decisions)
  --stack <name>           stack in the outputs file (default: the only one, or Flowtune)

How
  --mode <mode>            auto (default) | move | resend | replay
                             auto: move for a DLQ of SQS queues, falling back to resend where the
                             endpoint has no message move tasks; replay otherwise
  --bus <name|arn>         event bus for replay (default, from the outputs: a producer's event
                           goes to InboundEventBusName, so the ingress pseudonymises it again;
                           Flowtune's own events to EventBusName)
  --rate <n>               move: messages per second (default: as fast as SQS allows)
  --max <n>                resend/replay: stop after n messages (default: all)
  --dry-run                list what would be redriven; change nothing
  --no-wait                move: start the task and return without waiting for it

Where
  --endpoint-url <url>     LocalStack / MiniStack endpoint (default: AWS, or AWS_ENDPOINT_URL)
  --region <region>        (default: AWS_REGION)
  -h, --help               this text

Examples
  npm run redrive -- --outputs .build/deployed/stack-outputs.json --dlq intake
  npm run redrive -- --outputs cdk-outputs.json --dlq delivery --dry-run
  npm run redrive -- --queue https://sqs.eu-west-1.amazonaws.com/111122223333/Flowtune-IntakeDLQ --rate 10
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 npm run redrive -- --outputs out.json --dlq dispatch --mode resend
`;

/** Stack outputs of lib/flowtune-stack.ts naming each dead-letter queue. */
export const DLQ_OUTPUTS = {
  intake: 'IntakeQueueDeadLetterQueueUrl',
  dispatch: 'DispatchQueueDeadLetterQueueUrl',
  delivery: 'DeliveryDeadLetterQueueUrl',
  async: 'AsyncFailureQueueUrl',
  'tuning-async': 'TuningAsyncFailureQueueUrl',
  connector: 'ConnectorDeadLetterQueueUrl',
} as const;

export const RedriveOptions = z
  .object({
    queue: z.string().min(1).optional(),
    outputs: z.string().min(1).optional(),
    dlq: z.enum(Object.keys(DLQ_OUTPUTS) as [keyof typeof DLQ_OUTPUTS]).optional(),
    stack: z.string().min(1).optional(),
    mode: z.enum(['auto', 'move', 'resend', 'replay']).default('auto'),
    bus: z.string().min(1).optional(),
    rate: z.coerce.number().int().min(1).max(500).optional(),
    max: z.coerce.number().int().min(1).optional(),
    dryRun: z.boolean().default(false),
    wait: z.boolean().default(true),
    endpointUrl: z.url().optional(),
    region: z.string().min(1).optional(),
  })
  .refine(
    (options) => options.queue !== undefined || (options.outputs !== undefined && options.dlq !== undefined),
    {
      message:
        'name the queue: --queue <url|arn|name>, or --outputs <file> with --dlq <intake|dispatch|delivery|async|tuning-async|connector>',
      path: ['queue'],
    },
  );
export type RedriveOptions = z.infer<typeof RedriveOptions>;

/** The part of an AWS SDK v3 client the redrive uses, so tests can pass a fake. */
export interface Sender {
  send(command: object): Promise<unknown>;
}

export interface RedriveDeps {
  readonly sqs: Sender;
  readonly events: Sender;
  readonly log: (line: string) => void;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RedriveReport {
  readonly queueUrl: string;
  readonly mode: 'move' | 'resend' | 'replay';
  readonly redriven: number;
  readonly failed: number;
  readonly dryRun: boolean;
}

const QueueAttributes = z.object({ Attributes: z.record(z.string(), z.string()).optional() });
const SourceQueues = z.object({ queueUrls: z.array(z.string()).optional() });
const MoveTasks = z.object({
  Results: z
    .array(
      z.object({
        Status: z.string().optional(),
        ApproximateNumberOfMessagesMoved: z.number().optional(),
        ApproximateNumberOfMessagesToMove: z.number().optional(),
        FailureReason: z.string().optional(),
      }),
    )
    .optional(),
});
const Received = z.object({ Messages: z.array(z.custom<Message>()).optional() });
const QueueUrl = z.object({ QueueUrl: z.string() });
const QueueList = z.object({ QueueUrls: z.array(z.string()).optional(), NextToken: z.string().optional() });
const RedrivePolicy = z.object({ deadLetterTargetArn: z.string() });
const PutEventsResult = z.object({
  FailedEntryCount: z.number().optional(),
  Entries: z
    .array(z.object({ ErrorCode: z.string().optional(), ErrorMessage: z.string().optional() }))
    .optional(),
});
/** An EventBridge event as rule DLQs and Lambda async DLQs keep it (the message body). */
const DeadLetteredEvent = z.object({
  source: z.string().min(1),
  'detail-type': z.string().min(1),
  detail: z.unknown(),
  resources: z.array(z.string()).optional(),
});
const StackOutputs = z.record(z.string(), z.record(z.string(), z.string()));

/** Errors that mean "this endpoint does not have that action" (emulators): use a fallback. */
const UNSUPPORTED =
  /UnsupportedOperation|InvalidAction|UnknownOperation|NotImplemented|not (yet )?(implemented|supported)|is not valid for this endpoint/i;

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name} ${error.message}` : String(error);

/**
 * The queues whose redrive policy names this DLQ: ListDeadLetterSourceQueues where the endpoint
 * has it, otherwise every queue's RedrivePolicy is read (emulators without that action).
 */
async function deadLetterSources(queueUrl: string, queueArn: string, deps: RedriveDeps): Promise<string[]> {
  try {
    return (
      SourceQueues.parse(await deps.sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: queueUrl })))
        .queueUrls ?? []
    );
  } catch (error) {
    if (!UNSUPPORTED.test(describe(error))) throw error;
  }
  const sources: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = QueueList.parse(
      await deps.sqs.send(
        new ListQueuesCommand({
          MaxResults: 1000,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      ),
    );
    for (const url of page.QueueUrls ?? []) {
      const policy = QueueAttributes.parse(
        await deps.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
        ),
      ).Attributes?.RedrivePolicy;
      const target = RedrivePolicy.safeParse(safeJson(policy));
      if (target.success && target.data.deadLetterTargetArn === queueArn) sources.push(url);
    }
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return sources;
}

/**
 * Redrives one dead-letter queue; returns what it did.
 *
 * @example
 * await redrive(RedriveOptions.parse({ queue: dlqUrl }), { sqs: new SQSClient({}), events: new EventBridgeClient({}), log: console.log });
 */
export async function redrive(options: RedriveOptions, deps: RedriveDeps): Promise<RedriveReport> {
  const outputs = options.outputs === undefined ? undefined : readOutputs(options.outputs, options.stack);
  const queueUrl = await resolveQueueUrl(options, outputs, deps);
  const attributes = QueueAttributes.parse(
    await deps.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages', 'FifoQueue'],
      }),
    ),
  ).Attributes;
  const queueArn = attributes?.QueueArn ?? '';
  const waiting = Number(attributes?.ApproximateNumberOfMessages ?? 0);
  const sources = await deadLetterSources(queueUrl, queueArn, deps);
  deps.log(
    `${queueUrl}: about ${waiting} message(s) waiting; ${sources.length === 0 ? 'no SQS source queue (EventBridge or Lambda dead letters)' : `dead-letter queue of ${sources.join(', ')}`}`,
  );

  const mode = options.mode !== 'auto' ? options.mode : sources.length > 0 ? 'move' : 'replay';
  if ((mode === 'move' || mode === 'resend') && sources.length === 0) {
    throw new Error(
      `${queueUrl} is not the dead-letter queue of any SQS queue: use --mode replay (with --bus).`,
    );
  }
  if (mode === 'replay') {
    const flowtuneBus = options.bus ?? outputs?.EventBusName;
    if (flowtuneBus === undefined)
      throw new Error('replay needs the event bus: --bus <name|arn>, or --outputs with EventBusName.');
    // A producer's event (a failed ingress, say) may be raw: it goes back through the ingress.
    const inboundBus = options.bus ?? outputs?.InboundEventBusName ?? flowtuneBus;
    return replay(
      queueUrl,
      (source) => (source === FLOWTUNE_SOURCE ? flowtuneBus : inboundBus),
      options,
      deps,
    );
  }
  if (mode === 'move') {
    if (options.dryRun) {
      deps.log(`dry run: would start a message move task from ${queueArn} back to its source queue(s)`);
      return { queueUrl, mode, redriven: 0, failed: 0, dryRun: true };
    }
    try {
      return await move(queueUrl, queueArn, options, deps);
    } catch (error) {
      const text = describe(error);
      if (options.mode === 'move' || !UNSUPPORTED.test(text)) throw error;
      deps.log(`this endpoint has no message move tasks (${text}); resending instead`);
    }
  }
  return resend(queueUrl, sources, attributes?.FifoQueue === 'true', options, deps);
}

async function move(
  queueUrl: string,
  queueArn: string,
  options: RedriveOptions,
  deps: RedriveDeps,
): Promise<RedriveReport> {
  await deps.sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: queueArn,
      ...(options.rate === undefined ? {} : { MaxNumberOfMessagesPerSecond: options.rate }),
    }),
  );
  deps.log(`message move task started from ${queueArn} to its source queue(s)`);
  if (!options.wait) return { queueUrl, mode: 'move', redriven: 0, failed: 0, dryRun: false };
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  for (;;) {
    const task = MoveTasks.parse(
      await deps.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: queueArn, MaxResults: 1 })),
    ).Results?.[0];
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    if (task?.Status === 'COMPLETED') {
      deps.log(`moved ${moved} message(s)`);
      return { queueUrl, mode: 'move', redriven: moved, failed: 0, dryRun: false };
    }
    if (task?.Status === 'FAILED' || task?.Status === 'CANCELLED') {
      throw new Error(
        `message move task ${task.Status.toLowerCase()} after ${moved} message(s): ${task.FailureReason ?? 'no reason given'}`,
      );
    }
    deps.log(`moving: ${moved} of ${task?.ApproximateNumberOfMessagesToMove ?? '?'}`);
    await sleep(1_000);
  }
}

/** Receives up to 10 messages, hidden long enough to be handled, with their attributes. */
async function receive(queueUrl: string, deps: RedriveDeps): Promise<Message[]> {
  return (
    Received.parse(
      await deps.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 60,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      ),
    ).Messages ?? []
  );
}

async function resend(
  queueUrl: string,
  sources: readonly string[],
  fifo: boolean,
  options: RedriveOptions,
  deps: RedriveDeps,
): Promise<RedriveReport> {
  const [target, ...others] = sources;
  if (target === undefined || others.length > 0) {
    throw new Error(
      `resend needs exactly one source queue; ${queueUrl} has ${sources.length}: use --mode move.`,
    );
  }
  return drain(queueUrl, 'resend', options, deps, async (message) => {
    if (options.dryRun) return;
    const group = message.Attributes?.MessageGroupId;
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: target,
        MessageBody: message.Body ?? '',
        ...(fifo
          ? {
              MessageGroupId: group ?? 'redrive',
              // A new id: the original is still in the five-minute deduplication window if recent.
              MessageDeduplicationId: `${message.MessageId ?? 'message'}-redrive-${Date.now()}`,
            }
          : {}),
      }),
    );
  });
}

async function replay(
  queueUrl: string,
  busFor: (source: string) => string,
  options: RedriveOptions,
  deps: RedriveDeps,
): Promise<RedriveReport> {
  return drain(queueUrl, 'replay', options, deps, async (message) => {
    const parsed = DeadLetteredEvent.safeParse(safeJson(message.Body));
    if (!parsed.success) {
      throw new Error(
        `message ${message.MessageId} is not an EventBridge event; left in the queue for a person`,
      );
    }
    const event = parsed.data;
    if (options.dryRun) {
      deps.log(`would replay ${event['detail-type']} from ${event.source} (message ${message.MessageId})`);
      return;
    }
    const entry: PutEventsRequestEntry = {
      EventBusName: busFor(event.source),
      Source: event.source,
      DetailType: event['detail-type'],
      Detail: JSON.stringify(event.detail ?? {}),
      ...(event.resources === undefined || event.resources.length === 0
        ? {}
        : { Resources: event.resources }),
    };
    const result = PutEventsResult.parse(await deps.events.send(new PutEventsCommand({ Entries: [entry] })));
    if ((result.FailedEntryCount ?? 0) > 0) {
      const failure = result.Entries?.[0];
      throw new Error(
        `the bus refused message ${message.MessageId}: ${failure?.ErrorCode} ${failure?.ErrorMessage}`,
      );
    }
  });
}

/**
 * Receives, handles and deletes messages until the queue is empty (or `--max`). A message whose
 * handling fails is left in the queue (it reappears after its visibility timeout) and counted.
 */
async function drain(
  queueUrl: string,
  mode: 'resend' | 'replay',
  options: RedriveOptions,
  deps: RedriveDeps,
  handle: (message: Message) => Promise<void>,
): Promise<RedriveReport> {
  let redriven = 0;
  let failed = 0;
  const seen = new Set<string>();
  for (;;) {
    const batch = (await receive(queueUrl, deps)).filter((message) => !seen.has(message.MessageId ?? ''));
    if (batch.length === 0) break;
    for (const message of batch) {
      seen.add(message.MessageId ?? '');
      if (options.max !== undefined && redriven >= options.max) break;
      try {
        await handle(message);
        if (!options.dryRun) {
          await deps.sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
        }
        redriven += 1;
      } catch (error) {
        failed += 1;
        deps.log(`not redriven: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (options.max !== undefined && redriven >= options.max) break;
  }
  deps.log(`${options.dryRun ? 'would redrive' : 'redriven'}: ${redriven}; failed: ${failed}`);
  return { queueUrl, mode, redriven, failed, dryRun: options.dryRun };
}

async function resolveQueueUrl(
  options: RedriveOptions,
  outputs: Record<string, string> | undefined,
  deps: RedriveDeps,
): Promise<string> {
  if (options.queue === undefined) {
    const key = DLQ_OUTPUTS[options.dlq ?? 'intake'];
    const url = outputs?.[key];
    if (url === undefined)
      throw new Error(`the outputs file has no ${key}; deploy the stack with --outputs-file.`);
    return url;
  }
  if (/^https?:\/\//.test(options.queue)) return options.queue;
  const arn = /^arn:[^:]+:sqs:[^:]*:(\d{12}):(.+)$/.exec(options.queue);
  const queueName = arn?.[2] ?? options.queue;
  return QueueUrl.parse(
    await deps.sqs.send(
      new GetQueueUrlCommand({
        QueueName: queueName,
        ...(arn?.[1] === undefined ? {} : { QueueOwnerAWSAccountId: arn[1] }),
      }),
    ),
  ).QueueUrl;
}

function readOutputs(file: string, stack: string | undefined): Record<string, string> {
  const all = StackOutputs.parse(JSON.parse(readFileSync(file, 'utf8')));
  const names = Object.keys(all);
  const chosen = stack ?? (names.length === 1 ? names[0] : 'Flowtune');
  const outputs = chosen === undefined ? undefined : all[chosen];
  if (outputs === undefined)
    throw new Error(`${file} has no stack "${chosen}"; it has ${names.join(', ') || 'none'} (--stack).`);
  return outputs;
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

/** Parses the command line; undefined when only help was asked for. */
export function parseCommandLine(argv: readonly string[]): RedriveOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      queue: { type: 'string' },
      outputs: { type: 'string' },
      dlq: { type: 'string' },
      stack: { type: 'string' },
      mode: { type: 'string' },
      bus: { type: 'string' },
      rate: { type: 'string' },
      max: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      'endpoint-url': { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return undefined;
  const parsed = RedriveOptions.safeParse({
    queue: values.queue,
    outputs: values.outputs,
    dlq: values.dlq,
    stack: values.stack,
    mode: values.mode,
    bus: values.bus,
    rate: values.rate,
    max: values.max,
    dryRun: values['dry-run'] ?? false,
    wait: values['no-wait'] !== true,
    endpointUrl: values['endpoint-url'] ?? process.env.AWS_ENDPOINT_URL,
    region: values.region,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.') || 'arguments'}: ${issue?.message ?? 'invalid'} (see --help)`);
  }
  return parsed.data;
}

async function main(): Promise<void> {
  let options: RedriveOptions | undefined;
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === undefined) {
    process.stdout.write(HELP);
    return;
  }
  const config = {
    ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
    ...(options.region === undefined ? {} : { region: options.region }),
  };
  const sqs = new SQSClient(config);
  const events = new EventBridgeClient(config);
  try {
    const report = await redrive(options, { sqs, events, log: (line) => process.stdout.write(`${line}\n`) });
    if (report.failed > 0) process.exitCode = 1;
  } catch (error) {
    process.stderr.write(`redrive failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    sqs.destroy();
    events.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
