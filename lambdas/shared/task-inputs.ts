import { z } from 'zod';
import { IsoTimestamp, ItemId } from '../../domain/events';
import { AssignmentResult, CompletionResult } from '../../domain/process';

/**
 * zod schemas of what the state machine passes to the task Lambdas, mirroring the interfaces in
 * domain/process.ts (which has types, not schemas, for these). A mismatch between the ASL's
 * Parameters and a handler surfaces as an InvalidTaskInputError naming the field.
 */

export const ValidatedItemSchema = z.object({
  id: ItemId,
  kind: z.string(),
  channel: z.string(),
  category: z.string(),
  requiredSkills: z.array(z.object({ skill: z.string(), minProficiency: z.number() })),
  priority: z.number(),
  customerTier: z.string(),
  createdAt: IsoTimestamp,
  slaDueAt: IsoTimestamp,
  customerRef: z.string().optional(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  tenant: z.string().optional(),
});

/** `$.scoring` as the Score step returned it; only what later steps read is required. */
export const ScoringResultSchema = z.looseObject({
  score: z.looseObject({
    modelVersion: z.string(),
    predictedHandlingSeconds: z.number(),
  }),
  decision: z.looseObject({ path: z.enum(['automation', 'routing', 'human-review']) }),
  policyVersion: z.string(),
});

/** Score Item: `{ item: $.validation.item, attempt: $.routing.attempt }`. */
export const ScoreInput = z.object({
  item: ValidatedItemSchema,
  attempt: z.number().int().min(1),
  /** The execution's name (`$$.Execution.Name`): `<id>.<n>` for the item's n-th instance attempt. */
  execution: z.string().min(1).optional(),
});
export type ScoreInput = z.infer<typeof ScoreInput>;

/** Record Outcome: `{ itemId, item, scoring, assignment, completion, attempt }`. */
export const RecordOutcomeInput = z.object({
  itemId: ItemId,
  item: ValidatedItemSchema,
  scoring: ScoringResultSchema,
  assignment: AssignmentResult,
  completion: CompletionResult,
  attempt: z.number().int().min(1),
});
export type RecordOutcomeInput = z.infer<typeof RecordOutcomeInput>;
