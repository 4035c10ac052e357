import { z } from 'zod';
import { DriftDetected, PolicyChanged, PolicyChangeKindSchema } from '../events/tuning';
import { Policy } from '../policy';

/**
 * The contract between the tuning state machine (statemachines/tuning.asl.json) and its tasks:
 * what the cycle returns into the state, what the approval task waits for, what apply returns.
 * The ASL, the handlers and the tests read these, as domain/process.ts is for the process.
 */

const Evidence = z.record(z.string(), z.union([z.number(), z.string()]));

/** A policy change the cycle proposes (see PolicyChangeProposal in loop.ts), as JSON. */
export const PolicyChangeProposalSchema = z.object({
  kind: PolicyChangeKindSchema,
  policy: Policy,
  previousVersion: z.string().min(1),
  changes: z.array(z.string()),
  reason: z.string().min(1),
  needsApproval: z.boolean(),
  approvalReasons: z.array(z.string()),
  experimentId: z.string().optional(),
  evidence: Evidence,
});
export type PolicyChangeProposalJson = z.infer<typeof PolicyChangeProposalSchema>;

/** Returned by "Run Tuning Cycle" into `$.cycle`. */
export const TuningCycleOutput = z.object({
  cycleAt: z.iso.datetime({ offset: true }),
  drift: z.array(DriftDetected),
  reestimated: z.array(z.object({ category: z.string(), since: z.iso.datetime({ offset: true }) })),
  standbyCalls: z.array(z.object({ agentId: z.string(), decision: z.enum(['auto', 'approval']) })),
  /** Present when a policy change is proposed; `hasPolicyChange` lets the Choice state branch without IsPresent. */
  hasPolicyChange: z.boolean(),
  policyChange: PolicyChangeProposalSchema.optional(),
  kpis: z.record(z.string(), z.number().nullable()),
  experiment: z
    .object({ experimentId: z.string(), status: z.string(), decision: z.string().optional() })
    .optional(),
});
export type TuningCycleOutput = z.infer<typeof TuningCycleOutput>;

/**
 * How long "Wait For Approval" waits for a person (its TimeoutSeconds in tuning.asl.json); after
 * it the change expires, rejected. The operations API stops offering an approval then.
 */
export const APPROVAL_WAIT_SECONDS = 86_400;

/** What a person sends with SendTaskSuccess to resume "Wait For Approval" (into `$.approval`). */
export const ApprovalDecision = z.object({
  decision: z.enum(['approve', 'reject']),
  actor: z.string().min(1).max(256),
  reason: z.string().min(1).max(2000),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/** Input of "Wait For Approval" (lambda:invoke.waitForTaskToken). */
export const ApprovalRequestInput = z.object({
  taskToken: z.string().min(1),
  executionId: z.string().min(1),
  proposal: PolicyChangeProposalSchema,
});
export type ApprovalRequestInput = z.infer<typeof ApprovalRequestInput>;

/** Input of "Apply Policy Change". */
export const ApplyPolicyChangeInput = z.object({
  proposal: PolicyChangeProposalSchema,
  /** Absent for automatic changes within the guardrails. */
  approval: ApprovalDecision.optional(),
});
export type ApplyPolicyChangeInput = z.infer<typeof ApplyPolicyChangeInput>;

/** Returned by "Apply Policy Change" into `$.applied`: the event the workflow emits. */
export const ApplyPolicyChangeOutput = z.object({
  outcome: z.enum(['activated', 'rolled-back', 'rejected', 'already-active']),
  event: PolicyChanged,
});
export type ApplyPolicyChangeOutput = z.infer<typeof ApplyPolicyChangeOutput>;
