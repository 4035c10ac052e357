import { z } from 'zod';
import type { HandlingFeatures, HandlingStats } from '../../domain/model';
import { CompletionResult } from '../../domain/process';
import { AUDIT_RETENTION_DAYS, STAGES } from '../../lib/definitions/tables';
import type { AuditKind, AuditRecord, InstanceRecord, StatsKey } from './ports';

/**
 * Where things live in the three tables, and the zod schemas of what is stored. Reading a
 * stored item is an edge too: a record written by an older version or by hand fails here with
 * the field named, not three calls later.
 *
 * Features (pk, sk):
 *   AGENT  / <agentId>                         status, kind, capacity, activeCount, skills, idleSince, ...
 *   STATS  / GLOBAL | CAT#<c> | CATAGENT#<c>#<a> count, mean, m2 (seconds, Welford), version
 *   POLICY / ACTIVE                            a Policy document
 * Instances (itemId): see InstanceRecord.  Audit (itemId, recordKey): see AuditRecord.
 */

export const AGENT_PK = 'AGENT';
export const STATS_PK = 'STATS';
export const POLICY_PK = 'POLICY';
export const ACTIVE_POLICY_SK = 'ACTIVE';

/** Instances outlive the longest execution (30 days) so a finished item's status stays readable. */
export const INSTANCE_RETENTION_DAYS = 45;

const DAY_SECONDS = 24 * 60 * 60;

export function statsSortKey(key: StatsKey): string {
  switch (key.scope) {
    case 'global':
      return 'GLOBAL';
    case 'category':
      return `CAT#${key.category}`;
    case 'category-agent':
      return `CATAGENT#${key.category}#${key.agentId}`;
  }
}

/** Where a stats sort key belongs in HandlingFeatures; undefined for an unknown shape. */
export function parseStatsSortKey(sk: string): StatsKey | undefined {
  if (sk === 'GLOBAL') return { scope: 'global' };
  const [prefix, category, ...rest] = sk.split('#');
  if (prefix === 'CAT' && category !== undefined && rest.length === 0) return { scope: 'category', category };
  if (prefix === 'CATAGENT' && category !== undefined && rest.length > 0) {
    return { scope: 'category-agent', category, agentId: rest.join('#') };
  }
  return undefined;
}

export const StoredAgent = z.object({
  sk: z.string().min(1),
  status: z.enum(['available', 'busy', 'offline']),
  kind: z.enum(['person', 'team', 'automation']).default('person'),
  capacity: z.number().int().min(0),
  activeCount: z.number().int().min(0).default(0),
  skills: z.array(z.object({ skill: z.string(), proficiency: z.number() })).default([]),
  idleSince: z.number().default(0),
  shiftEndsAt: z.number().optional(),
  changedAt: z.number().optional(),
  updatedAt: z.number().optional(),
});

export const StoredStats = z.object({
  sk: z.string(),
  count: z.number().int().min(0),
  mean: z.number(),
  m2: z.number(),
  version: z.number().int().min(0).default(0),
});

const SkillRequirementSchema = z.object({ skill: z.string(), minProficiency: z.number() });

export const StoredInstance = z.object({
  itemId: z.string().min(1),
  stage: z.enum(STAGES),
  stageEnteredAt: z.number(),
  category: z.string().default(''),
  priority: z.number().default(3),
  requiredSkills: z.array(SkillRequirementSchema).default([]),
  createdAt: z.number().default(0),
  slaDueAt: z.number().default(0),
  attempt: z.number().int().min(1).default(1),
  excludedAgents: z.array(z.string()).default([]),
  customerTier: z.string().optional(),
  enqueuedAt: z.number().optional(),
  assignee: z.string().optional(),
  taskToken: z.string().optional(),
  waitingFor: z.enum(['assignment', 'completion', 'human-review', 'exception']).optional(),
  earlyCompletion: CompletionResult.optional(),
  awaitingCreationSince: z.number().optional(),
  expiresAt: z.number().default(0),
  path: z.enum(['automation', 'routing', 'human-review']).optional(),
  predictedHandlingSeconds: z.number().optional(),
  modelVersion: z.string().optional(),
  policyVersion: z.string().optional(),
  capacityHeldBy: z.string().optional(),
  lastAssignmentToken: z.string().optional(),
  assignedAt: z.number().optional(),
  completionReceivedAt: z.number().optional(),
  pendingHandover: z
    .object({
      taskToken: z.string(),
      completion: CompletionResult,
      since: z.number(),
      eventId: z.string().optional(),
    })
    .optional(),
  confidence: z.number().optional(),
  cancellation: z.object({ reason: z.string(), cancelledAt: z.string() }).optional(),
  outcomeRecordedAt: z.number().optional(),
  tenant: z.string().optional(),
  instanceAttempt: z.number().int().min(1).optional(),
});

/** The record a park creates when none exists: what DynamoDB holds after an upsert of the wait alone. */
export function bareInstance(itemId: string, at: number): InstanceRecord {
  return toInstanceRecord({
    itemId,
    stage: 'VALIDATING',
    stageEnteredAt: at,
    expiresAt: instanceExpiresAt(at),
  });
}

