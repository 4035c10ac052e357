import type { AgentState } from '../model';
import { AssignmentResult, ExceptionDecision, ReviewDecision } from '../process';
import { freeSlots, hasRequiredSkills } from '../scoring/eligibility';

/**
 * People in the loop: what a person may do to a work item, given what its process instance is
 * waiting for, and the payloads that resume the state machine. Pure: the ops API reads the
 * instance, asks `planHumanAction`, and carries the plan out through its ports.
 */

export const HUMAN_ACTIONS = ['approve', 'reject', 'override', 'appeal'] as const;
export type HumanAction = (typeof HUMAN_ACTIONS)[number];

/** The error a re-opened wait fails with; the state machine catches it and goes to Human Review. */
export const APPEAL_ERROR = 'DecisionAppealed';

/** Audit kinds of human actions (beside the kinds in lambdas/shared/ports.ts AUDIT_KINDS). */
export const HUMAN_AUDIT_KINDS = {
  approve: 'HUMAN_APPROVED',
  reject: 'HUMAN_REJECTED',
  override: 'OVERRIDDEN',
  appeal: 'APPEALED',
  proposePolicy: 'POLICY_PROPOSED',
  approvePolicy: 'POLICY_APPROVED',
} as const;
export type HumanAuditKind = (typeof HUMAN_AUDIT_KINDS)[keyof typeof HUMAN_AUDIT_KINDS];

// The resume payloads are part of the state machine's contract, so they live in domain/process.ts.
export { ExceptionDecision, ReviewDecision };

/** What the instance says the process waits for, as the planner needs it. */
export interface WaitState {
  readonly stage: string;
  readonly waitingFor?: 'assignment' | 'completion' | 'human-review' | 'exception';
  readonly taskToken?: string;
  /** Set once the item was scored: only then can it be assigned. */
  readonly scored: boolean;
}

export type HumanActionPlan =
  /** Resume the wait with this output (SendTaskSuccess). */
  | {
      readonly kind: 'resume';
      readonly taskToken: string;
      readonly output: ReviewDecision | ExceptionDecision;
    }
  /** Claim the named agent's capacity, then resume the wait with the assignment. */
  | {
      readonly kind: 'override';
      readonly taskToken: string;
      readonly from: 'human-review' | 'exception' | 'assignment';
    }
  /** Fail the wait with APPEAL_ERROR: the process re-opens the decision in Human Review. */
  | { readonly kind: 'appeal'; readonly taskToken: string; readonly from: 'assignment' | 'completion' }
  /** Not possible now; the reason says why and what to do instead. */
  | { readonly kind: 'refuse'; readonly reason: string };

const TERMINAL = new Set(['COMPLETED', 'CANCELLED', 'REJECTED']);

/**
 * Decides what `action` means for an item in `state`:
 * - at Human Review: approve → route it; reject → reject it; override → assign the named agent;
 * - in the exception queue: approve → requeue it for routing; reject → close it; override → assign;
 * - waiting for the dispatcher: override → assign the named agent now; appeal → back to review;
 * - with its agent (waiting for completion): appeal → take it back to review (capacity released).
 *
 * @example
 * planHumanAction({ stage: 'HUMAN_REVIEW', waitingFor: 'human-review', taskToken: 't', scored: true },
 *   'approve', { actor: 'arn:aws:iam::1:user/ana', reason: 'known customer' });
 * // { kind: 'resume', taskToken: 't', output: { action: 'approve', ... } }
 */
