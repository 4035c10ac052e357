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

/** The major version of the inbound contracts this deployment reads. */
export const INBOUND_SCHEMA_MAJOR = '1';

/**
 * How inbound details evolve, stated once for the schemas, the registry and the README: a producer
 * may add fields (a newer minor version, or its own), and Flowtune ignores them; only a missing or
 * invalid known field, or another major version, rejects the event.
 */
export const FORWARD_COMPATIBILITY_RULE =
  'Forward compatible: fields this schema does not name are accepted and ignored (dropped from the validated detail; the event archive keeps the event as sent; put data Flowtune should keep in attributes). schemaVersion "1" or "1.<minor>" is accepted (a minor version only adds optional fields); another major version is rejected, as is a missing or invalid required field.';

/**
 * schemaVersion of an inbound detail: "1" or "1.<minor>". A minor version only adds optional
 * fields, which this deployment ignores; another major version may change what a field means, so
 * it is rejected rather than half-understood.
 */
export const InboundSchemaVersion = z.string().regex(/^1(\.[0-9]{1,4})?$/, {
  error: (issue) =>
    `must be "${INBOUND_SCHEMA_MAJOR}" or "${INBOUND_SCHEMA_MAJOR}.<minor>": this deployment reads major version ${INBOUND_SCHEMA_MAJOR}, and fields added by a minor version are ignored; got ${JSON.stringify(issue.input)}. Send a ${INBOUND_SCHEMA_MAJOR}.x detail, or upgrade Flowtune before producing another major version.`,
});

export const Tenant = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
