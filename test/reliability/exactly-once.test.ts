import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssignmentResult, CompletionResult } from '../../domain/process';
import { createCompletionHandler } from '../../lambdas/completion/handler';
import { createDispatcherHandler } from '../../lambdas/dispatcher/handler';
import { createIntakeHandler } from '../../lambdas/intake/handler';
import { createParkHandler } from '../../lambdas/park/handler';
import { createRecordOutcomeHandler } from '../../lambdas/record-outcome/handler';
import {
  createInMemoryPorts,
  InMemoryDispatchTrigger,
  InMemoryEventPublisher,
  InMemoryExecutionControl,
  ManualClock,
} from '../../lambdas/shared/in-memory';
import type { CapacityClaim, ClaimOutcome, EnqueueRequest, InstanceStore } from '../../lambdas/shared/ports';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { FaultPlan } from '../../local/faults';
import { loadEvent, sqsEvent, validatedItem } from '../handlers/support';
import {
  type DynamoDbPorts,
  type DynamoDbTestEnvironment,
  startDynamoDbTestEnvironment,
} from '../support/dynamodb-local';

/**
 * Exactly once, proven against AWS's DynamoDB Local (real conditions and transactions, real
 * concurrency): capacity is never exceeded and no item is assigned twice under overlapping dispatch
 * rounds and completions; duplicates of every inbound event change nothing; an old dispatch
 * message redriven after a re-route cannot re-open the item.
 */

let db: DynamoDbTestEnvironment | undefined;

beforeAll(async () => {
  db = await startDynamoDbTestEnvironment();
});

afterAll(async () => {
  await db?.stop();
});

async function fresh(): Promise<DynamoDbPorts> {
  if (db === undefined) throw new Error('DynamoDB Local did not start');
  return db.freshTables();
}

const T0 = Date.parse('2026-11-20T09:00:00.000Z');
const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);

function enqueueRequest(itemId: string, taskToken: string, enqueuedAt: number): EnqueueRequest {
  return {
    itemId,
    taskToken,
    category: 'billing',
    priority: 3,
    requiredSkills: [{ skill: 'billing', minProficiency: 1 }],
    createdAt: enqueuedAt - 60_000,
    slaDueAt: enqueuedAt + 4 * 3_600_000,
    attempt: 1,
    excludedAgents: [],
    enqueuedAt,
    at: enqueuedAt,
  };
}

function tick(at: number) {
  return sqsEvent([{ kind: 'tick', reason: 'test', at: new Date(at).toISOString() }], { fifo: true });
}

