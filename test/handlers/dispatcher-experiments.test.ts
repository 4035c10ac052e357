import { describe, expect, it } from 'vitest';
import type { AgentState } from '../../domain/model';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { AssignmentResult, type DispatchMessage } from '../../domain/process';
import type { RoutingPolicy } from '../../domain/routing';
import { armKey, type Experiment, experimentArm, startExperiment } from '../../domain/tuning';
import {
  createDispatcherHandler,
  type RoundReport,
  routingPolicyFor,
} from '../../lambdas/dispatcher/handler';
import { createInMemoryPorts, type InMemoryPorts } from '../../lambdas/shared/in-memory';
import { InMemoryTuningStore } from '../../lambdas/shared/tuning-store';
import { createObserveHandler } from '../../lambdas/tuning/observe/handler';
import { agent, loadEvent, MINUTE, sqsEvent, T0, withDetail } from './support';

type Enqueue = Extract<DispatchMessage, { kind: 'enqueue' }>;

const EXPERIMENT_START = T0 - 60 * MINUTE;

/** A candidate that routes by another registered strategy than the active Flowtune policy. */
const CANDIDATE: Policy = {
  ...DEFAULT_POLICY,
  version: 'candidate-edf',
  routing: { strategy: 'edf', weights: {} },
};

function experimentOf(mode: 'ab' | 'shadow', overrides: Partial<Experiment> = {}): Experiment {
  return {
    ...startExperiment({
      experimentId: `exp-${mode}`,
      candidate: CANDIDATE,
      active: DEFAULT_POLICY,
      mode,
      treatmentShare: 0.5,
      now: EXPERIMENT_START,
      startedBy: 'ops:ana',
    }),
    ...overrides,
  };
}

/** Which items each policy version was asked to decide, round by round. */
type Asked = { version: string; itemIds: string[] }[];

function setup(options: { experiment?: Experiment; routing?: (policy: Policy) => RoutingPolicy } = {}) {
  const ports = createInMemoryPorts(T0);
  const tuning = new InMemoryTuningStore(ports.tables);
  const rounds: RoundReport[] = [];
  const asked: Asked = [];
  const build = options.routing ?? routingPolicyFor;
  const handler = createDispatcherHandler({
    ...ports,
    experiments: tuning,
    onRound: (report) => rounds.push(report),
    routing: (policy) => {
      const inner = build(policy);
      return {
        name: inner.name,
        assign: (round) => {
          asked.push({ version: policy.version, itemIds: round.waiting.map((item) => item.itemId) });
          return inner.assign(round);
        },
      };
    },
  });
  return { ...ports, tuning, handler, rounds, asked, experiment: options.experiment };
}

type World = ReturnType<typeof setup>;

async function prepare(world: World, agents: readonly AgentState[]): Promise<void> {
  for (const candidate of agents) world.features.seedAgent(candidate);
  if (world.experiment !== undefined) await world.tuning.saveExperiment(world.experiment);
}

function enqueueMessage(ports: InMemoryPorts, itemId: string, overrides: Partial<Enqueue> = {}): Enqueue {
  return {
    kind: 'enqueue',
    taskToken: ports.executions.issueToken(`assign-${itemId}`),
    itemId,
    category: 'billing',
    requiredSkills: [{ skill: 'billing', minProficiency: 2 }],
    priority: 3,
    createdAt: new Date(T0 - 10 * MINUTE).toISOString(),
    slaDueAt: new Date(T0 + 4 * 60 * MINUTE).toISOString(),
    attempt: 1,
    excludedAgents: [],
    enqueuedAt: new Date(T0 - MINUTE).toISOString(),
    ...overrides,
  };
}

function resumedAssignment(ports: InMemoryPorts, token: string): AssignmentResult | undefined {
  const state = ports.executions.tokenState(token);
  return state?.state === 'succeeded' ? AssignmentResult.parse(state.output) : undefined;
}

