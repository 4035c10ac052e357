import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEnvelope } from '../../domain/events';
import { DEFAULT_POLICY } from '../../domain/policy';
import type { AuditRecord } from '../../lambdas/shared/ports';
import { PROJECT_ROOT } from '../../lib/definitions';
import { AslRunner, UnsupportedDefinitionError } from '../../local/asl-runner';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { localFunctionArn } from '../../local/local-names';
import { createScaledClock, type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import type { JsonValue } from '../../local/task-tokens';
import { VirtualClock } from '../../local/virtual-clock';
import { VIRTUAL_EPOCH } from '../../local/workload/session';

const PARK_ARN = localFunctionArn({ id: 'TestPark' });

/** A reply wait whose timeout comes from the input, caught into a Pass, as Wait For Completion does. */
const REPLY_MACHINE = {
  StartAt: 'Wait For Reply',
  States: {
    'Wait For Reply': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: PARK_ARN, Payload: { 'taskToken.$': '$$.Task.Token' } },
      TimeoutSecondsPath: '$.replySeconds',
      ResultPath: '$.reply',
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Timed Out' }],
      End: true,
    },
    'Timed Out': { Type: 'Pass', End: true },
  },
};

/** A runner on `definition` whose park function records the tokens it is handed. */
function parkingRunner(definition: object, timeScale: number) {
  const tokens: string[] = [];
  const runner = new AslRunner({
    definition: JSON.stringify(definition),
    timeScale,
    bindings: {
      functions: {
        [PARK_ARN]: (payload: JsonValue) => {
          tokens.push((payload as { taskToken: string }).taskToken);
          return {};
        },
      },
    },
  });
  return { runner, tokens };
}

describe('createScaledClock', () => {
  it('runs `scale` times faster than the wall clock from its origin', () => {
    // Prepare
    let wall = 1_000_000;
    const clock = createScaledClock({ scale: 120, wallNow: () => wall });

    // Act
    wall += 1_500;
    const simulated = clock.now();

    // Assess
    expect(clock.origin).toBe(1_000_000);
    expect(simulated - clock.origin).toBe(180_000);
    expect(clock.toWallMs(180_000)).toBe(1_500);
  });

  it('refuses a scale that is not a positive number', () => {
    // Act
    const zero = () => createScaledClock({ scale: 0 });

    // Assess
    expect(zero).toThrow(/positive number, got 0/);
  });
});

