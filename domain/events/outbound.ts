import { z } from 'zod';
import { AgentId, IsoTimestamp, ItemId, SchemaVersion } from './common';

/** One cost term of a routing decision, so a person can see why an agent won. */
export const CostTerm = z.object({
  name: z.string(),
  value: z.number(),
});

export const Explanation = z.object({
  summary: z.string().describe('plain-language reason for the decision'),
  chosen: z.object({ agentId: AgentId, cost: z.number(), terms: z.array(CostTerm) }),
  runnerUp: z.object({ agentId: AgentId, cost: z.number(), terms: z.array(CostTerm) }).optional(),
  candidatesConsidered: z.number().int().min(0),
});

export const ExperimentArm = z.enum(['control', 'treatment', 'none']);

/** Flowtune decided who does the work. */
export const WorkItemRouted = z.object({
  schemaVersion: SchemaVersion,
  id: ItemId,
  assignee: z.object({ agentId: AgentId, kind: z.enum(['person', 'team', 'automation']) }),
  path: z.enum(['automation', 'routing', 'human-review']),
  attempt: z.number().int().min(1),
  predictedHandlingSeconds: z.number().min(0),
  explanation: Explanation,
  policyVersion: z.string(),
  modelVersion: z.string(),
  experimentArm: ExperimentArm,
  routedAt: IsoTimestamp,
});

/** An item missed its completion window too often and now needs a person. */
export const WorkItemEscalated = z.object({
  schemaVersion: SchemaVersion,
  id: ItemId,
  reason: z.string(),
  attempts: z.number().int().min(1),
  lastAssignee: AgentId.optional(),
  escalatedAt: IsoTimestamp,
});

/** Flowtune refused an input; the field and reason say what to fix. */
export const WorkItemRejected = z.object({
  schemaVersion: SchemaVersion,
  id: z.string().describe('the item id as received; may itself be the invalid field'),
  detailType: z.string(),
  field: z.string().describe('dotted path of the first invalid field, or "(event)"'),
  reason: z.string(),
  issues: z.array(z.object({ field: z.string(), reason: z.string() })),
  rejectedAt: IsoTimestamp,
});

export type Explanation = z.infer<typeof Explanation>;
export type CostTerm = z.infer<typeof CostTerm>;
export type WorkItemRouted = z.infer<typeof WorkItemRouted>;
export type WorkItemEscalated = z.infer<typeof WorkItemEscalated>;
export type WorkItemRejected = z.infer<typeof WorkItemRejected>;
