import { quantile } from '../../domain/metrics';
import type { AgentState, HandlingFeatures, HandlingStats, WaitingItem } from '../../domain/model';
import { createStream, lognormal, type RandomSource } from '../../domain/random';
import { flowtunePolicy } from '../../domain/routing';
import type { DispatchRound } from '../../domain/routing/types';

export interface DispatchBenchResult {
  readonly agents: number;
  readonly waiting: number;
  readonly iterations: number;
  readonly assignmentsPerRound: number;
  readonly p50Millis: number;
  readonly p99Millis: number;
  readonly maxMillis: number;
}

const SKILLS = ['billing', 'technical', 'orders', 'returns', 'claims', 'onboarding'];

function pick<T>(random: RandomSource, values: readonly T[]): T {
  return values[Math.floor(random.next() * values.length)] as T;
}

/** A large round: `agents` available agents with 2–4 skills, `waiting` items of 6 categories, learned features and hints. */
export function largeRound(agents: number, waiting: number, seed = 7): DispatchRound {
  const random = createStream(seed, 'dispatch-bench');
  const now = Date.parse('2026-03-02T12:00:00Z');
  const agentStates: AgentState[] = Array.from({ length: agents }, (_, index) => {
    const skillCount = 2 + Math.floor(random.next() * 3);
    const skills = [...SKILLS].sort(() => random.next() - 0.5).slice(0, skillCount);
    return {
      agentId: `agent-${String(index).padStart(4, '0')}`,
      kind: 'person',
      status: 'available',
      skills: skills.map((skill) => ({ skill, proficiency: 1 + Math.floor(random.next() * 5) })),
      capacity: 1,
      activeCount: 0,
      idleSince: now - Math.floor(random.next() * 600_000),
    };
  });
  const items: WaitingItem[] = Array.from({ length: waiting }, (_, index) => {
    const skill = pick(random, SKILLS);
    const age = Math.floor(random.next() * 3_600_000);
    return {
      itemId: `item-${index}`,
      category: skill,
      requiredSkills: [{ skill, minProficiency: 1 + Math.floor(random.next() * 3) }],
      priority: 1 + Math.floor(random.next() * 5),
      createdAt: now - age,
      enqueuedAt: now - age,
      slaDueAt: now - age + 3_600_000 + Math.floor(random.next() * 7_200_000),
      excludedAgents: [],
    };
  });
  const stats = (mean: number, count: number): HandlingStats => ({
    count,
    mean,
    m2: count * (1.2 * mean) ** 2,
  });
  const byCategory: Record<string, HandlingStats> = {};
  const byCategoryAgent: Record<string, HandlingStats> = {};
  for (const skill of SKILLS) {
    const mean = 200 + random.next() * 400;
    byCategory[skill] = stats(mean, 5000);
    for (const agent of agentStates) {
      if (agent.skills.some((level) => level.skill === skill)) {
        byCategoryAgent[`${skill}#${agent.agentId}`] = stats(
          lognormal(random, mean, 0.3),
          20 + Math.floor(random.next() * 200),
        );
      }
    }
  }
  const features: HandlingFeatures = { global: stats(400, 30_000), byCategory, byCategoryAgent };
  const itemHandlingHints = Object.fromEntries(items.map((item) => [item.itemId, lognormal(random, 400, 1)]));
  return { now, waiting: items, agents: agentStates, features, itemHandlingHints };
}

/** Times Flowtune's dispatch round on one large round, in-process: p50 / p99 / max over iterations. */
export function benchmarkDispatch(
  options: { agents?: number; waiting?: number; iterations?: number } = {},
): DispatchBenchResult {
  const agents = options.agents ?? 200;
  const waiting = options.waiting ?? 500;
  const iterations = options.iterations ?? 100;
  const round = largeRound(agents, waiting);
  const policy = flowtunePolicy();
  let assignments = 0;
  for (let warmup = 0; warmup < 10; warmup++) assignments = policy.assign(round).length;
  const times: number[] = [];
  for (let iteration = 0; iteration < iterations; iteration++) {
    const started = performance.now();
    policy.assign(round);
    times.push(performance.now() - started);
  }
  return {
    agents,
    waiting,
    iterations,
    assignmentsPerRound: assignments,
    p50Millis: quantile(times, 0.5),
    p99Millis: quantile(times, 0.99),
    maxMillis: Math.max(...times),
  };
}
