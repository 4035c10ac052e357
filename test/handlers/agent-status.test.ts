import { describe, expect, it } from 'vitest';
import { agentAuditId, createAgentStatusHandler } from '../../lambdas/agent-status/handler';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { AFTER_FIXTURES, loadEvent, T0 } from './support';

function setup() {
  const ports = createInMemoryPorts(AFTER_FIXTURES);
  return {
    ...ports,
    handler: createAgentStatusHandler({ ...ports, pseudonymise: createPseudonymiser(LOCAL_PSEUDONYM_KEY) }),
  };
}

describe('agent-status handler', () => {
  it('stores a new agent, idle since the change, and asks for a dispatch round', async () => {
    // Prepare
    const world = setup();

    // Act
    const response = await world.handler(loadEvent('workforce/agent-status-changed'));

    // Assess
    expect(response).toEqual({ status: 'created', agentId: 'agent-ana' });
    expect(await world.features.getAgent('agent-ana')).toMatchObject({
      status: 'available',
      kind: 'person',
      capacity: 2,
      activeCount: 0,
      skills: [
        { skill: 'billing', proficiency: 4 },
        { skill: 'technical', proficiency: 2 },
      ],
      idleSince: Date.parse('2026-11-20T08:54:58Z'),
      shiftEndsAt: Date.parse('2026-11-20T17:00:00Z'),
    });
    expect(world.dispatch.ticks).toEqual([
      {
        kind: 'tick',
        reason: 'agent-status:agent-ana:available',
        at: new Date(AFTER_FIXTURES).toISOString(),
      },
    ]);
    expect((await world.audit.listForItem('agent#agent-ana')).map((record) => record.kind)).toEqual([
      'AGENT_STATUS_CHANGED',
    ]);
  });

  it('keeps the items an agent already holds when their status changes', async () => {
    // Prepare
    const world = setup();
    world.features.seedAgent({
      agentId: 'agent-ana',
      kind: 'person',
      status: 'available',
      skills: [],
      capacity: 2,
      activeCount: 2,
      idleSince: T0 - 3_600_000,
      changedAt: Date.parse('2026-11-20T08:54:58Z'),
    });

    // Act
    await world.handler(loadEvent('workforce/agent-status-changed-busy'));

    // Assess
    expect(await world.features.getAgent('agent-ana')).toMatchObject({ status: 'busy', activeCount: 2 });
  });

  it('keeps a change older than the stored one as an AGENT_STATUS_STALE record, not applied, and triggers no round', async () => {
    // Prepare
    const world = setup();
    await world.handler(loadEvent('workforce/agent-status-changed-busy'));
    world.dispatch.ticks.length = 0;
    const older = loadEvent('workforce/agent-status-changed');

    // Act
    const response = await world.handler(older);
    await world.handler(older);

    // Assess
    expect(response.status).toBe('stale');
    expect((await world.features.getAgent('agent-ana'))?.status).toBe('busy');
    expect(world.dispatch.ticks).toEqual([]);
    const stale = (await world.audit.listForItem(agentAuditId('agent-ana'))).filter(
      (record) => record.kind === 'AGENT_STATUS_STALE',
    );
    expect(stale).toHaveLength(1);
    expect(JSON.parse(stale[0]?.details ?? '{}')).toMatchObject({
      outcome: 'stale',
      eventId: older.id,
    });
  });

  it('rejects an invalid change naming the field, recorded on the agent trail and announced', async () => {
    // Prepare
    const world = setup();

    // Act
    const response = await world.handler(loadEvent('workforce/agent-status-changed-invalid-capacity'));

    // Assess
    expect(response.status).toBe('rejected');
    expect(await world.features.getAgent('agent-bo')).toBeUndefined();
    expect(world.events.published[0]?.detail).toMatchObject({
      id: 'agent-bo',
      detailType: 'AgentStatusChanged',
      field: 'capacity',
    });
    expect((await world.audit.listForItem('agent#agent-bo')).map((record) => record.kind)).toEqual([
      'REJECTED',
    ]);
    expect(world.dispatch.ticks).toEqual([]);
  });
});