describe('AslRunner under a time scale', () => {
  it('divides a TimeoutSecondsPath by the scale and refuses a late answer with TaskTimedOut', async () => {
    // Prepare: one simulated hour at 36,000× is 100 ms of wall time.
    const { runner, tokens } = parkingRunner(REPLY_MACHINE, 36_000);
    const started = Date.now();

    // Act
    runner.startExecution({ name: 'reply-1', input: { replySeconds: 3_600 } });
    const done = await runner.waitForExecution('reply-1', 5_000);
    const elapsed = Date.now() - started;
    const late = () => runner.tokens.sendTaskSuccess(tokens[0] ?? '', { replied: 'too late' });

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toMatchObject({ error: { Error: 'States.Timeout', Cause: 'States.Timeout' } });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(2_000);
    expect(late).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('lets an answer that comes within the scaled window through', async () => {
    // Prepare
    const { runner, tokens } = parkingRunner(REPLY_MACHINE, 36_000);
    runner.startExecution({ name: 'reply-2', input: { replySeconds: 36_000 } });
    while (tokens.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    // Act
    runner.tokens.sendTaskSuccess(tokens[0] ?? '', { replied: 'in time' });
    const done = await runner.waitForExecution('reply-2', 5_000);

    // Assess
    expect(done.output).toMatchObject({ reply: { replied: 'in time' } });
  });

  it.each([
    [1, 30 * 86_400],
    [2, 99_999_999],
  ])(
    'keeps a TimeoutSecondsPath beyond the Node timer limit waiting instead of firing at once (time scale %d, %d s)',
    async (timeScale, replySeconds) => {
      // Prepare: both are past setTimeout's 2^31-1 ms once scaled, which Node turns into 1 ms.
      const { runner, tokens } = parkingRunner(REPLY_MACHINE, timeScale);
      runner.startExecution({ name: `reply-far-${timeScale}`, input: { replySeconds } });
      while (tokens.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

      // Act: a few timer turns later, then an answer.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stillWaiting = runner.describeExecution(`reply-far-${timeScale}`).status;
      runner.tokens.sendTaskSuccess(tokens[0] ?? '', { replied: 'in time' });
      const done = await runner.waitForExecution(`reply-far-${timeScale}`, 5_000);

      // Assess
      expect(stillWaiting).toBe('RUNNING');
      expect(done.output).toMatchObject({ reply: { replied: 'in time' } });
    },
  );

  it('fails the state with States.Runtime when TimeoutSecondsPath is not a positive integer, as Step Functions does', async () => {
    // Prepare
    const { runner } = parkingRunner(REPLY_MACHINE, 60);

    // Act
    runner.startExecution({ name: 'reply-3', input: { replySeconds: 0.5 } });
    const done = await runner.waitForExecution('reply-3', 5_000);

    // Assess
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(done.cause).toMatch(/positive integer, got 0.5/);
  });

  it('scales a literal TimeoutSeconds, a Wait state and the execution timeout', async () => {
    // Prepare: at 10,800× a 2-hour Wait takes 0.67 s, and the 3-hour execution timeout (1 s) cuts the day-long wait.
    const { runner } = parkingRunner(
      {
        StartAt: 'Pause',
        TimeoutSeconds: 3 * 3_600,
        States: {
          Pause: { Type: 'Wait', Seconds: 7_200, Next: 'Wait Long' },
          'Wait Long': {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: { FunctionName: PARK_ARN, Payload: { 'taskToken.$': '$$.Task.Token' } },
            TimeoutSeconds: 86_400,
            End: true,
          },
        },
      },
      10_800,
    );
    const started = Date.now();

    // Act
    runner.startExecution({ name: 'long-1', input: {} });
    const done = await runner.waitForExecution('long-1', 5_000);
    const elapsed = Date.now() - started;

    // Assess
    expect(done.status).toBe('TIMED_OUT');
    const history = runner.getExecutionHistory('long-1');
    expect(history.some((event) => event.type === 'StateExited' && event.state.name === 'Pause')).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('refuses a timed Task with a States.TaskFailed rule, which would also match its timeout', () => {
    // Prepare
    const machine = structuredClone(REPLY_MACHINE);
    machine.States['Wait For Reply'].Catch = [
      { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Timed Out' },
    ];

    // Act
    const build = () => parkingRunner(machine, 60);

    // Assess
    expect(build).toThrow(UnsupportedDefinitionError);
    expect(build).toThrow(/Wait For Reply/);
  });

  it('refuses a Wait it cannot scale', () => {
    // Act
    const build = () =>
      parkingRunner(
        { StartAt: 'Pause', States: { Pause: { Type: 'Wait', SecondsPath: '$.seconds', End: true } } },
        60,
      );

    // Assess
    expect(build).toThrow(/Wait "Pause" uses SecondsPath/);
  });
});

function fixtureDetail(name: string): Record<string, unknown> {
  const path = join(PROJECT_ROOT, 'test/local/fixtures/events', `${name}.json`);
  return EventEnvelope.parse(JSON.parse(readFileSync(path, 'utf8'))).detail as Record<string, unknown>;
}

const kinds = (trail: readonly AuditRecord[]) => trail.map((record) => record.kind);

describe('the local runtime on virtual time, with decorators', { timeout: 60_000 }, () => {
  let dynamoDb: DynamoDbLocal;
  let runtime: LocalRuntime;
  // Virtual time: the SLA's hours pass as fast as the machine allows, however busy it is.
  const clock = new VirtualClock({ start: VIRTUAL_EPOCH });
  const decoratedPorts: string[] = [];
  let scoreCrashes = 1;

  beforeAll(async () => {
    dynamoDb = await startDynamoDbLocal();
    runtime = await startLocalRuntime({
      dynamoDb,
      clock,
      dispatchTickMs: false,
      retryIntervalMs: 10,
      decoratePorts: (ports) => {
        decoratedPorts.push(...Object.keys(ports));
        return ports;
      },
      // The first Score invocation crashes; the ASL's Retry must absorb it.
      decorateHandlers: (name, handler) =>
        name !== 'score'
          ? handler
          : async (event, context) => {
              if (scoreCrashes > 0) {
                scoreCrashes -= 1;
                throw new Error('injected crash');
              }
              return handler(event, context);
            },
    });
    await runtime.ports.features.putActivePolicy({
      ...DEFAULT_POLICY,
      version: 'time-scale-test',
      minCompletionWindowSeconds: 60,
      // Half the window for the first assignee, the rest for the second; unassigned until the due time.
      slaClock: { rerouteAtSlaFraction: 0.5, unassignedEscalationAtSlaFraction: 1 },
    });
    for (const agentId of ['agent-ana', 'agent-ben']) {
      const now = runtime.clock.now();
      await runtime.putEvent(
        'AgentStatusChanged',
        {
          ...fixtureDetail('agent-status-changed'),
          agentId,
          changedAt: new Date(now).toISOString(),
          shiftEndsAt: new Date(now + 30 * 24 * 3_600_000).toISOString(),
        },
        'workforce',
      );
    }
    await runtime.idle();
  });

  afterAll(async () => {
    await runtime?.stop();
    clock.stop();
    await dynamoDb?.stop();
  });

  it('builds the handlers on the decorated ports', () => {
    // Assess
    expect(decoratedPorts.sort()).toEqual([
      'audit',
      'dispatch',
      'events',
      'executions',
      'features',
      'instances',
    ]);
  });

  it('lets a 4-hour SLA pass: two missed windows, then escalation, on simulated time', async () => {
    // Prepare: P2 is due 4 simulated hours after creation.
    const itemId = 'TCK-scaled-1';
    const createdAt = runtime.clock.now();

    // Act
    await runtime.putEvent(
      'WorkItemCreated',
      {
        ...fixtureDetail('work-item-created'),
        id: itemId,
        slaClass: 'P2',
        createdAt: new Date(createdAt).toISOString(),
      },
      'helpdesk',
    );
    await runtime.waitForEmitted('WorkItemEscalated', itemId, 50_000);
    // The audit record follows the event (Audit Escalation comes after Escalate).
    let trail = await runtime.auditTrail(itemId);
    for (let poll = 0; poll < 200 && !kinds(trail).includes('ESCALATED'); poll++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      trail = await runtime.auditTrail(itemId);
    }

    // Assess
    expect(kinds(trail)).toEqual(expect.arrayContaining(['RECEIVED', 'ROUTED', 'REROUTED', 'ESCALATED']));
    const escalatedAt = Date.parse(trail.find((record) => record.kind === 'ESCALATED')?.at ?? '');
    expect((escalatedAt - createdAt) / 3_600_000).toBeGreaterThanOrEqual(4);
    expect(runtime.functionStats.score).toMatchObject({ errors: 1 });
  });
});
