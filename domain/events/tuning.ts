import { z } from 'zod';
import { IsoTimestamp, SchemaVersion } from './common';

/**
 * Outbound events of the tuning loop (source = `flowtune`). `DriftDetected`: something the
 * model or the plan relies on changed, with the test that says so and what Flowtune does about
 * it. `PolicyChanged`: a new decision-policy version became active, why, and on whose authority.
 */

const Id = z.string().regex(/^[A-Za-z0-9_.:#+-]{1,160}$/, 'must be 1-160 of letters, digits or "_.:#+-"');

/** Flat evidence: numbers and short strings a dashboard or a person can read without the code. */
const Evidence = z.record(z.string().max(64), z.union([z.number(), z.string().max(500), z.boolean()]));

export const DriftKind = z.enum(['arrival-rate', 'category-mix', 'residual', 'confidence', 'capacity']);

export const DriftAction = z.enum([
  /** The category's handling model restarts from the observations since the change point. */
  're-estimate-model',
  /** The baseline the test compares with becomes the recent window. */
  'rebaseline',
  /** Standby people are called in (within guardrails) or proposed for approval. */
  'call-standby',
  /** Nothing automatic: a person should look. */
  'notify',
]);

export const DriftDetected = z.object({
  schemaVersion: SchemaVersion,
  driftId: Id,
  kind: DriftKind,
  /** The category concerned, for per-category tests. */
  category: z.string().min(1).max(64).optional(),
  direction: z.enum(['up', 'down', 'shift']),
  /** The test statistic and the value it had to exceed. */
  statistic: z.number(),
  threshold: z.number(),
  /** Estimated start of the change. */
  changeStartedAt: IsoTimestamp.optional(),
  windowStart: IsoTimestamp,
  windowEnd: IsoTimestamp,
  summary: z.string().min(1).max(1000),
  evidence: Evidence,
  actions: z.array(DriftAction).min(1),
  policyVersion: z.string().min(1),
  modelVersion: z.string().min(1),
  detectedAt: IsoTimestamp,
});

export const PolicyChangeKindSchema = z.enum([
  'threshold-adapted',
  'promoted',
  'rolled-back',
  'approved',
  'rejected',
  'manual',
  'offload-applied',
  'offload-lapsed',
]);

export const PolicyChanged = z.object({
  schemaVersion: SchemaVersion,
  policyVersion: z.string().min(1),
  previousVersion: z.string().min(1),
  kind: PolicyChangeKindSchema,
  /** Field paths that differ from the previous version. */
  changes: z.array(z.string().max(128)).max(100),
  reason: z.string().min(1).max(2000),
  /** `flowtune:tuning` or the person whose decision it was. */
  actor: z.string().min(1).max(256),
  approval: z.enum(['automatic', 'approved']),
  approvedBy: z.string().min(1).max(256).optional(),
  experimentId: z.string().min(1).max(64).optional(),
  evidence: Evidence.default({}),
  changedAt: IsoTimestamp,
});

export type DriftKind = z.infer<typeof DriftKind>;
export type DriftAction = z.infer<typeof DriftAction>;
export type DriftDetected = z.infer<typeof DriftDetected>;
export type PolicyChanged = z.infer<typeof PolicyChanged>;
