import { describe, expect, it } from 'vitest';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { describePortContract } from './port-contract';

describePortContract('in-memory', async () => createInMemoryPorts());

describe('in-memory execution control', () => {
  it('resumes a task token once; every later resume of it is stale', async () => {
    // Prepare
    const { executions } = createInMemoryPorts();
    const token = executions.issueToken('assignment');

    // Act
    const outcomes = [
      await executions.sendTaskSuccess(token, { agentId: 'agent-ana' }),
      await executions.sendTaskSuccess(token, { agentId: 'agent-bo' }),
      await executions.sendTaskFailure(token, 'WorkItemCancelled', 'late'),
    ];

    // Assess
    expect(outcomes).toEqual(['sent', 'stale', 'stale']);
    expect(executions.tokenState(token)).toEqual({ state: 'succeeded', output: { agentId: 'agent-ana' } });
  });

  it('treats an expired token as stale', async () => {
    // Prepare
    const { executions } = createInMemoryPorts();
    const token = executions.issueToken();
    executions.expireToken(token);

    // Act
    const outcome = await executions.sendTaskSuccess(token, {});

    // Assess
    expect(outcome).toBe('stale');
  });
});

describe('in-memory event publisher', () => {
  it('refuses an outbound event that breaks its schema, before anything is published', async () => {
    // Prepare
    const { events } = createInMemoryPorts();

    // Act
    const publishing = events.publish('WorkItemRejected', {
      schemaVersion: '1',
      id: 'HD-1',
      detailType: 'WorkItemCreated',
      field: 'id',
      reason: 'bad',
      issues: [],
      rejectedAt: 'yesterday',
    });

    // Assess
    await expect(publishing).rejects.toThrow(/WorkItemRejected\.rejectedAt/);
    expect(events.published).toHaveLength(0);
  });
});
