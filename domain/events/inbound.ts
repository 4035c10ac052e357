import { z } from 'zod';
/*
 * Every inbound schema is forward compatible (FORWARD_COMPATIBILITY_RULE): z.object's default
 * strips fields it does not name instead of rejecting them, so a producer that adds a field keeps
 * working. Dropping rather than keeping them (passthrough) means an unknown field can never reach
 * the execution's decisions, the audit trail or a pseudonymiser that does not know it is personal.
 */
import {
  AgentId,
  Attributes,
  CustomerTier,
  InboundSchemaVersion,
  IsoTimestamp,
  ItemId,
  Priority,
  Skill,
  SkillRequirement,
  SkillWithProficiency,
  SlaClass,
  Tenant,
  WorkItemKind,
} from './common';

/** Each skill at most once: two requirements of one skill would be merged silently otherwise. */
function uniqueSkills<T extends { readonly skill: string }>(list: readonly T[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((entry, index) => {
    if (seen.has(entry.skill)) {
      ctx.addIssue({
        code: 'custom',
        path: [index, 'skill'],
        message: `skill "${entry.skill}" is listed twice; give each skill once (with its highest proficiency)`,
      });
    }
    seen.add(entry.skill);
  });
}

/** A SaaS system has a new piece of work for Flowtune to route. */
export const WorkItemCreated = z
  .object({
    schemaVersion: InboundSchemaVersion.default('1'),
    id: ItemId,
    kind: WorkItemKind,
    channel: z.string().min(1).max(32),
    category: Skill.describe('the queue / category slug, e.g. "billing"'),
    requiredSkills: z.array(SkillRequirement).max(10).superRefine(uniqueSkills).default([]),
    priority: Priority.default(3),
    customerTier: CustomerTier.default('standard'),
    slaClass: SlaClass.optional(),
    slaDueAt: IsoTimestamp.optional(),
    createdAt: IsoTimestamp,
    customerId: z.string().min(1).max(256).optional().describe('personal data: pseudonymised before storage'),
    attributes: Attributes.default({}),
    tenant: Tenant.optional(),
  })
  .refine((item) => item.slaClass !== undefined || item.slaDueAt !== undefined, {
    message: 'either slaClass or slaDueAt is required',
    path: ['slaClass'],
  });

export const CompletionOutcome = z.enum(['resolved', 'escalated', 'rejected', 'converted', 'abandoned']);

/** The executing system finished (or gave up on) an item. */
export const WorkItemCompleted = z.object({
  schemaVersion: InboundSchemaVersion.default('1'),
  id: ItemId,
  outcome: CompletionOutcome,
  handledBy: AgentId,
  startedAt: IsoTimestamp.optional(),
  completedAt: IsoTimestamp,
  quality: z
    .object({
      reopened: z.boolean().default(false),
      firstTimeResolution: z.boolean().default(true),
      rework: z.boolean().default(false),
    })
    .default({ reopened: false, firstTimeResolution: true, rework: false }),
  tenant: Tenant.optional(),
});

/** The producing system withdrew an item; its instance stops and frees any capacity it held. */
export const WorkItemCancelled = z.object({
  schemaVersion: InboundSchemaVersion.default('1'),
  id: ItemId,
  reason: z.string().min(1).max(512),
  cancelledAt: IsoTimestamp,
  tenant: Tenant.optional(),
});

export const AgentStatus = z.enum(['available', 'busy', 'offline']);

/** An agent (person, team or automation) came online, changed capacity or skills, or left. */
export const AgentStatusChanged = z.object({
  schemaVersion: InboundSchemaVersion.default('1'),
  agentId: AgentId,
  status: AgentStatus,
  capacity: z.number().int().min(0).max(50).describe('concurrent items the agent can hold'),
  skills: z.array(SkillWithProficiency).max(50).superRefine(uniqueSkills),
  shiftEndsAt: IsoTimestamp.optional(),
  changedAt: IsoTimestamp,
  kind: z.enum(['person', 'team', 'automation']).default('person'),
  tenant: Tenant.optional(),
});

export type WorkItemCreated = z.infer<typeof WorkItemCreated>;
export type WorkItemCompleted = z.infer<typeof WorkItemCompleted>;
export type WorkItemCancelled = z.infer<typeof WorkItemCancelled>;
export type AgentStatusChanged = z.infer<typeof AgentStatusChanged>;
export type AgentStatus = z.infer<typeof AgentStatus>;