/** Six agents of different proficiency, two slots each: 12 free slots. */
const TEAM: readonly AgentState[] = [5, 4, 3, 3, 2, 2].map((proficiency, index) =>
  agent({
    agentId: `agent-${index + 1}`,
    capacity: 2,
    skills: [{ skill: 'billing', proficiency }],
  }),
);

const ITEM_IDS = Array.from({ length: 20 }, (_, index) => `HD-${1000 + index}`);

/** Due dates spread over the day, so earliest-deadline-first and Flowtune order items differently. */
function itemMessages(world: World): Enqueue[] {
  return ITEM_IDS.map((itemId, index) =>
    enqueueMessage(world, itemId, {
      slaDueAt: new Date(T0 + (30 + ((index * 37) % 240)) * MINUTE).toISOString(),
    }),
  );
}

describe('dispatcher with an A/B experiment', () => {
  it('routes the treatment arm by the candidate and the rest by the active policy, stamping arm and version', async () => {
    // Prepare
    const experiment = experimentOf('ab');
    const world = setup({ experiment });
    await prepare(world, TEAM);
    const messages = itemMessages(world);

    // Act
    await world.handler(sqsEvent(messages, { fifo: true }));

    // Assess: the split is the item id's arm, and each arm was decided by its own policy only.
    const armOf = (itemId: string) => experimentArm(itemId, experiment);
    const treatment = ITEM_IDS.filter((itemId) => armOf(itemId) === 'treatment');
    expect(treatment.length).toBeGreaterThan(0);
    expect(treatment.length).toBeLessThan(ITEM_IDS.length);
    expect(world.asked).toHaveLength(2);
    const byVersion = Object.fromEntries(world.asked.map((entry) => [entry.version, entry.itemIds.sort()]));
    expect(byVersion[CANDIDATE.version]).toEqual([...treatment].sort());
    expect(byVersion[DEFAULT_POLICY.version]).toEqual(
      ITEM_IDS.filter((itemId) => !treatment.includes(itemId)).sort(),
    );
    for (const message of messages) {
      const assignment = resumedAssignment(world, message.taskToken);
      if (assignment === undefined) continue;
      const arm = armOf(message.itemId);
      expect(assignment).toMatchObject({
        experimentArm: arm,
        policyVersion: arm === 'treatment' ? CANDIDATE.version : DEFAULT_POLICY.version,
      });
      const assigned = (await world.audit.listForItem(message.itemId)).find(
        (record) => record.kind === 'ASSIGNED',
      );
      expect(assigned?.policyVersion).toBe(assignment.policyVersion);
      expect(JSON.parse(assigned?.details ?? '{}')).toMatchObject({
        experimentArm: arm,
        experimentId: experiment.experimentId,
      });
    }
  });

  it('splits deterministically by item id: a second run over the same items puts each in the same arm', async () => {
    // Prepare
    const arms = async () => {
      const world = setup({ experiment: experimentOf('ab') });
      await prepare(world, TEAM);
      const messages = itemMessages(world);
      await world.handler(sqsEvent(messages, { fifo: true }));
      return Object.fromEntries(
        messages.map((message) => [
          message.itemId,
          resumedAssignment(world, message.taskToken)?.experimentArm,
        ]),
      );
    };

    // Act
    const first = await arms();
    const second = await arms();

    // Assess
    expect(second).toEqual(first);
    expect(new Set(Object.values(first))).toEqual(new Set(['control', 'treatment', undefined]));
  });

  it('lets the second arm use only the capacity the first left: never more than the free slots, no lost claims', async () => {
    // Prepare: 20 items for 12 slots.
    const world = setup({ experiment: experimentOf('ab') });
    await prepare(world, TEAM);

    // Act
    await world.handler(sqsEvent(itemMessages(world), { fifo: true }));

    // Assess
    expect(world.rounds[0]).toMatchObject({ conflicts: 0 });
    expect(world.rounds[0]?.assigned).toHaveLength(12);
    for (const member of TEAM) expect((await world.features.getAgent(member.agentId))?.activeCount).toBe(2);
  });

  it('has its outcomes counted by the observe function in the very arm the dispatcher stamped', async () => {
    // Prepare: one A/B round, then every assigned item completes within its SLA.
    const experiment = experimentOf('ab');
    const world = setup({ experiment });
    await prepare(world, TEAM);
    const messages = itemMessages(world);
    await world.handler(sqsEvent(messages, { fifo: true }));
    const observe = createObserveHandler({ tuning: world.tuning, instances: world.instances });
    const stamped = new Map<string, number>();
    const completedAt = T0 + 20 * MINUTE;

    // Act
    for (const message of messages) {
      const assignment = resumedAssignment(world, message.taskToken);
      if (assignment === undefined) continue;
      const key = armKey(experiment.experimentId, assignment.experimentArm);
      stamped.set(key, (stamped.get(key) ?? 0) + 1);
      await observe(
        withDetail(loadEvent('helpdesk/work-item-completed'), {
          id: message.itemId,
          handledBy: assignment.agentId,
          startedAt: new Date(T0).toISOString(),
          completedAt: new Date(completedAt).toISOString(),
        }),
      );
    }

    // Assess
    const buckets = await world.tuning.readBuckets(completedAt - MINUTE, completedAt + MINUTE);
    const counted = Object.fromEntries(
      Object.entries(buckets[0]?.outcomes ?? {}).map(([key, outcomes]) => [key, outcomes.decided]),
    );
    expect(counted).toEqual(Object.fromEntries(stamped));
    expect(Object.keys(counted).sort()).toEqual([
      armKey(experiment.experimentId, 'control'),
      armKey(experiment.experimentId, 'treatment'),
    ]);
  });

  it('routes items created before the experiment started by the active policy, outside any arm', async () => {
    // Prepare
    const world = setup({ experiment: experimentOf('ab') });
    await prepare(world, TEAM);
    const early = ITEM_IDS.map((itemId) =>
      enqueueMessage(world, itemId, { createdAt: new Date(EXPERIMENT_START - MINUTE).toISOString() }),
    );

    // Act
    await world.handler(sqsEvent(early.slice(0, 10), { fifo: true }));

    // Assess
    expect(world.asked.map((entry) => entry.version)).toEqual([DEFAULT_POLICY.version]);
    for (const message of early.slice(0, 10)) {
      expect(resumedAssignment(world, message.taskToken)).toMatchObject({
        experimentArm: 'none',
        policyVersion: DEFAULT_POLICY.version,
      });
    }
  });

  it('stops splitting once the experiment is decided', async () => {
    // Prepare
    const world = setup({
      experiment: experimentOf('ab', { status: 'rolled-back', decidedAt: T0 - MINUTE }),
    });
    await prepare(world, TEAM);
    const messages = itemMessages(world).slice(0, 10);

    // Act
    await world.handler(sqsEvent(messages, { fifo: true }));

    // Assess
    expect(world.asked.map((entry) => entry.version)).toEqual([DEFAULT_POLICY.version]);
    for (const message of messages)
      expect(resumedAssignment(world, message.taskToken)?.experimentArm).toBe('none');
  });

  it('keeps routing by the active policy when the candidate cannot route at all', async () => {
    // Prepare: the candidate's routing cannot be built (a document that slipped past the schema).
    const world = setup({
      experiment: experimentOf('ab'),
      routing: (policy) => {
        if (policy.version === CANDIDATE.version) throw new RangeError('candidate cannot route');
        return routingPolicyFor(policy);
      },
    });
    await prepare(world, TEAM);
    const messages = itemMessages(world).slice(0, 10);

    // Act
    const response = await world.handler(sqsEvent(messages, { fifo: true }));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(world.rounds[0]?.assigned).toHaveLength(10);
    for (const message of messages)
      expect(resumedAssignment(world, message.taskToken)?.policyVersion).toBe(DEFAULT_POLICY.version);
  });

  it('refuses to store an experiment whose candidate names an unknown strategy or weight', async () => {
    // Prepare
    const world = setup();
    const unknownStrategy = experimentOf('ab', {
      candidate: { ...CANDIDATE, routing: { strategy: 'no-such-strategy', weights: {} } },
    });
    const unknownWeight = experimentOf('ab', {
      candidate: { ...CANDIDATE, routing: { strategy: 'flowtune', weights: { slaa: 6 } } },
    });

    // Act + Assess
    await expect(world.tuning.saveExperiment(unknownStrategy)).rejects.toThrow(
      /unknown routing strategy .*no-such-strategy/,
    );
    await expect(world.tuning.saveExperiment(unknownWeight)).rejects.toThrow(
      /unknown flowtune weight .*slaa/,
    );
  });
});