/** Parses a stored instance item (extra attributes ignored). */
export function toInstanceRecord(item: Record<string, unknown>): InstanceRecord {
  return StoredInstance.parse(item);
}

export const StoredAuditRecord = z.object({
  itemId: z.string(),
  recordKey: z.string(),
  kind: z.string(),
  at: z.string(),
  actor: z.string(),
  inputs: z.string().optional(),
  details: z.string().optional(),
  policyVersion: z.string().optional(),
  modelVersion: z.string().optional(),
  attempt: z.number().optional(),
  expiresAt: z.number(),
});

/** Epoch seconds at which an audit record written at `at` (ms) expires. */
export function auditExpiresAt(at: number): number {
  return Math.floor(at / 1000) + AUDIT_RETENTION_DAYS * DAY_SECONDS;
}

/** Epoch seconds at which an instance record written at `at` (ms) expires. */
export function instanceExpiresAt(at: number): number {
  return Math.floor(at / 1000) + INSTANCE_RETENTION_DAYS * DAY_SECONDS;
}

/**
 * `<ISO time>#<KIND>[#attempt][#<event id>]`: sorts in time order; the same fact written twice
 * gets the same key, and two events of one item in the same millisecond (EventBridge's `time` has
 * whole seconds) get two keys. `#` in an event id is replaced so the segments stay readable.
 */
export function auditRecordKey(at: number, kind: AuditKind, attempt?: number, eventId?: string): string {
  const base = `${new Date(at).toISOString()}#${kind}`;
  const withAttempt = attempt === undefined ? base : `${base}#${attempt}`;
  return eventId === undefined ? withAttempt : `${withAttempt}#${eventId.replaceAll('#', '_').slice(0, 200)}`;
}

/** The key of the `sequence`-th different record appended under one base key (sequence ≥ 2). */
export function sequencedRecordKey(recordKey: string, sequence: number): string {
  return `${recordKey}#s${sequence}`;
}

/** Audit item id for an event that carried no usable item id. */
export function unidentifiedItemId(eventId: string): string {
  return `unidentified#${eventId}`;
}

/**
 * Builds an audit record. Use the time of the fact (event time, routedAt, completedAt), not the
 * handler's clock, where one exists: then a retried write lands on the same key.
 *
 * @example
 * auditRecord({ itemId: 'T-1', kind: 'SCORED', at: Date.now(), actor: 'flowtune:score', details: { path } });
 */
export function auditRecord(input: {
  readonly itemId: string;
  readonly kind: AuditKind;
  readonly at: number;
  readonly actor: string;
  readonly attempt?: number;
  /** The event that caused the record, when one did: part of the key, so every event keeps its record. */
  readonly eventId?: string;
  readonly inputs?: unknown;
  readonly details?: unknown;
  readonly policyVersion?: string;
  readonly modelVersion?: string;
}): AuditRecord {
  return {
    itemId: input.itemId,
    recordKey: auditRecordKey(input.at, input.kind, input.attempt, input.eventId),
    kind: input.kind,
    at: new Date(input.at).toISOString(),
    actor: input.actor,
    ...(input.inputs === undefined ? {} : { inputs: JSON.stringify(input.inputs) }),
    ...(input.details === undefined ? {} : { details: JSON.stringify(input.details) }),
    ...(input.policyVersion === undefined ? {} : { policyVersion: input.policyVersion }),
    ...(input.modelVersion === undefined ? {} : { modelVersion: input.modelVersion }),
    ...(input.attempt === undefined ? {} : { attempt: input.attempt }),
    expiresAt: auditExpiresAt(input.at),
  };
}

/** Parses an ISO timestamp to epoch ms; NaN-safe callers validate with zod first. */
export function toEpochMs(iso: string): number {
  return new Date(iso).getTime();
}

/** Folds stats rows (pk STATS) into the scorer's HandlingFeatures; unknown sort keys are skipped. */
export function toHandlingFeatures(
  rows: readonly {
    readonly sk: string;
    readonly count: number;
    readonly mean: number;
    readonly m2: number;
  }[],
  empty: HandlingFeatures = { global: { count: 0, mean: 0, m2: 0 }, byCategory: {}, byCategoryAgent: {} },
): HandlingFeatures {
  let global = empty.global;
  const byCategory: Record<string, HandlingStats> = { ...empty.byCategory };
  const byCategoryAgent: Record<string, HandlingStats> = { ...empty.byCategoryAgent };
  for (const row of rows) {
    const key = parseStatsSortKey(row.sk);
    const stats = { count: row.count, mean: row.mean, m2: row.m2 };
    if (key?.scope === 'global') global = stats;
    else if (key?.scope === 'category') byCategory[key.category] = stats;
    else if (key?.scope === 'category-agent') byCategoryAgent[`${key.category}#${key.agentId}`] = stats;
  }
  return { global, byCategory, byCategoryAgent };
}
