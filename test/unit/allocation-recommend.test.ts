import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type AllocationInput,
  AllocationPolicy,
  type AllocationPolicyInput,
  type PastMove,
  recommendAllocation,
} from '../../domain/allocation/recommend';
import { QueueSpec, queuePerformance } from '../../domain/allocation/staffing';
import { StaffingRecommended } from '../../domain/events/staffing';
import type { AgentState, HandlingFeatures } from '../../domain/model';
import { hasRequiredSkills } from '../../domain/scoring';

const NOW = Date.parse('2026-03-02T10:00:00Z');
const MINUTE = 60_000;

const QUEUES = [
  QueueSpec.parse({
    queueId: 'cards',
    requiredSkills: [{ skill: 'cards', minProficiency: 2 }],
    target: { fraction: 0.8, withinSeconds: 20 },
  }),
  QueueSpec.parse({
    queueId: 'loans',
    requiredSkills: [{ skill: 'loans', minProficiency: 1 }],
    target: { fraction: 0.8, withinSeconds: 60 },
    meanPatienceSeconds: 300,
  }),
];

const FEATURES: HandlingFeatures = {
  global: { count: 2000, mean: 180, m2: 2000 * 180 * 180 },
  byCategory: {
    cards: { count: 1000, mean: 180, m2: 1000 * 180 * 180 },
    loans: { count: 1000, mean: 180, m2: 1000 * 180 * 180 },
  },
  byCategoryAgent: {},
};

function person(
  agentId: string,
  skills: Record<string, number>,
  overrides: Partial<AgentState> = {},
): AgentState {
  return {
    agentId,
    kind: 'person',
    status: 'available',
    skills: Object.entries(skills).map(([skill, proficiency]) => ({ skill, proficiency })),
    capacity: 1,
    activeCount: 0,
    idleSince: NOW - MINUTE,
    shiftEndsAt: NOW + 6 * 60 * MINUTE,
    ...overrides,
  };
}

/**
 * cards surges: 50 calls a quarter hour need 14 agents and 11 are there. loans is quiet: 10 calls
 * a quarter hour, 8 agents, 4 of them cross-skilled in cards.
 */
function surgeInput(
  overrides: { policy?: Partial<AllocationPolicyInput>; agents?: AgentState[] } & Partial<
    Omit<AllocationInput, 'policy'>
  > = {},
): AllocationInput {
  const agents = overrides.agents ?? [
    ...Array.from({ length: 11 }, (_, index) => person(`card-${index + 1}`, { cards: 3 })),
    ...Array.from({ length: 4 }, (_, index) => person(`flex-${index + 1}`, { loans: 3, cards: 3 })),
    ...Array.from({ length: 4 }, (_, index) => person(`loan-${index + 1}`, { loans: 4 })),
  ];
  const assignments = Object.fromEntries(
    agents.map((member) => [member.agentId, member.agentId.startsWith('card') ? 'cards' : 'loans']),
  );
  const { policy, agents: _agents, ...rest } = overrides;
  return {
    now: NOW,
    policy: AllocationPolicy.parse({
      version: 'alloc-test',
      maxMovesPerHour: 4,
      maxAutoMovesPerHour: 4,
      ...policy,
    }),
    queues: QUEUES,
    forecasts: { cards: [50, 50, 50, 50], loans: [10, 10, 10, 10] },
    forecastStartMs: NOW,
    features: FEATURES,
    agents,
    assignments,
    ...rest,
  };
}