export function planHumanAction(
  state: WaitState,
  action: HumanAction,
  who: { readonly actor: string; readonly reason: string },
): HumanActionPlan {
  if (TERMINAL.has(state.stage)) {
    return { kind: 'refuse', reason: `the item is ${state.stage}: there is no decision left to ${action}` };
  }
  const token = state.taskToken;
  if (token === undefined || state.waitingFor === undefined) {
    return {
      kind: 'refuse',
      reason: `the item is ${state.stage} and not waiting on anything a person can act on; try again in a moment`,
    };
  }
  const unscored = 'the item was never scored, so it cannot be assigned; reject (close) it instead';
  switch (state.waitingFor) {
    case 'human-review':
      if (action === 'approve' || action === 'reject') {
        return { kind: 'resume', taskToken: token, output: { action, actor: who.actor, reason: who.reason } };
      }
      if (action === 'override') return { kind: 'override', taskToken: token, from: 'human-review' };
      return { kind: 'refuse', reason: 'the item is still in review: nothing was decided yet to appeal' };
    case 'exception':
      if (action === 'approve' && !state.scored) return { kind: 'refuse', reason: unscored };
      if (action === 'approve' || action === 'reject') {
        const resolution = action === 'approve' ? 'requeue' : 'close';
        return {
          kind: 'resume',
          taskToken: token,
          output: { action: resolution, actor: who.actor, reason: who.reason },
        };
      }
      if (action === 'override') {
        return state.scored
          ? { kind: 'override', taskToken: token, from: 'exception' }
          : { kind: 'refuse', reason: unscored };
      }
      return {
        kind: 'refuse',
        reason: 'the item is in the exception queue, already with people: approve, reject or override it',
      };
    case 'assignment':
      if (action === 'override') return { kind: 'override', taskToken: token, from: 'assignment' };
      if (action === 'appeal') return { kind: 'appeal', taskToken: token, from: 'assignment' };
      return {
        kind: 'refuse',
        reason: `the item waits for the dispatcher, not for a person: override it to a named agent, or appeal to send it back to review`,
      };
    case 'completion':
      if (action === 'appeal') return { kind: 'appeal', taskToken: token, from: 'completion' };
      return {
        kind: 'refuse',
        reason: `the item is with its agent: appeal first to re-open the decision, then ${action} it in review`,
      };
  }
}

/** The assignment an override sends to the state machine: the person's choice, explained. */
export function overrideAssignment(input: {
  readonly agent: Pick<AgentState, 'agentId' | 'kind'>;
  readonly actor: string;
  readonly reason: string;
  readonly predictedHandlingSeconds?: number;
  readonly policyVersion?: string;
  readonly modelVersion?: string;
  readonly now: number;
}): AssignmentResult {
  return AssignmentResult.parse({
    agentId: input.agent.agentId,
    agentKind: input.agent.kind,
    predictedHandlingSeconds: input.predictedHandlingSeconds ?? 0,
    explanation: {
      summary: `override by ${input.actor}: ${input.reason}`,
      chosen: { agentId: input.agent.agentId, cost: 0, terms: [{ name: 'human-override', value: 1 }] },
      candidatesConsidered: 1,
    },
    policyVersion: input.policyVersion ?? 'unversioned',
    modelVersion: input.modelVersion ?? 'unversioned',
    experimentArm: 'none',
    routedAt: new Date(input.now).toISOString(),
  });
}

/** Why an agent cannot take an override now, or undefined when it can. */
export function overrideObstacle(
  agent: AgentState | undefined,
  item: { readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[] },
  agentId: string,
  now: number,
): string | undefined {
  if (agent === undefined) return `no agent "${agentId}" is known (AgentStatusChanged registers agents)`;
  if (!hasRequiredSkills(agent, { requiredSkills: item.requiredSkills })) {
    const needs = item.requiredSkills.map((s) => `${s.skill}≥${s.minProficiency}`).join(', ');
    return `agent ${agentId} lacks a required skill (needs ${needs})`;
  }
  if (freeSlots(agent, now) === 0) {
    return `agent ${agentId} has no free capacity (${agent.status}, ${agent.activeCount}/${agent.capacity} items)`;
  }
  return undefined;
}

/** An agent a reviewer could hand the item to. */
export interface Alternative {
  readonly agentId: string;
  readonly kind: AgentState['kind'];
  readonly status: AgentState['status'];
  readonly freeSlots: number;
  /** Proficiency in each required skill. */
  readonly skills: readonly { readonly skill: string; readonly proficiency: number }[];
}

/**
 * The agents who hold every required skill, those with free capacity first (then the most free
 * slots, then the longest idle): the alternatives a reviewer sees next to the automated decision.
 */
export function overrideCandidates(
  item: {
    readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
    readonly excludedAgents?: readonly string[];
  },
  agents: readonly AgentState[],
  now: number,
  limit = 5,
): Alternative[] {
  return agents
    .filter((agent) => hasRequiredSkills(agent, item))
    .map((agent) => ({ agent, free: freeSlots(agent, now) }))
    .sort(
      (a, b) =>
        Number(b.free > 0) - Number(a.free > 0) ||
        b.free - a.free ||
        a.agent.idleSince - b.agent.idleSince ||
        a.agent.agentId.localeCompare(b.agent.agentId),
    )
    .slice(0, limit)
    .map(({ agent, free }) => ({
      agentId: agent.agentId,
      kind: agent.kind,
      status: agent.status,
      freeSlots: free,
      skills: item.requiredSkills.map((required) => ({
        skill: required.skill,
        proficiency: agent.skills.find((held) => held.skill === required.skill)?.proficiency ?? 0,
      })),
    }));
}
