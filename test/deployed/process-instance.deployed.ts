import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentStatusChanged,
  WorkItemCompleted,
  WorkItemCreated,
  WorkItemRejected,
  WorkItemRouted,
} from '../../domain/events';
import { readDeployedTarget } from './deployed-stack';
import { DeployedFlowtune, eventually, fixture, OutboundObserver } from './harness';

/**
 * End to end against the deployed stack: real events on the bus, the rules, the intake queue and
 * Lambda, one Step Functions execution per item, the dispatcher's FIFO round, the task tokens,
 * and what lands in the tables and comes out as events. Every name is unique to the run, so the
 * suite can run again and again against a long-lived endpoint.
 */

const flowtune = new DeployedFlowtune(readDeployedTarget(process.env));
const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
// A skill only this run's agents have, so the dispatcher cannot give our items to anyone else.
const skill = `deployed-${runId}`;
const agentIds = [`deployed-${runId}-ada`, `deployed-${runId}-grace`];

function agentStatus(agentId: string, status: 'available' | 'offline'): AgentStatusChanged {
  return AgentStatusChanged.parse({
    ...fixture('agent-status-changed'),
    agentId,
    status,
    skills: [{ skill, proficiency: 4 }],
    changedAt: new Date().toISOString(),
  });
}

function workItem(itemId: string, fixtureName = 'work-item-created'): Record<string, unknown> {
  return {
    ...fixture(fixtureName),
    id: itemId,
    category: skill,
    requiredSkills: [{ skill, minProficiency: 2 }],
    createdAt: new Date().toISOString(),
  };
}

function completion(itemId: string, handledBy: string): WorkItemCompleted {
  return WorkItemCompleted.parse({
    ...fixture('work-item-completed'),
    id: itemId,
    handledBy,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    completedAt: new Date().toISOString(),
  });
}

/** Runs a step of a test; if it fails, the error carries what happened to the item so far. */
async function explained<T>(itemId: string, step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    const diagnosis = await flowtune
      .diagnose(itemId)
      .catch((cause: unknown) => `(no diagnosis: ${String(cause)})`);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${diagnosis}`, {
      cause: error,
    });
  }
}

let observer: OutboundObserver;

beforeAll(async () => {
  observer = await OutboundObserver.subscribe(flowtune, runId);
  // A category with history, so the score is confident and the policy routes instead of asking a person.
  await flowtune.seedCategoryHistory(skill, { count: 40, meanSeconds: 900, stdDevSeconds: 300 });
  for (const agentId of agentIds)
    await flowtune.putInbound('AgentStatusChanged', agentStatus(agentId, 'available'));
  // Items sent before the agents are known would wait for the next dispatch tick (a minute).
  await eventually('both agents available in the Features table', async () => {
    const agents = await Promise.all(agentIds.map((agentId) => flowtune.agent(agentId)));
    return agents.every((agent) => agent?.status === 'available') ? agents : undefined;
  });
});

afterAll(async () => {
  for (const agentId of agentIds)
    await flowtune.putInbound('AgentStatusChanged', agentStatus(agentId, 'offline'));
  await observer?.dispose();
});

describe('a work item on the deployed stack', () => {
  it('is routed to an available skilled agent, audited as ROUTED, and its execution SUCCEEDS on completion', async () => {
    // Prepare
    const itemId = `dep-${runId}-routed`;
    expect(WorkItemCreated.safeParse(workItem(itemId)).success).toBe(true);

    // Act
    await flowtune.putInbound('WorkItemCreated', workItem(itemId));
    const routed = WorkItemRouted.parse(
      (await explained(itemId, observer.waitFor('WorkItemRouted', itemId))).detail,
    );
    await flowtune.putInbound('WorkItemCompleted', completion(itemId, routed.assignee.agentId));
    const execution = await explained(itemId, flowtune.finishedExecution(itemId));

    // Assess
    const trail = await flowtune.auditTrail(itemId);
    const instance = await flowtune.instance(itemId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(agentIds).toContain(routed.assignee.agentId);
    expect(routed.path).toBe('routing');
    expect(routed.explanation.chosen.agentId).toBe(routed.assignee.agentId);
    const routedRecords = trail.filter((record) => record.kind === 'ROUTED');
    expect(routedRecords).toHaveLength(1);
    expect(JSON.parse(String(routedRecords[0]?.details))).toMatchObject({ agentId: routed.assignee.agentId });
    expect(trail.map((record) => record.kind)).toEqual(expect.arrayContaining(['RECEIVED', 'ROUTED']));
    expect(instance?.stage).toBe('COMPLETED');
  });

  it('is rejected when malformed: the execution FAILS as WorkItemRejected and the audit record and event name the field', async () => {
    // Prepare
    const itemId = `dep-${runId}-bad-priority`;
    expect(WorkItemCreated.safeParse(workItem(itemId, 'work-item-created-bad-priority')).success).toBe(false);

    // Act
    await flowtune.putInbound('WorkItemCreated', workItem(itemId, 'work-item-created-bad-priority'));
    const execution = await explained(itemId, flowtune.finishedExecution(itemId));
    const rejected = WorkItemRejected.parse(
      (await explained(itemId, observer.waitFor('WorkItemRejected', itemId))).detail,
    );
    const record = await flowtune.auditRecord(itemId, 'REJECTED');

    // Assess
    // Rejected input is an answered outcome, not a failed execution (issue 21 defect 9).
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({ outcome: 'rejected' });
    expect(rejected.field).toBe('priority');
    expect(rejected.reason).not.toBe('');
    expect(JSON.parse(String(record.details))).toMatchObject({ field: 'priority' });
    expect(observer.seen('WorkItemRouted', itemId)).toEqual([]);
  });

  it('starts one execution and routes once when its WorkItemCreated is delivered twice', async () => {
    // Prepare
    const itemId = `dep-${runId}-twice`;
    const created = workItem(itemId);

    // Act
    await flowtune.putInbound('WorkItemCreated', created);
    await flowtune.putInbound('WorkItemCreated', created);
    await explained(itemId, flowtune.auditRecord(itemId, 'DUPLICATE'));
    const routed = WorkItemRouted.parse(
      (await explained(itemId, observer.waitFor('WorkItemRouted', itemId))).detail,
    );
    await flowtune.putInbound('WorkItemCompleted', completion(itemId, routed.assignee.agentId));
    const execution = await explained(itemId, flowtune.finishedExecution(itemId));
    await observer.drain();

    // Assess
    const trail = await flowtune.auditTrail(itemId);
    expect(await flowtune.executionsNamed(itemId)).toHaveLength(1);
    expect(execution.status).toBe('SUCCEEDED');
    expect(trail.filter((record) => record.kind === 'RECEIVED')).toHaveLength(1);
    expect(trail.filter((record) => record.kind === 'DUPLICATE')).toHaveLength(1);
    expect(trail.filter((record) => record.kind === 'ROUTED')).toHaveLength(1);
    expect(observer.seen('WorkItemRouted', itemId)).toHaveLength(1);
  });
});