describe('recommendAllocation', () => {
  it('moves idle cross-skilled agents to the surging queue until it meets its target', () => {
    // Prepare
    const input = surgeInput();

    // Act
    const result = recommendAllocation(input);

    // Assess
    const moves = result.recommendations.filter((recommendation) => recommendation.kind === 'move');
    expect(moves).toHaveLength(3);
    for (const move of moves) {
      expect(move.fromQueue).toBe('loans');
      expect(move.toQueue).toBe('cards');
      expect(move.agentId).toMatch(/^flex-/);
      expect(move.decision).toBe('auto-applied');
    }
    const last = moves[moves.length - 1];
    const cardsAfter = last?.queues.find((queue) => queue.queueId === 'cards');
    expect(cardsAfter?.onShiftServersAfter).toBe(14);
    expect(cardsAfter?.expectedServiceLevelAfter).toBeGreaterThanOrEqual(0.8);
    expect(result.assignmentsAfterAutoApplied['flex-1']).toBe('cards');
  });

  it('moves agents that only help together into a queue far past its capacity', () => {
    // Prepare: cards has 9 agents for 10 Erlangs (no steady state: one more agent changes nothing
    // Erlang C can see), loans has 4 spare cross-skilled agents.
    const input = surgeInput({
      agents: [
        ...Array.from({ length: 9 }, (_, index) => person(`card-${index + 1}`, { cards: 3 })),
        ...Array.from({ length: 4 }, (_, index) => person(`flex-${index + 1}`, { loans: 3, cards: 3 })),
        ...Array.from({ length: 4 }, (_, index) => person(`loan-${index + 1}`, { loans: 4 })),
      ],
    });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations).toHaveLength(4);
    expect(recommendations[0]?.reason).toContain('This is the first of 4 moves that only help together');
    const cards = recommendations[3]?.queues.find((queue) => queue.queueId === 'cards');
    expect(cards?.onShiftServersAfter).toBe(13);
    expect(cards?.expectedServiceLevelAfter).toBeCloseTo(0.7956, 3);
  });

  it('explains each move in plain language with the numbers', () => {
    // Prepare
    const input = surgeInput();

    // Act
    const [first] = recommendAllocation(input).recommendations;

    // Assess
    expect(first?.kind).toBe('move');
    expect(first?.reason).toContain('Move flex-1 from loans to cards for the next 60 min');
    expect(first?.reason).toContain('expects 200 arrivals/h and needs 14 agents to answer 80% within 20 s');
    expect(first?.reason).toContain('with 11 on shift it is expected to answer 39%, with 12 64%');
    expect(first?.reason).toContain('is on shift until 16:00 UTC');
    const cards = first?.queues.find((queue) => queue.queueId === 'cards');
    expect(cards).toMatchObject({
      forecastArrivalsPerHour: 200,
      requiredServers: 14,
      onShiftServersBefore: 11,
      onShiftServersAfter: 12,
      model: 'erlang-c',
    });
    expect(cards?.expectedServiceLevelBefore).toBeCloseTo(
      queuePerformance(11, 50 / 900, 180, { fraction: 0.8, withinSeconds: 20 }).serviceLevel,
      2,
    );
  });

  it('produces events that satisfy the StaffingRecommended schema', () => {
    // Prepare
    const input = surgeInput({
      agents: [
        ...Array.from({ length: 10 }, (_, index) => person(`card-${index + 1}`, { cards: 3 })),
        person('flex-1', { loans: 3, cards: 3 }),
        // Four stay in loans: with three it would fall below its target once abandoners count as misses.
        ...Array.from({ length: 4 }, (_, index) => person(`loan-${index + 1}`, { loans: 4 })),
      ],
      policy: { offload: { categories: ['card-activation'] } },
      routineWork: [{ queueId: 'cards', category: 'card-activation', shareOfArrivals: 0.25 }],
    });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations.map((recommendation) => recommendation.kind)).toEqual(['move', 'offload']);
    for (const recommendation of recommendations) {
      expect(StaffingRecommended.safeParse(recommendation).success).toBe(true);
    }
  });

  it('never moves someone whose shift ends within the horizon', () => {
    // Prepare: the only cross-skilled agents leave in 45 minutes.
    const input = surgeInput({
      agents: [
        ...Array.from({ length: 11 }, (_, index) => person(`card-${index + 1}`, { cards: 3 })),
        ...Array.from({ length: 4 }, (_, index) =>
          person(`flex-${index + 1}`, { loans: 3, cards: 3 }, { shiftEndsAt: NOW + 45 * MINUTE }),
        ),
        ...Array.from({ length: 4 }, (_, index) => person(`loan-${index + 1}`, { loans: 4 })),
      ],
    });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations.filter((recommendation) => recommendation.kind === 'move')).toEqual([]);
  });

  it('moves only agents proficient enough for the receiving queue', () => {
    // Prepare: the cross-skilled agents hold cards at 1; the queue needs 2.
    const input = surgeInput({
      agents: [
        ...Array.from({ length: 11 }, (_, index) => person(`card-${index + 1}`, { cards: 3 })),
        ...Array.from({ length: 4 }, (_, index) => person(`flex-${index + 1}`, { loans: 3, cards: 1 })),
        ...Array.from({ length: 4 }, (_, index) => person(`loan-${index + 1}`, { loans: 4 })),
      ],
    });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations).toEqual([]);
  });

  it('never takes a queue below its floor', () => {
    // Prepare: loans must keep 7 of its 8.
    const input = surgeInput({ policy: { minStaffPerQueue: { loans: 7 } } });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations).toHaveLength(1);
  });

  it('never pushes the donor queue below its own target', () => {
    // Prepare: loans is busy too (40 a quarter hour needs about 9 of its 8 + 0 spare).
    const input = surgeInput({ forecasts: { cards: [50, 50, 50, 50], loans: [40, 40, 40, 40] } });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations).toEqual([]);
  });

  it('leaves moves beyond the hourly auto-apply limit for approval, saying why', () => {
    // Prepare
    const input = surgeInput({ policy: { maxAutoMovesPerHour: 1 } });

    // Act
    const { recommendations, assignmentsAfterAutoApplied } = recommendAllocation(input);

    // Assess
    expect(recommendations.map((recommendation) => recommendation.decision)).toEqual([
      'auto-applied',
      'approval-required',
      'approval-required',
    ]);
    expect(recommendations[1]?.approvalReason).toContain('moves applied without approval this hour');
    expect(Object.values(assignmentsAfterAutoApplied).filter((queue) => queue === 'cards')).toHaveLength(12);
  });

  it('applies nothing itself when the policy says never', () => {
    // Prepare
    const input = surgeInput({ policy: { autoApply: 'never' } });

    // Act
    const { recommendations, assignmentsAfterAutoApplied } = recommendAllocation(input);

    // Assess
    expect(recommendations.length).toBeGreaterThan(0);
    expect(recommendations.every((recommendation) => recommendation.decision === 'approval-required')).toBe(
      true,
    );
    expect(assignmentsAfterAutoApplied).toEqual(input.assignments);
  });

  it('asks for approval when the forecasts have recently been poor', () => {
    // Prepare
    const input = surgeInput({ forecastWape: 0.45 });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations[0]?.decision).toBe('approval-required');
    expect(recommendations[0]?.approvalReason).toContain('WAPE 45%');
  });

  it('counts recent moves against the hourly limit and rests recently moved agents', () => {
    // Prepare: three moves in the last hour (limit 4), flex-1 among them 10 minutes ago.
    const recentMoves: PastMove[] = [
      { agentId: 'flex-1', at: NOW - 10 * MINUTE, decision: 'auto-applied' },
      { agentId: 'someone', at: NOW - 40 * MINUTE, decision: 'auto-applied' },
      { agentId: 'someone-else', at: NOW - 50 * MINUTE, decision: 'approval-required' },
      { agentId: 'long-ago', at: NOW - 61 * MINUTE, decision: 'auto-applied' },
    ];
    const input = surgeInput({ recentMoves });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations).toHaveLength(1);
    expect(recommendations[0]?.kind === 'move' && recommendations[0].agentId).not.toBe('flex-1');
  });

  it('offloads a cleared routine category when no agent can be spared, for approval by default', () => {
    // Prepare: no cross-skilled agents at all.
    const input = surgeInput({
      agents: [
        ...Array.from({ length: 11 }, (_, index) => person(`card-${index + 1}`, { cards: 3 })),
        ...Array.from({ length: 4 }, (_, index) => person(`loan-${index + 1}`, { loans: 4 })),
      ],
      policy: { offload: { categories: ['card-activation'], maxShareOfQueue: 0.2 } },
      routineWork: [
        { queueId: 'cards', category: 'card-activation', shareOfArrivals: 0.3 },
        { queueId: 'cards', category: 'disputes', shareOfArrivals: 0.4 },
      ],
    });

    // Act
    const { recommendations } = recommendAllocation(input);

    // Assess
    expect(recommendations).toHaveLength(1);
    const [offload] = recommendations;
    expect(offload).toMatchObject({
      kind: 'offload',
      queueId: 'cards',
      category: 'card-activation',
      shareOfQueue: 0.2,
      decision: 'approval-required',
    });
    expect(offload?.reason).toContain('Send 20% of cards (its "card-activation" items) to automation');
  });
});