describe('dispatcher with a shadow experiment', () => {
  async function run(experiment: Experiment | undefined) {
    const world = setup(experiment === undefined ? {} : { experiment });
    await prepare(world, TEAM);
    const messages = itemMessages(world);
    await world.handler(sqsEvent(messages, { fifo: true }));
    const live = Object.fromEntries(
      messages.map((message) => [message.itemId, resumedAssignment(world, message.taskToken) ?? null]),
    );
    return { world, live };
  }

  it('changes no live decision: the assignments equal those of the same round without the experiment', async () => {
    // Prepare
    const baseline = await run(undefined);

    // Act
    const shadowed = await run(experimentOf('shadow'));

    // Assess
    expect(shadowed.live).toEqual(baseline.live);
    expect(shadowed.world.rounds[0]?.assigned).toEqual(baseline.world.rounds[0]?.assigned);
    for (const member of TEAM) {
      expect((await shadowed.world.features.getAgent(member.agentId))?.activeCount).toBe(
        (await baseline.world.features.getAgent(member.agentId))?.activeCount,
      );
    }
  });

  it('records one SHADOW_DECISION per live decision with the candidate agent beside the live one', async () => {
    // Prepare
    const experiment = experimentOf('shadow');

    // Act
    const { world, live } = await run(experiment);

    // Assess
    const records = world.audit.all().filter((record) => record.kind === 'SHADOW_DECISION');
    const assigned = world.rounds[0]?.assigned ?? [];
    expect(assigned.length).toBeGreaterThan(0);
    expect(records.map((record) => record.itemId).sort()).toEqual(
      assigned.map((entry) => entry.itemId).sort(),
    );
    expect(world.rounds[0]?.shadowDecisions).toBe(assigned.length);
    const details = records.map(
      (record) =>
        JSON.parse(record.details ?? '{}') as {
          liveAgentId: string;
          candidateAgentId: string | null;
          agreed: boolean;
        },
    );
    for (const [index, record] of records.entries()) {
      expect(record.policyVersion).toBe(CANDIDATE.version);
      expect(details[index]).toMatchObject({
        experimentId: experiment.experimentId,
        candidateVersion: CANDIDATE.version,
        liveVersion: DEFAULT_POLICY.version,
        liveAgentId: live[record.itemId]?.agentId,
      });
      expect(details[index]?.agreed).toBe(details[index]?.candidateAgentId === details[index]?.liveAgentId);
    }
    expect(details.some((detail) => !detail.agreed)).toBe(true);
    for (const entry of Object.values(live)) if (entry !== null) expect(entry.experimentArm).toBe('none');
  });

  it('writes no SHADOW_DECISION when no experiment runs', async () => {
    // Act
    const { world } = await run(undefined);

    // Assess
    expect(world.audit.all().filter((record) => record.kind === 'SHADOW_DECISION')).toEqual([]);
    expect(world.rounds[0]?.shadowDecisions).toBeUndefined();
  });
});
