import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { AgentState } from '../../domain/model';
import type { ValidatedItem } from '../../domain/process';
import { PROJECT_ROOT } from '../../lib/definitions/state-machines';

export type EventFixture = Record<string, unknown> & { detail: Record<string, unknown> };

/** A JSON fixture from test/events/<source>/<name>.json, parsed fresh on every call. */
export function loadEvent(path: string): EventFixture {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'events', `${path}.json`), 'utf8'));
}

/** The fixture with its detail patched (a field set to undefined is removed). */
export function withDetail(envelope: EventFixture, patch: Record<string, unknown>): EventFixture {
  const detail: Record<string, unknown> = { ...envelope.detail };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete detail[key];
    else detail[key] = value;
  }
  return { ...envelope, detail };
}

let messageCounter = 0;

/** An SQS record as Lambda receives it, with the body serialised unless it is a string already. */
export function sqsRecord(body: unknown, options: { fifo?: boolean; sentAt?: number } = {}): SQSRecord {
  messageCounter += 1;
  const messageId = `msg-${messageCounter.toString().padStart(4, '0')}`;
  const sentAt = String(options.sentAt ?? Date.parse('2026-11-20T09:00:01Z'));
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: sentAt,
      SenderId: 'AROAEXAMPLE',
      ApproximateFirstReceiveTimestamp: sentAt,
      ...(options.fifo
        ? { MessageGroupId: 'dispatch-rounds', MessageDeduplicationId: messageId, SequenceNumber: '1' }
        : {}),
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: options.fifo
      ? 'arn:aws:sqs:eu-west-1:111122223333:DispatchQueue.fifo'
      : 'arn:aws:sqs:eu-west-1:111122223333:IntakeQueue',
    awsRegion: 'eu-west-1',
  };
}

export function sqsEvent(bodies: readonly unknown[], options: { fifo?: boolean } = {}): SQSEvent {
  return { Records: bodies.map((body) => sqsRecord(body, options)) };
}

export const T0 = Date.parse('2026-11-20T09:00:00.000Z');
/**
 * A clock reading after every fixture's timestamps (the latest is 10:15): handlers bound producers'
 * times to at most 15 minutes ahead of their clock, so tests replaying the fixtures run at this time.
 */
export const AFTER_FIXTURES = Date.parse('2026-11-20T10:20:00.000Z');
export const MINUTE = 60_000;

export function agent(overrides: Partial<AgentState> & { agentId: string }): AgentState {
  return {
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 3 }],
    capacity: 1,
    activeCount: 0,
    idleSince: T0 - 30 * MINUTE,
    ...overrides,
  };
}

export function validatedItem(overrides: Partial<ValidatedItem> = {}): ValidatedItem {
  return {
    id: 'HD-10428',
    kind: 'ticket',
    channel: 'email',
    category: 'billing',
    requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
    priority: 3,
    customerTier: 'gold',
    createdAt: '2026-11-20T08:59:58.000Z',
    slaDueAt: '2026-11-20T12:59:58.000Z',
    customerRef: 'psn_example',
    attributes: { subject: 'Charged twice for November' },
    ...overrides,
  };
}