describe('StaffingRecommended', () => {
  it('converts to the draft-4 JSON Schema the event registry takes, with both kinds', () => {
    // Prepare / Act
    const schema = z.toJSONSchema(StaffingRecommended, {
      io: 'input',
      unrepresentable: 'any',
      target: 'draft-04',
    });

    // Assess
    const text = JSON.stringify(schema);
    expect(text).toContain('"move"');
    expect(text).toContain('"offload"');
    expect(text).toContain('expectedServiceLevelBefore');
  });

  it('rejects a move without the agent it moves', () => {
    // Prepare
    const [move] = recommendAllocation(surgeInput()).recommendations;
    const { agentId: _agentId, ...withoutAgent } = move as Extract<StaffingRecommended, { kind: 'move' }>;

    // Act
    const parsed = StaffingRecommended.safeParse(withoutAgent);

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['agentId']);
  });
});

describe('AllocationPolicy', () => {
  it('refuses an auto-apply limit above the overall move limit', () => {
    // Prepare / Act
    const parsed = AllocationPolicy.safeParse({ version: 'x', maxMovesPerHour: 2, maxAutoMovesPerHour: 3 });

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['maxAutoMovesPerHour']);
  });

  it('fills safe defaults', () => {
    // Prepare / Act
    const policy = AllocationPolicy.parse({ version: 'alloc-1' });

    // Assess
    expect(policy).toMatchObject({
      intervalMinutes: 15,
      horizonMinutes: 60,
      autoApply: 'within-guardrails',
      defaultMinStaff: 1,
      offload: { enabled: true, categories: [], autoApply: false },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Guardrails under arbitrary rosters, demand, policies and histories
// ---------------------------------------------------------------------------------------------

const SKILLS = ['cards', 'loans', 'general'] as const;

const arbitraryAgent = (index: number) =>
  fc
    .record({
      kind: fc.constantFrom<'person' | 'automation' | 'team'>(
        'person',
        'person',
        'person',
        'automation',
        'team',
      ),
      status: fc.constantFrom<'available' | 'busy' | 'offline'>('available', 'busy', 'offline'),
      skills: fc
        .subarray([...SKILLS], { minLength: 1 })
        .chain((skills) =>
          fc.tuple(...skills.map((skill) => fc.tuple(fc.constant(skill), fc.integer({ min: 1, max: 5 })))),
        ),
      capacity: fc.integer({ min: 0, max: 3 }),
      shiftMinutes: fc.option(fc.integer({ min: 1, max: 240 }), { nil: undefined }),
      queue: fc.constantFrom(...SKILLS),
    })
    .map((raw): { agent: AgentState; queue: string } => ({
      agent: {
        agentId: `agent-${index}`,
        kind: raw.kind,
        status: raw.status,
        skills: raw.skills.map(([skill, proficiency]) => ({ skill, proficiency })),
        capacity: raw.capacity,
        activeCount: 0,
        idleSince: NOW,
        ...(raw.shiftMinutes === undefined ? {} : { shiftEndsAt: NOW + raw.shiftMinutes * MINUTE }),
      },
      queue: raw.queue,
    }));

const arbitraryRoster = fc
  .integer({ min: 1, max: 18 })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => arbitraryAgent(index))));

const arbitraryPolicy = fc
  .record({
    maxMovesPerHour: fc.integer({ min: 0, max: 6 }),
    autoShare: fc.double({ min: 0, max: 1, noNaN: true }),
    autoApply: fc.constantFrom<'never' | 'within-guardrails'>('never', 'within-guardrails'),
    floors: fc.record({ cards: fc.integer({ min: 0, max: 4 }), loans: fc.integer({ min: 0, max: 4 }) }),
    defaultMinStaff: fc.integer({ min: 0, max: 3 }),
    cooldownMinutes: fc.integer({ min: 0, max: 120 }),
    horizonMinutes: fc.constantFrom(30, 60, 90, 120),
    minGainPerHour: fc.double({ min: 0, max: 5, noNaN: true }),
  })
  .map((raw) =>
    AllocationPolicy.parse({
      version: 'prop',
      maxMovesPerHour: raw.maxMovesPerHour,
      maxAutoMovesPerHour: Math.floor(raw.maxMovesPerHour * raw.autoShare),
      autoApply: raw.autoApply,
      minStaffPerQueue: raw.floors,
      defaultMinStaff: raw.defaultMinStaff,
      cooldownMinutes: raw.cooldownMinutes,
      horizonMinutes: raw.horizonMinutes,
      minGainPerHour: raw.minGainPerHour,
      offload: { categories: ['routine'] },
    }),
  );

const PROPERTY_QUEUES = SKILLS.map((skill, index) =>
  QueueSpec.parse({
    queueId: skill,
    requiredSkills: [{ skill, minProficiency: 1 + (index % 3) }],
    target: { fraction: 0.8, withinSeconds: 30 * (index + 1) },
    ...(index === 1 ? { meanPatienceSeconds: 240 } : {}),
  }),
);

const arbitraryForecast = fc.array(fc.double({ min: 0, max: 60, noNaN: true }), {
  minLength: 1,
  maxLength: 8,
});

const arbitraryHistory = (roster: readonly { agent: AgentState }[]) =>
  fc.array(
    fc.record({
      agentIndex: fc.nat({ max: Math.max(roster.length - 1, 0) }),
      minutesAgo: fc.integer({ min: 0, max: 120 }),
      decision: fc.constantFrom<'auto-applied' | 'approval-required'>('auto-applied', 'approval-required'),
    }),
    { maxLength: 8 },
  );

describe('recommendAllocation guardrails (property-based)', () => {
  it('never breaks a hard constraint, whatever the roster, demand, policy and history', () => {
    fc.assert(
      fc.property(
        arbitraryRoster.chain((roster) =>
          fc.tuple(
            fc.constant(roster),
            arbitraryPolicy,
            fc.record({ cards: arbitraryForecast, loans: arbitraryForecast, general: arbitraryForecast }),
            arbitraryHistory(roster),
            fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
          ),
        ),
        ([roster, policy, forecasts, history, forecastWape]) => {
          // Prepare
          const agents = roster.map(({ agent }) => agent);
          const assignments = Object.fromEntries(roster.map(({ agent, queue }) => [agent.agentId, queue]));
          const recentMoves: PastMove[] = history.map((entry) => ({
            agentId: `agent-${entry.agentIndex}`,
            at: NOW - entry.minutesAgo * MINUTE,
            decision: entry.decision,
          }));
          const input: AllocationInput = {
            now: NOW,
            policy,
            queues: PROPERTY_QUEUES,
            forecasts,
            forecastStartMs: NOW,
            features: FEATURES,
            agents,
            assignments,
            recentMoves,
            routineWork: [{ queueId: 'cards', category: 'routine', shareOfArrivals: 0.2 }],
            ...(forecastWape === undefined ? {} : { forecastWape }),
          };

          // Act
          const result = recommendAllocation(input);

          // Assess
          const moves = result.recommendations.filter((recommendation) => recommendation.kind === 'move');
          const lastHour = recentMoves.filter((move) => move.at > NOW - 60 * MINUTE);
          expect(lastHour.length + moves.length).toBeLessThanOrEqual(
            Math.max(policy.maxMovesPerHour, lastHour.length),
          );
          const autoMoves = moves.filter((move) => move.decision === 'auto-applied');
          const lastHourAuto = lastHour.filter((move) => move.decision === 'auto-applied').length;
          expect(lastHourAuto + autoMoves.length).toBeLessThanOrEqual(
            Math.max(policy.maxAutoMovesPerHour, lastHourAuto),
          );
          if (policy.autoApply === 'never') {
            expect(
              result.recommendations.every(
                (recommendation) => recommendation.decision === 'approval-required',
              ),
            ).toBe(true);
          }
          const horizonEnd = NOW + policy.horizonMinutes * MINUTE;
          const cooling = new Set(
            recentMoves
              .filter((move) => move.at > NOW - policy.cooldownMinutes * MINUTE)
              .map((move) => move.agentId),
          );
          const movedAgents = moves.map((move) => move.agentId);
          expect(new Set(movedAgents).size).toBe(movedAgents.length);
          const planned: Record<string, string> = { ...assignments };
          for (const move of moves) {
            const agent = agents.find((candidate) => candidate.agentId === move.agentId);
            const receiving = PROPERTY_QUEUES.find((queue) => queue.queueId === move.toQueue);
            expect(agent).toBeDefined();
            expect(receiving).toBeDefined();
            if (agent === undefined || receiving === undefined) return;
            expect(agent.kind).toBe('person');
            expect(agent.status).not.toBe('offline');
            expect(agent.shiftEndsAt === undefined || agent.shiftEndsAt > horizonEnd).toBe(true);
            expect(hasRequiredSkills(agent, receiving)).toBe(true);
            expect(cooling.has(agent.agentId)).toBe(false);
            expect(planned[agent.agentId]).toBe(move.fromQueue);
            const donor = move.queues.find((queue) => queue.queueId === move.fromQueue);
            expect(donor?.expectedServiceLevelAfter ?? 0).toBeGreaterThanOrEqual(
              (donor?.targetServiceLevel ?? 1) - 1e-4,
            );
            planned[agent.agentId] = move.toQueue;
          }
          // Floors: counting the agents who serve each queue before and after every recommended move.
          const serving = (plan: Record<string, string>, queueId: string) =>
            agents.filter((agent) => {
              const queue = PROPERTY_QUEUES.find((candidate) => candidate.queueId === queueId);
              return (
                queue !== undefined &&
                plan[agent.agentId] === queueId &&
                agent.status !== 'offline' &&
                hasRequiredSkills(agent, queue) &&
                (agent.shiftEndsAt === undefined || agent.shiftEndsAt >= NOW)
              );
            }).length;
          for (const queue of PROPERTY_QUEUES) {
            const floor = policy.minStaffPerQueue[queue.queueId] ?? policy.defaultMinStaff;
            const before = serving(assignments, queue.queueId);
            expect(serving(planned, queue.queueId)).toBeGreaterThanOrEqual(Math.min(floor, before));
          }
          for (const recommendation of result.recommendations) {
            expect(StaffingRecommended.safeParse(recommendation).success).toBe(true);
          }
          // Deterministic: the same input gives the same recommendations.
          expect(recommendAllocation(input).recommendations).toEqual(result.recommendations);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps every sliding hour within the move limit across a day of quarter-hourly runs', () => {
    fc.assert(
      fc.property(
        arbitraryRoster,
        arbitraryPolicy,
        fc.array(
          fc.record({ cards: arbitraryForecast, loans: arbitraryForecast, general: arbitraryForecast }),
          {
            minLength: 4,
            maxLength: 16,
          },
        ),
        (roster, policy, demandByRun) => {
          // Prepare
          const agents = roster.map(({ agent }) => ({ ...agent, shiftEndsAt: undefined }));
          let assignments: Record<string, string> = Object.fromEntries(
            roster.map(({ agent, queue }) => [agent.agentId, queue]),
          );
          const history: PastMove[] = [];

          // Act: every run applies its recommendations (approved ones too) and remembers them.
          demandByRun.forEach((forecasts, run) => {
            const now = NOW + run * 15 * MINUTE;
            const result = recommendAllocation({
              now,
              policy,
              queues: PROPERTY_QUEUES,
              forecasts,
              forecastStartMs: now,
              features: FEATURES,
              agents,
              assignments,
              recentMoves: history,
            });
            for (const recommendation of result.recommendations) {
              if (recommendation.kind !== 'move') continue;
              history.push({ agentId: recommendation.agentId, at: now, decision: recommendation.decision });
              assignments = { ...assignments, [recommendation.agentId]: recommendation.toQueue };
            }
          });

          // Assess
          for (const move of history) {
            const window = history.filter((other) => other.at > move.at - 60 * MINUTE && other.at <= move.at);
            expect(window.length).toBeLessThanOrEqual(policy.maxMovesPerHour);
            expect(window.filter((other) => other.decision === 'auto-applied').length).toBeLessThanOrEqual(
              policy.maxAutoMovesPerHour,
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