/** Items holding a slot of each agent, read straight from the Instances table. */
async function holdersByAgent(ports: DynamoDbPorts): Promise<Map<string, number>> {
  if (db === undefined) throw new Error('DynamoDB Local did not start');
  const holders = new Map<string, number>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.documentClient.send(
      new ScanCommand({
        TableName: ports.tableNames.instancesTable,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      if (typeof item.capacityHeldBy === 'string') {
        holders.set(item.capacityHeldBy, (holders.get(item.capacityHeldBy) ?? 0) + 1);
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return holders;
}

describe('capacity invariant under concurrent dispatch rounds and completions', { timeout: 120_000 }, () => {
  it("never lets an agent's active work exceed capacity and assigns every item exactly once", async () => {
    // Prepare
    const ports = await fresh();
    const clock = new ManualClock(T0);
    const executions = new InMemoryExecutionControl();
    const agents = [
      { agentId: 'agent-a', capacity: 1 },
      { agentId: 'agent-b', capacity: 2 },
      { agentId: 'agent-c', capacity: 3 },
      { agentId: 'agent-d', capacity: 1 },
      { agentId: 'agent-e', capacity: 2 },
    ];
    const capacityOf = new Map(agents.map((agent) => [agent.agentId, agent.capacity]));
    for (const { agentId, capacity } of agents) {
      await ports.features.putAgentProfile({
        agentId,
        kind: 'person',
        status: 'available',
        capacity,
        skills: [{ skill: 'billing', proficiency: 3 }],
        changedAt: T0 - 60_000,
      });
    }
    const itemCount = 40;
    const tokens = new Map<string, string>();
    for (let index = 0; index < itemCount; index++) {
      const itemId = `HD-${index}`;
      const token = executions.issueToken(`assign-${itemId}`);
      tokens.set(itemId, token);
      await ports.instances.enqueue(enqueueRequest(itemId, token, T0 - 600_000 + index));
    }
    // Count every successful claim per item, whoever made it.
    const claims = new Map<string, number>();
    const features = Object.assign(Object.create(ports.features), {
      claimCapacity: async (claim: CapacityClaim): Promise<ClaimOutcome> => {
        const outcome = await ports.features.claimCapacity(claim);
        if (outcome.outcome === 'claimed') claims.set(claim.itemId, (claims.get(claim.itemId) ?? 0) + 1);
        return outcome;
      },
    }) as typeof ports.features;
    // Each worker sees its own share of the waiting items, so overlapping rounds pick different
    // items for the same agents: the agent's condition, not the item's, must stop the excess.
    const workers = 3;
    const dispatchers = Array.from({ length: workers }, (_, worker) => {
      const instances = Object.assign(Object.create(ports.instances), {
        listByStage: async (stage: Parameters<InstanceStore['listByStage']>[0], limit?: number) =>
          (await ports.instances.listByStage(stage, limit)).filter(
            (record) => Number(record.itemId.slice(3)) % workers === worker,
          ),
      }) as InstanceStore;
      return createDispatcherHandler({ ...ports, instances, features, executions, clock });
    });
    const recordOutcome = createRecordOutcomeHandler({
      ...ports,
      dispatch: new InMemoryDispatchTrigger(),
      clock,
    });
    const completed = new Set<string>();
    const violations: string[] = [];
    let running = true;

    const monitor = (async () => {
      while (running) {
        for (const agent of await ports.features.listAgents()) {
          if (agent.activeCount > agent.capacity) {
            violations.push(`${agent.agentId} activeCount ${agent.activeCount} > ${agent.capacity}`);
          }
        }
        for (const [agentId, held] of await holdersByAgent(ports)) {
          if (held > (capacityOf.get(agentId) ?? 0)) violations.push(`${agentId} holds ${held} items`);
        }
      }
    })();

    const complete = async (itemId: string, assignment: AssignmentResult) => {
      const input = {
        itemId,
        item: validatedItem({ id: itemId }),
        scoring: {
          score: { modelVersion: assignment.modelVersion, predictedHandlingSeconds: 600 },
          decision: { path: 'routing' },
          policyVersion: assignment.policyVersion,
        },
        assignment,
        completion: CompletionResult.parse({
          id: itemId,
          outcome: 'resolved',
          handledBy: assignment.agentId,
          completedAt: new Date(T0 + 600_000).toISOString(),
        }),
        attempt: 1,
      };
      // Every other completion is retried concurrently, as a Step Functions retry after a timeout would.
      const invocations = Number(itemId.slice(3)) % 2 === 0 ? 2 : 1;
      await Promise.all(Array.from({ length: invocations }, () => recordOutcome(input)));
    };

    // Agents hold each item a little while, so an excess would stand long enough to be seen.
    const firstSeen = new Map<string, number>();
    const completer = async () => {
      while (completed.size < itemCount) {
        for (const [itemId, token] of tokens) {
          const state = executions.tokenState(token);
          if (state?.state !== 'succeeded' || completed.has(itemId)) continue;
          const seen = firstSeen.get(itemId) ?? Date.now();
          firstSeen.set(itemId, seen);
          if (Date.now() - seen < 15) continue;
          completed.add(itemId);
          await complete(itemId, AssignmentResult.parse(state.output));
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };

    const dispatchWorker = async (dispatcher: (typeof dispatchers)[number]) => {
      while (completed.size < itemCount) {
        const response = await dispatcher(tick(clock.now()));
        expect(response.batchItemFailures).toEqual([]);
      }
    };

    // Act
    const deadline = setTimeout(() => {
      running = false;
    }, 90_000);
    await Promise.all([completer(), completer(), ...dispatchers.map(dispatchWorker)]);
    running = false;
    clearTimeout(deadline);
    await monitor;

    // Assess
    expect(violations).toEqual([]);
    expect(completed.size).toBe(itemCount);
    expect([...claims.values()].every((count) => count === 1)).toBe(true);
    expect(claims.size).toBe(itemCount);
    for (const itemId of tokens.keys()) {
      const trail = await ports.audit.listForItem(itemId);
      expect(
        trail.filter((record) => record.kind === 'ASSIGNED'),
        itemId,
      ).toHaveLength(1);
      expect(
        trail.filter((record) => record.kind === 'COMPLETED'),
        itemId,
      ).toHaveLength(1);
    }
    for (const agent of await ports.features.listAgents()) expect(agent.activeCount, agent.agentId).toBe(0);
    expect(await holdersByAgent(ports)).toEqual(new Map());
    // Every item's statistics were fed once, however often Record Outcome ran.
    expect((await ports.features.readHandlingFeatures()).global.count).toBe(itemCount);
  });
});

describe('duplicates change nothing', { timeout: 60_000 }, () => {
  it('a WorkItemCreated delivered several times, also concurrently, starts one execution', async () => {
    // Prepare
    const ports = await fresh();
    const executions = new InMemoryExecutionControl();
    const started: string[] = [];
    const intake = createIntakeHandler({
      executions: {
        ...executions,
        startExecution: async (name, input) => {
          const outcome = await executions.startExecution(name, input);
          if (outcome === 'started') started.push(name);
          return outcome;
        },
        describeExecution: (name) => executions.describeExecution(name),
        sendTaskSuccess: (token, output) => executions.sendTaskSuccess(token, output),
        sendTaskFailure: (token, error, cause) => executions.sendTaskFailure(token, error, cause),
      },
      audit: ports.audit,
      events: new InMemoryEventPublisher(),
      pseudonymise,
    });
    const created = loadEvent('helpdesk/work-item-created');
    const copies = [0, 1, 2, 3].map((copy) => ({ ...created, id: `event-${copy}` }));

    // Act
    const batch = await intake(sqsEvent([...copies, copies[0]]));
    const redelivered = await intake(sqsEvent(copies));

    // Assess
    expect(batch.batchItemFailures).toEqual([]);
    expect(redelivered.batchItemFailures).toEqual([]);
    expect(started).toEqual([created.detail.id]);
    const trail = await ports.audit.listForItem(String(created.detail.id));
    expect(trail.filter((record) => record.kind === 'RECEIVED')).toHaveLength(1);
    expect(trail.filter((record) => record.kind === 'DUPLICATE').length).toBeGreaterThan(0);
  });

  it('concurrent duplicates of a WorkItemCompleted resume the waiting execution exactly once', async () => {
    // Prepare
    const ports = await fresh();
    const executions = new InMemoryExecutionControl();
    let resumes = 0;
    const counting = {
      startExecution: executions.startExecution.bind(executions),
      describeExecution: executions.describeExecution.bind(executions),
      sendTaskFailure: executions.sendTaskFailure.bind(executions),
      sendTaskSuccess: async (token: string, output: unknown) => {
        const outcome = await executions.sendTaskSuccess(token, output);
        if (outcome === 'sent') resumes += 1;
        return outcome;
      },
    };
    const completion = createCompletionHandler({
      ...ports,
      events: new InMemoryEventPublisher(),
      executions: counting,
      pseudonymise,
    });
    const park = createParkHandler({ ...ports, executions: counting });
    const event = loadEvent('helpdesk/work-item-completed');
    const itemId = String(event.detail.id);
    await ports.instances.enqueue(enqueueRequest(itemId, 'assign-token', T0));
    const completionToken = executions.issueToken('completion');
    await park({
      waitingFor: 'completion',
      taskToken: completionToken,
      itemId,
      attempt: 1,
      agentId: 'agent-ana',
      context: {},
    });

    // Act
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, copy) => completion({ ...event, id: `completed-${copy}` })),
    );

    // Assess
    expect(resumes).toBe(1);
    expect(answers.filter((answer) => answer.status === 'resumed')).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 'duplicate')).toHaveLength(7);
    expect(executions.tokenState(completionToken)).toMatchObject({ state: 'succeeded' });
    const trail = await ports.audit.listForItem(itemId);
    expect(trail.filter((record) => record.kind === 'COMPLETION_RECEIVED')).toHaveLength(1);
  });

  it('a duplicate that reads the hand-over its taker has not sent yet leaves the send to the taker (no late copy kept)', async () => {
    // Prepare: the taker's send waits until a duplicate delivery has run to its end
    const ports = await fresh();
    const executions = new InMemoryExecutionControl();
    let duplicate: Promise<{ status: string }> | undefined;
    let resumes = 0;
    const racing = {
      startExecution: executions.startExecution.bind(executions),
      describeExecution: executions.describeExecution.bind(executions),
      sendTaskFailure: executions.sendTaskFailure.bind(executions),
      sendTaskSuccess: async (token: string, output: unknown) => {
        if (duplicate === undefined) {
          duplicate = completion({ ...event, id: 'completed-again' });
          await duplicate;
        }
        const outcome = await executions.sendTaskSuccess(token, output);
        if (outcome === 'sent') resumes += 1;
        return outcome;
      },
    };
    const completion = createCompletionHandler({
      ...ports,
      events: new InMemoryEventPublisher(),
      executions: racing,
      pseudonymise,
    });
    const park = createParkHandler({ ...ports, executions: racing });
    const event = loadEvent('helpdesk/work-item-completed');
    const itemId = String(event.detail.id);
    await ports.instances.enqueue(enqueueRequest(itemId, 'assign-token', T0));
    const completionToken = executions.issueToken('completion');
    await park({ waitingFor: 'completion', taskToken: completionToken, itemId, attempt: 1, context: {} });

    // Act
    const taker = await completion(event);

    // Assess
    expect(taker.status).toBe('resumed');
    expect((await duplicate)?.status).toBe('duplicate');
    expect(resumes).toBe(1);
    const kinds = (await ports.audit.listForItem(itemId)).map((record) => record.kind);
    expect(kinds).not.toContain('LATE_COMPLETION');
    expect((await ports.instances.get(itemId))?.earlyCompletion).toBeUndefined();
  });

  it('a completion whose resume failed transiently is applied once when it is redelivered', async () => {
    // Prepare
    const ports = await fresh();
    const executions = new InMemoryExecutionControl();
    const completion = createCompletionHandler({
      ...ports,
      events: new InMemoryEventPublisher(),
      executions,
      pseudonymise,
    });
    const park = createParkHandler({ ...ports, executions });
    const event = loadEvent('helpdesk/work-item-completed');
    const itemId = String(event.detail.id);
    await ports.instances.enqueue(enqueueRequest(itemId, 'assign-token', T0));
    const completionToken = executions.issueToken('completion');
    await park({ waitingFor: 'completion', taskToken: completionToken, itemId, attempt: 1, context: {} });
    executions.failNextResume(Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const first = await completion(event).catch((error: unknown) => error);
    const retried = await completion(event);
    const duplicate = await completion({ ...event, id: 'another-delivery' });

    // Assess
    expect(first).toMatchObject({ name: 'ThrottlingException' });
    expect(retried.status).toBe('resumed');
    expect(duplicate.status).toBe('duplicate');
    expect(executions.tokenState(completionToken)).toMatchObject({ state: 'succeeded' });
  });
});

/** An item assigned with one token, re-routed, and assigned again with a second token, on `instances`. */
async function assignedTwice(
  instances: InstanceStore,
  features: DynamoDbPorts['features'] | ReturnType<typeof createInMemoryPorts>['features'],
) {
  const firstWait = T0;
  const secondWait = T0 + 2 * 3_600_000;
  await instances.enqueue(enqueueRequest('HD-7', 'token-attempt-1', firstWait));
  await features.claimCapacity({
    agentId: 'agent-a',
    itemId: 'HD-7',
    taskToken: 'token-attempt-1',
    at: firstWait,
  });
  // The completion window closed: Release Capacity, then a new Wait For Assignment.
  await features.releaseCapacity({ itemId: 'HD-7', agentId: 'agent-a', at: secondWait - 1 });
  await instances.enqueue({
    ...enqueueRequest('HD-7', 'token-attempt-2', secondWait),
    attempt: 2,
    excludedAgents: ['agent-a'],
  });
  await features.claimCapacity({
    agentId: 'agent-b',
    itemId: 'HD-7',
    taskToken: 'token-attempt-2',
    at: secondWait,
  });
  return { firstWait, secondWait };
}

describe('a redriven dispatch message of an earlier wait', () => {
  const agentProfile = (agentId: string) => ({
    agentId,
    kind: 'person' as const,
    status: 'available' as const,
    capacity: 1,
    skills: [{ skill: 'billing', proficiency: 3 }],
    changedAt: T0 - 60_000,
  });

  it.each(['DynamoDB Local', 'in memory'] as const)(
    'cannot re-open an item that a later wait already assigned (%s)',
    async (where) => {
      // Prepare
      const ports = where === 'DynamoDB Local' ? await fresh() : createInMemoryPorts(T0);
      for (const agentId of ['agent-a', 'agent-b', 'agent-c'])
        await ports.features.putAgentProfile(agentProfile(agentId));
      const { firstWait } = await assignedTwice(ports.instances, ports.features);

      // Act
      const written = await ports.instances.enqueue(enqueueRequest('HD-7', 'token-attempt-1', firstWait));

      // Assess
      expect(written.ok).toBe(false);
      const item = await ports.instances.get('HD-7');
      expect(item).toMatchObject({ stage: 'ASSIGNED', assignee: 'agent-b', capacityHeldBy: 'agent-b' });
      expect((await ports.features.getAgent('agent-b'))?.activeCount).toBe(1);
    },
  );

  it('is ignored by the dispatcher: no claim, no failure sent, the live assignment kept', async () => {
    // Prepare
    const ports = await fresh();
    for (const agentId of ['agent-a', 'agent-b', 'agent-c'])
      await ports.features.putAgentProfile(agentProfile(agentId));
    const { firstWait, secondWait } = await assignedTwice(ports.instances, ports.features);
    const executions = new InMemoryExecutionControl();
    const dispatcher = createDispatcherHandler({
      ...ports,
      executions,
      clock: new ManualClock(secondWait + 60_000),
    });
    const redriven = {
      kind: 'enqueue',
      taskToken: 'token-attempt-1',
      itemId: 'HD-7',
      category: 'billing',
      requiredSkills: [{ skill: 'billing', minProficiency: 1 }],
      priority: 3,
      createdAt: new Date(firstWait - 60_000).toISOString(),
      slaDueAt: new Date(firstWait + 4 * 3_600_000).toISOString(),
      attempt: 1,
      excludedAgents: [],
      enqueuedAt: new Date(firstWait).toISOString(),
    };

    // Act
    const response = await dispatcher(sqsEvent([redriven], { fifo: true }));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(executions.tokens.size).toBe(0);
    expect(await ports.instances.get('HD-7')).toMatchObject({ stage: 'ASSIGNED', capacityHeldBy: 'agent-b' });
    for (const agentId of ['agent-a', 'agent-c'])
      expect((await ports.features.getAgent(agentId))?.activeCount).toBe(0);
  });
});

describe('retries after faults', { timeout: 60_000 }, () => {
  it('park turns a throttled DynamoDB call into TransientFailureError, which its wait retries', async () => {
    // Prepare
    const ports = await fresh();
    const executions = new InMemoryExecutionControl();
    const plan = new FaultPlan({ seed: 3, dynamoDb: { throttleRate: 1, methods: ['storeTaskToken'] } });
    const faulty = plan.decoratePorts({
      ...ports,
      events: new InMemoryEventPublisher(),
      executions,
      dispatch: new InMemoryDispatchTrigger(),
    });
    const park = createParkHandler(faulty);
    const request = {
      waitingFor: 'completion' as const,
      taskToken: 'tok',
      itemId: 'HD-9',
      attempt: 1,
      context: {},
    };
    await ports.instances.enqueue(enqueueRequest('HD-9', 'assign', T0));

    // Act
    const error = await park(request).catch((caught: unknown) => caught);
    const retried = await createParkHandler({ ...ports, executions })(request);
    const again = await createParkHandler({ ...ports, executions })(request);

    // Assess
    expect(error).toMatchObject({ name: 'TransientFailureError' });
    expect(retried.status).toBe('parked');
    expect(again.status).toBe('parked');
    expect(await ports.instances.get('HD-9')).toMatchObject({ stage: 'IN_PROGRESS', taskToken: 'tok' });
  });

  it('Record Outcome timed out after doing its work releases the slot once when retried', async () => {
    // Prepare
    const ports = await fresh();
    await ports.features.putAgentProfile({
      agentId: 'agent-ana',
      kind: 'person',
      status: 'available',
      capacity: 2,
      skills: [],
      changedAt: T0 - 60_000,
    });
    await ports.instances.enqueue(enqueueRequest('HD-10428', 'assign', T0));
    await ports.features.claimCapacity({
      agentId: 'agent-ana',
      itemId: 'HD-10428',
      taskToken: 'assign',
      at: T0,
    });
    const plan = new FaultPlan({ seed: 5, handlers: { recordOutcome: { timeoutRate: 1 } } });
    const handler = createRecordOutcomeHandler({ ...ports, dispatch: new InMemoryDispatchTrigger() });
    const timingOut = plan.decorateHandler('recordOutcome', handler);
    const completion = CompletionResult.parse(loadEvent('helpdesk/work-item-completed').detail);
    const input = {
      itemId: 'HD-10428',
      item: validatedItem(),
      scoring: {
        score: { modelVersion: 'm', predictedHandlingSeconds: 900 },
        decision: { path: 'routing' },
        policyVersion: 'p',
      },
      assignment: {
        agentId: 'agent-ana',
        agentKind: 'person',
        predictedHandlingSeconds: 900,
        explanation: {
          summary: 's',
          chosen: { agentId: 'agent-ana', cost: 1, terms: [] },
          candidatesConsidered: 1,
        },
        policyVersion: 'p',
        modelVersion: 'm',
        experimentArm: 'none',
        routedAt: '2026-11-20T09:05:00.000Z',
      },
      completion,
      attempt: 1,
    };

    // Act
    const timedOut = await timingOut(input).catch((error: unknown) => error);
    const retried = await handler(input);

    // Assess
    expect(timedOut).toMatchObject({ name: 'Sandbox.Timedout' });
    expect(retried).toMatchObject({ capacityReleased: false, statsUpdated: false });
    expect((await ports.features.getAgent('agent-ana'))?.activeCount).toBe(0);
    expect((await ports.features.readHandlingFeatures()).global.count).toBe(1);
    const trail = await ports.audit.listForItem('HD-10428');
    expect(trail.filter((record) => record.kind === 'COMPLETED')).toHaveLength(1);
  });
});
