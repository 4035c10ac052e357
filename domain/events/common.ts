import { z } from 'zod';

/**
 * Item ids become Step Functions execution names, so they are restricted to the characters
 * execution names accept (1–80 of letters, digits, `-`, `_`). Producers with other id
 * shapes map them before emitting; the rejection says so.
 */
export const ItemId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be 1-80 characters of letters, digits, "-" or "_"');

export const AgentId = z
  .string()
  .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'must be 1-128 characters of letters, digits or "_.:@-"');

export const IsoTimestamp = z.iso.datetime({ offset: true });

export const Skill = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase skill slug');

/** Proficiency 1 (learning) … 5 (expert), as contact-centre skill matrices grade it. */
export const Proficiency = z.number().int().min(1).max(5);

export const SkillRequirement = z.object({
  skill: Skill,
  minProficiency: Proficiency.default(1),
});

export const SkillWithProficiency = z.object({
  skill: Skill,
  proficiency: Proficiency,
});

export const Priority = z.number().int().min(1).max(5).describe('1 = lowest, 5 = most urgent');

export const SlaClass = z.enum(['P1', 'P2', 'P3', 'P4']);

/** Target completion time, in seconds from creation, for each SLA class when no due time is given. */
export const SLA_CLASS_TARGET_SECONDS: Readonly<Record<z.infer<typeof SlaClass>, number>> = {
  P1: 60 * 60,
  P2: 4 * 60 * 60,
  P3: 24 * 60 * 60,
  P4: 72 * 60 * 60,
};

export const CustomerTier = z.enum(['standard', 'silver', 'gold', 'platinum']);

export const WorkItemKind = z.enum(['ticket', 'lead', 'order', 'claim', 'document', 'case', 'task']);

export const Attributes = z.record(
  z.string().max(64),
  z.union([z.string().max(1024), z.number(), z.boolean()]),
);

/** Version stamped on every event detail so consumers can evolve without guessing. */
export const SchemaVersion = z.literal('1');

export const Tenant = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
