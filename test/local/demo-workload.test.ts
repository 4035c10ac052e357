import { describe, expect, it } from 'vitest';
import { validateDetail } from '../../domain/events';
import { mean } from '../../domain/metrics';
import {
  CATEGORIES,
  createdDetail,
  DEMO_TROUBLE,
  handlingSeconds,
  meanHandlingSeconds,
  type PlannedAgent,
  planWorkload,
  slaDueAt,
  validItems,
} from '../../local/workload/plan';

const CREATED_AT = Date.parse('2026-11-03T09:00:00Z');
const plan = planWorkload({ seed: 7, items: 300, horizonSeconds: 300 * 18 });

const fate = (name: string) => plan.items.filter((item) => item.fate === name);

describe('planWorkload', () => {
  it('plans the same workload for the same seed and another one for another seed', () => {
    // Act
    const again = planWorkload({ seed: 7, items: 300, horizonSeconds: 300 * 18 });
    const other = planWorkload({ seed: 8, items: 300, horizonSeconds: 300 * 18 });

    // Assess
    expect(again).toEqual(plan);
    expect(other.items.map((item) => item.category)).not.toEqual(plan.items.map((item) => item.category));
  });

  it('spreads the arrivals over the horizon in time order', () => {
    // Act
    const arrivals = plan.items.map((item) => item.arrivalAt);

    // Assess
    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
    expect(Math.min(...arrivals)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...arrivals)).toBeLessThanOrEqual(300 * 18);
    expect(new Set(plan.items.map((item) => item.itemId)).size).toBe(300);
  });

  it('plans each kind of trouble at its share', () => {
    // Assess
    expect(fate('malformed')).toHaveLength(Math.round(DEMO_TROUBLE.malformed * 300));
    expect(fate('never-completes')).toHaveLength(Math.round(DEMO_TROUBLE.neverCompletes * 300));
    expect(fate('cancelled')).toHaveLength(Math.round(DEMO_TROUBLE.cancelled * 300));
    expect(plan.items.filter((item) => item.duplicateAfter !== undefined)).toHaveLength(
      Math.round(DEMO_TROUBLE.duplicateCreated * 300),
    );
    expect(plan.items.filter((item) => item.slaGroup === 'rush')).toHaveLength(
      Math.round(DEMO_TROUBLE.rush * 300),
    );
    expect(plan.items.filter((item) => item.earlyCompletion)).toHaveLength(
      Math.round(DEMO_TROUBLE.earlyCompletion * 300),
    );
  });

  it('makes the never-completing items P1s of the first half, so their windows pass during the run', () => {
    // Assess
    for (const item of fate('never-completes')) {
      expect(item.slaGroup).toBe('P1');
      expect(item.arrivalAt).toBeLessThan((300 * 18) / 2);
    }
  });

  it('asks for the language only on long-SLA items, so no item that can be re-routed depends on the few who speak it', () => {
    // Act
    const withLanguage = plan.items.filter((item) =>
      item.requiredSkills.some((skill) => skill.skill === 'german'),
    );

    // Assess
    expect(withLanguage.length).toBeGreaterThan(0);
    for (const item of withLanguage) {
      expect(['P3', 'P4']).toContain(item.slaGroup);
      expect(item.fate).not.toBe('never-completes');
    }
  });

  it('never duplicates, cancels or completes early an item that is malformed', () => {
    // Assess
    for (const item of fate('malformed')) {
      expect(item.defect).toBeDefined();
      expect(item.duplicateAfter).toBeUndefined();
      expect(item.earlyCompletion).toBe(false);
      expect(item.cancelAfter).toBeUndefined();
    }
  });

  it('gives the automated category only low-priority P4 items, which the demo policy automates', () => {
    // Prepare
    const automated = new Set(
      CATEGORIES.filter((category) => category.automated).map((entry) => entry.category),
    );

    // Assess
    const items = plan.items.filter((item) => automated.has(item.category));
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(item.slaGroup).toBe('P4');
      expect(item.priority).toBeLessThanOrEqual(2);
    }
  });

  it('staffs every valid item with an agent who works the whole run and holds all its required skills', () => {
    // Prepare
    const canDo = (agent: PlannedAgent, item: (typeof plan.items)[number]) =>
      item.requiredSkills.every((required) =>
        agent.skills.some(
          (held) => held.skill === required.skill && held.proficiency >= required.minProficiency,
        ),
      );

    // Act
    const stayers = plan.agents.filter((agent) => agent.offlineAt === undefined);
    const unstaffed = [4, 12, 40].flatMap((agents) => {
      const planned = planWorkload({ seed: 7, items: 300, horizonSeconds: 5400, agents });
      const stay = planned.agents.filter((agent) => agent.offlineAt === undefined);
      return validItems(planned)
        .filter((item) => !stay.some((agent) => canDo(agent, item)))
        .map((item) => `${agents} agents: ${item.itemId}`);
    });

    // Assess
    expect(stayers.length).toBeGreaterThanOrEqual(4);
    expect(unstaffed).toEqual([]);
  });

  it('brings latecomers online during the run and replays a stale status after each agent who leaves', () => {
    // Act
    const leavers = plan.agents.filter((agent) => agent.offlineAt !== undefined);
    const replays = plan.statuses.filter((status) => status.staleReplayOf !== undefined);

    // Assess
    expect(plan.agents).toHaveLength(12);
    expect(plan.agents.some((agent) => agent.onlineAt > 0)).toBe(true);
    expect(leavers.length).toBeGreaterThan(0);
    expect(replays.map((status) => status.agentId).sort()).toEqual(
      leavers.map((agent) => agent.agentId).sort(),
    );
    for (const replay of replays) {
      const leftAt = leavers.find((agent) => agent.agentId === replay.agentId)?.offlineAt ?? 0;
      expect(replay.at).toBeGreaterThan(leftAt);
    }
  });

  it('refuses a plan without items or with fewer agents than categories', () => {
    // Act
    const empty = () => planWorkload({ seed: 1, items: 0, horizonSeconds: 60 });
    const understaffed = () => planWorkload({ seed: 1, items: 10, horizonSeconds: 60, agents: 3 });

    // Assess
    expect(empty).toThrow(/items must be a positive integer, got 0/);
    expect(understaffed).toThrow(/at least 4 \(one per category\), got 3/);
  });
});

