import type { AgentState } from '../../domain/model';
import type { AgentProfile } from './ports';

/** An agent as stored: the routing view plus the bookkeeping that orders status changes. */
export interface StoredAgentState extends AgentState {
  readonly changedAt?: number;
  readonly updatedAt?: number;
}

/**
 * The agent after a status change. activeCount is the store's, never the event's (only claims
 * and releases move it); idleSince restarts when the agent turns available, so longest-idle
 * fairness counts from the moment they could take work.
 */
export function applyAgentProfile(
  previous: StoredAgentState | undefined,
  profile: AgentProfile,
  at: number,
): StoredAgentState {
  const becameAvailable = profile.status === 'available' && previous?.status !== 'available';
  return {
    agentId: profile.agentId,
    kind: profile.kind,
    status: profile.status,
    capacity: profile.capacity,
    skills: profile.skills.map((level) => ({ skill: level.skill, proficiency: level.proficiency })),
    activeCount: previous?.activeCount ?? 0,
    idleSince: becameAvailable || previous === undefined ? profile.changedAt : previous.idleSince,
    ...(profile.shiftEndsAt === undefined ? {} : { shiftEndsAt: profile.shiftEndsAt }),
    changedAt: profile.changedAt,
    updatedAt: at,
  };
}

/** True when `profile` is not newer than what is stored (a duplicate or out-of-order event). */
export function isStaleProfile(previous: StoredAgentState | undefined, profile: AgentProfile): boolean {
  return previous?.changedAt !== undefined && previous.changedAt >= profile.changedAt;
}
