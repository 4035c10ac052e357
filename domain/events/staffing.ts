import { z } from 'zod';
import { AgentId, IsoTimestamp, SchemaVersion } from './common';

/**
 * `StaffingRecommended` (source = `flowtune`): the allocation job proposes moving a cross-skilled
 * agent between queues, or offloading a routine category to automation, with the reasoning and
 * the numbers behind it. `decision` says whether Flowtune applied it itself (within the policy's
 * guardrails) or an operator must approve it.
 */

const QueueSlug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase queue slug');
const Fraction = z.number().min(0).max(1);

/** One queue's figures over the horizon, before and after the recommendation. */
export const QueueStaffingFigures = z.object({
  queueId: QueueSlug,
  forecastArrivalsPerHour: z.number().min(0),
  predictedHandlingSeconds: z.number().min(0),
  /** Servers (agent slots) the busiest interval of the horizon needs to meet the target. */
  requiredServers: z.number().int().min(0),
  onShiftServersBefore: z.number().int().min(0),
  onShiftServersAfter: z.number().int().min(0),
  targetServiceLevel: Fraction,
  targetSeconds: z.number().min(0),
  /** Arrival-weighted expected fraction answered within the target, over the horizon. */
  expectedServiceLevelBefore: Fraction,
  expectedServiceLevelAfter: Fraction,
  model: z.enum(['erlang-c', 'erlang-a']),
});

const Common = {
  schemaVersion: SchemaVersion,
  recommendationId: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/),
  /** Recommendations of one allocation run share it; later ones assume the earlier ones are applied. */
  runId: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/),
  decision: z.enum(['auto-applied', 'approval-required']),
  /** Why, in plain language, with the figures a person needs to agree or not. */
  reason: z.string().min(1).max(2000),
  /** Which guardrail sent it for approval, when one did. */
  approvalReason: z.string().max(500).optional(),
  queues: z.array(QueueStaffingFigures).min(1).max(10),
  /** Net arrivals per hour answered within target gained across the queues involved. */
  expectedGainPerHour: z.number(),
  /** Recent WAPE of the forecasts behind it (0..), when tracked: how far to trust the numbers. */
  forecastWape: z.number().min(0).optional(),
  /** Confidence of the handling-time predictions behind it (0..1). */
  confidence: Fraction,
  policyVersion: z.string().min(1),
  horizonMinutes: z.number().int().min(1),
  recommendedAt: IsoTimestamp,
  validUntil: IsoTimestamp,
};

/** Move a cross-skilled agent from one queue to another for the horizon. */
export const StaffingMoveRecommended = z.object({
  ...Common,
  kind: z.literal('move'),
  agentId: AgentId,
  fromQueue: QueueSlug,
  toQueue: QueueSlug,
  /** The agent's lowest proficiency among the receiving queue's required skills. */
  proficiency: z.number().int().min(1).max(5),
  shiftEndsAt: IsoTimestamp.optional(),
});

/** Send a share of a routine category of a queue to automation for the horizon. */
export const StaffingOffloadRecommended = z.object({
  ...Common,
  kind: z.literal('offload'),
  queueId: QueueSlug,
  category: z.string().min(1).max(64),
  /** Fraction of the queue's arrivals expected to go to automation. */
  shareOfQueue: Fraction,
});

export const StaffingRecommended = z.discriminatedUnion('kind', [
  StaffingMoveRecommended,
  StaffingOffloadRecommended,
]);

export type QueueStaffingFigures = z.infer<typeof QueueStaffingFigures>;
export type StaffingMoveRecommended = z.infer<typeof StaffingMoveRecommended>;
export type StaffingOffloadRecommended = z.infer<typeof StaffingOffloadRecommended>;
export type StaffingRecommended = z.infer<typeof StaffingRecommended>;