describe('createdDetail', () => {
  it('produces a WorkItemCreated that passes the inbound schema for every valid item', () => {
    // Act
    const failures = validItems(plan)
      .map((item) => ({
        item,
        validation: validateDetail('WorkItemCreated', createdDetail(plan, item, CREATED_AT)),
      }))
      .filter(({ validation }) => !validation.ok);

    // Assess
    expect(failures).toEqual([]);
  });

  it('breaks each malformed item at exactly the field its defect names', () => {
    // Act
    const fields = fate('malformed').map((item) => {
      const validation = validateDetail('WorkItemCreated', createdDetail(plan, item, CREATED_AT));
      return { expected: item.defect?.field, got: validation.ok ? 'valid' : validation.field };
    });

    // Assess
    expect(fields.length).toBeGreaterThan(0);
    for (const { expected, got } of fields) expect(got).toBe(expected);
  });

  it('gives rush items a due time minutes away instead of an SLA class', () => {
    // Prepare
    const rush = plan.items.find((item) => item.slaGroup === 'rush');
    if (rush === undefined) throw new Error('the plan has no rush item');

    // Act
    const detail = createdDetail(plan, rush, CREATED_AT);

    // Assess
    expect(detail.slaClass).toBeUndefined();
    expect(Date.parse(String(detail.slaDueAt)) - CREATED_AT).toBe(5 * 60_000);
    expect(slaDueAt(plan, rush, CREATED_AT)).toBe(CREATED_AT + 5 * 60_000);
  });
});

describe('handlingSeconds', () => {
  const item = validItems(plan).find((candidate) => candidate.category === 'billing');
  const agent = plan.agents.find((candidate) => candidate.skills.some((skill) => skill.skill === 'billing'));

  it('draws the same time for the same item, attempt and agent, whatever was drawn before', () => {
    // Prepare
    if (item === undefined || agent === undefined) throw new Error('no billing item or agent');

    // Act
    const first = handlingSeconds(plan, item, agent, 1);
    handlingSeconds(plan, item, agent, 2);
    const again = handlingSeconds(plan, item, agent, 1);

    // Assess
    expect(again).toBe(first);
  });

  it('averages the agent mean for the category over many items', () => {
    // Prepare
    if (agent === undefined) throw new Error('no billing agent');
    const billing = planWorkload({ seed: 3, items: 3000, horizonSeconds: 3000 }).items.filter(
      (candidate) => candidate.category === 'billing',
    );

    // Act
    const drawn = mean(billing.map((candidate) => handlingSeconds(plan, candidate, agent, 1)));

    // Assess
    expect(Math.abs(drawn / meanHandlingSeconds(agent, 'billing') - 1)).toBeLessThan(0.08);
  });

  it('makes a less proficient agent slower on the same category', () => {
    // Prepare
    const expert: PlannedAgent = {
      agentId: 'a',
      skills: [{ skill: 'claims', proficiency: 5 }],
      capacity: 3,
      speed: 1,
      onlineAt: 0,
    };
    const learner: PlannedAgent = { ...expert, agentId: 'b', skills: [{ skill: 'claims', proficiency: 2 }] };

    // Act
    const ratio = meanHandlingSeconds(learner, 'claims') / meanHandlingSeconds(expert, 'claims');

    // Assess
    expect(ratio).toBeCloseTo(1.1 / 0.8, 5);
  });
});
