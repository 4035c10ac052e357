import { describe, expect, it } from 'vitest';
import { DriftDetected, PolicyChanged } from '../../domain/events/tuning';
import { DEFAULT_POLICY, type Policy } from '../../domain/policy';
import { DEFAULT_TUNING_CONFIG, startExperiment } from '../../domain/tuning';
import { POLICY_HISTORY_ID } from '../../lambdas/shared/policy-store';
import type { TuningStore } from '../../lambdas/shared/tuning-store';
import { createApplyHandler } from '../../lambdas/tuning/apply/handler';
import { createApprovalHandler } from '../../lambdas/tuning/approval/handler';
import { createCycleHandler } from '../../lambdas/tuning/cycle/handler';
import { readDefinition, substitute } from '../../lib/definitions';
import { TUNING_FUNCTIONS, TUNING_STATE_MACHINE } from '../../lib/definitions/tuning';
import { AslRunner } from '../../local/asl-runner';
import { LocalEventRouter } from '../../local/event-router';
import { LOCAL_EVENT_BUS_NAME, localFunctionArn } from '../../local/local-names';
import { LocalEventPublisher } from '../../local/runtime';
import { agent, MINUTE, START, seedObservations, stores } from './support';

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly Next?: string;
  readonly Default?: string;
  readonly Choices?: readonly { readonly Next: string }[];
  readonly ItemProcessor?: { readonly StartAt: string; readonly States: Readonly<Record<string, AslState>> };
}

const raw = readDefinition(TUNING_STATE_MACHINE);
const asl = JSON.parse(raw) as { StartAt: string; TimeoutSeconds: number; States: Record<string, AslState> };

/** Every state, those inside Map item processors too. */
function allStates(states: Readonly<Record<string, AslState>>): [string, AslState][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, AslState],
    ...(state.ItemProcessor === undefined ? [] : allStates(state.ItemProcessor.States)),
  ]);
}

/**
 * A five-hour A/B trial of an EDF candidate that does clearly better than the active policy: a
 * high-impact change (another routing strategy), so its promotion waits for a person.
 */
async function seedBetterEdfTrial(tuning: TuningStore): Promise<void> {
  const candidate: Policy = {
    ...DEFAULT_POLICY,
    version: 'candidate-edf',
    routing: { strategy: 'edf', weights: {} },
  };
  const experiment = startExperiment({
    experimentId: 'exp-edf',
    candidate,
    active: DEFAULT_POLICY,
    mode: 'ab',
    treatmentShare: 0.5,
    now: START,
    startedBy: 'ops:ana',
  });
  await tuning.saveExperiment(experiment);
  await seedObservations(tuning, {
    minutes: 300,
    rate: () => 10,
    experiment,
    attainment: (arm) => (arm === 'treatment' ? 0.99 : 0.9),
  });
}

describe('tuning.asl.json', () => {
  it('uses exactly the placeholders its definition declares', () => {
    const values = Object.fromEntries(
      TUNING_STATE_MACHINE.placeholders.map((name) => [name, `value-of-${name}`]),
    );

    expect(substitute(raw, values)).not.toMatch(/\$\{[A-Za-z0-9]+\}/);
  });

  it('gives every Task, inside the Map too, a Retry and a Catch, and has a top-level timeout', () => {
    const tasks = allStates(asl.States).filter(([, state]) => state.Type === 'Task');

    expect(tasks.map(([name]) => name).sort()).toEqual([
      'Apply Decided Change',
      'Apply Policy Change',
      'Emit Drift Detected',
      'Run Tuning Cycle',
      'Wait For Approval',
    ]);
    for (const [name, state] of tasks) {
      expect(state.Retry?.length, `${name} has no Retry`).toBeGreaterThan(0);
      expect(state.Catch?.length, `${name} has no Catch`).toBeGreaterThan(0);
    }
    expect(asl.TimeoutSeconds).toBe(TUNING_STATE_MACHINE.timeoutDays * 86_400);
  });

  it('waits for a person with a task token and never retries the answer they sent', () => {
    const wait = asl.States['Wait For Approval'];

    expect(wait?.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    const retried = (wait?.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
    expect(retried).not.toContain('States.TaskFailed');
    expect(retried).not.toContain('States.ALL');
  });

  it('reaches every state from StartAt and keeps every transition inside the machine', () => {
    const reachable = new Set<string>();
    const visit = (name: string) => {
      if (reachable.has(name)) return;
      reachable.add(name);
      const state = asl.States[name];
      expect(state, `${name} exists`).toBeDefined();
      for (const next of [
        state?.Next,
        state?.Default,
        ...(state?.Choices ?? []).map((choice) => choice.Next),
        ...(state?.Catch ?? []).map((handler) => handler.Next),
      ]) {
        if (next !== undefined) visit(next);
      }
    };
    visit(asl.StartAt);

    expect([...reachable].sort()).toEqual(Object.keys(asl.States).sort());
  });
});

const CYCLE_ARN = localFunctionArn(TUNING_FUNCTIONS.tuningCycle);
const APPROVAL_ARN = localFunctionArn(TUNING_FUNCTIONS.tuningApproval);
const APPLY_ARN = localFunctionArn(TUNING_FUNCTIONS.tuningApply);

/** The tuning ASL in-process (aws-local-stepfunctions) over the real handlers and in-memory stores. */
function workflow(now: number) {
  const router = new LocalEventRouter({ rules: [] });
  const clock = { now: () => now };
  // The policy store announces on the same bus the state machine emits DriftDetected on.
  const { tables, features, tuning, policies, audit } = stores({
    clock,
    events: new LocalEventPublisher(router),
  });
  // 41 people at about 33 busy slots: 80% occupancy, the reference load of the risk threshold.
  for (let index = 0; index < 41; index++) features.seedAgent({ ...agent(`a-${index}`), changedAt: 0 });
  // What the scorer learned: about 200 s per item in both categories.
  for (const category of ['billing', 'orders']) {
    void features.updateHandlingStats({ scope: 'category', category }, () => ({
      count: 1000,
      mean: 200,
      m2: 1000 * 200 * 200,
    }));
  }
  const runner = new AslRunner({
    definition: substitute(raw, {
      [TUNING_FUNCTIONS.tuningCycle.placeholder]: CYCLE_ARN,
      [TUNING_FUNCTIONS.tuningApproval.placeholder]: APPROVAL_ARN,
      [TUNING_FUNCTIONS.tuningApply.placeholder]: APPLY_ARN,
      EventBusName: LOCAL_EVENT_BUS_NAME,
    }),
    stateMachineName: TUNING_STATE_MACHINE.id,
    bindings: {
      functions: {
        [CYCLE_ARN]: createCycleHandler({ tuning, features, clock }),
        [APPROVAL_ARN]: createApprovalHandler({ tuning, clock }),
        [APPLY_ARN]: createApplyHandler({ tuning, policies, clock }),
      },
      events: router,
    },
    retryIntervalMs: 0,
    now: clock.now,
  });
  const emitted = (detailType: string) =>
    router.events
      .filter((entry) => entry.event['detail-type'] === detailType)
      .map((entry) => entry.event.detail);
  return { tables, features, tuning, runner, router, emitted, audit };
}

async function waitForApprovalRequest(tuning: ReturnType<typeof stores>['tuning']) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const [pending] = await tuning.listPendingApprovals();
    if (pending !== undefined) return pending;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no approval request was stored');
}

describe('the tuning workflow, run in-process', () => {
  it('runs a quiet cycle to the end without emitting anything and saves its state', async () => {
    // Prepare: the synthetic operation records no reopens (0%, under the 5% target), which the
    // risk threshold rightly follows; thresholds are off here (tuning-guardrails tests them).
    const { runner, tuning, emitted } = workflow(START + 60 * MINUTE);
    await tuning.saveConfig({
      ...DEFAULT_TUNING_CONFIG,
      thresholds: { ...DEFAULT_TUNING_CONFIG.thresholds, enabled: false },
    });
    await seedObservations(tuning, { minutes: 60, rate: () => 10 });

    // Act
    runner.startExecution({ name: 'quiet', input: {} });
    const done = await runner.waitForExecution('quiet');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(emitted('DriftDetected')).toEqual([]);
    expect(emitted('PolicyChanged')).toEqual([]);
    expect((await tuning.readState())?.revision).toBe(1);
  });

  it('emits DriftDetected for a surge and rolls a worse candidate back without approval', async () => {
    // Prepare: arrivals step from 10 to 15 a minute at minute 150; the candidate's items do worse.
    const { runner, tuning, features, emitted } = workflow(START + 240 * MINUTE);
    const candidate: Policy = {
      ...DEFAULT_POLICY,
      version: 'candidate-worse',
      routing: { strategy: 'flowtune', weights: { sla: 4.1 } },
    };
    const experiment = startExperiment({
      experimentId: 'exp-worse',
      candidate,
      active: DEFAULT_POLICY,
      mode: 'ab',
      treatmentShare: 0.2,
      now: START,
      startedBy: 'ops:ana',
    });
    await tuning.saveExperiment(experiment);
    await seedObservations(tuning, {
      minutes: 240,
      rate: (minute) => (minute < 150 ? 10 : 15),
      experiment,
      attainment: (arm) => (arm === 'treatment' ? 0.8 : 0.95),
    });

    // Act
    runner.startExecution({ name: 'surge', input: {} });
    const done = await runner.waitForExecution('surge');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    const drift = emitted('DriftDetected');
    expect(drift.map((detail) => DriftDetected.parse(detail).kind)).toContain('arrival-rate');
    const [changed] = emitted('PolicyChanged').map((detail) => PolicyChanged.parse(detail));
    expect(changed).toMatchObject({
      kind: 'rolled-back',
      approval: 'automatic',
      policyVersion: DEFAULT_POLICY.version,
      previousVersion: 'candidate-worse',
    });
    expect((await tuning.readExperiment())?.status).toBe('rolled-back');
    expect((await features.getActivePolicy()).version).toBe(DEFAULT_POLICY.version);
  });

  it('holds a high-impact promotion for approval, then activates it as a new version with the approver recorded', async () => {
    // Prepare: a better candidate with another routing strategy.
    const { runner, tuning, features, emitted, audit } = workflow(START + 300 * MINUTE);
    await seedBetterEdfTrial(tuning);

    // Act: the execution parks; a person approves through the token it left.
    runner.startExecution({ name: 'promote', input: {} });
    const request = await waitForApprovalRequest(tuning);
    expect(runner.describeExecution('promote').status).toBe('RUNNING');
    expect(request.proposal.approvalReasons.join(' ')).toMatch(/routing strategy flowtune → edf/);
    runner.tokens.sendTaskSuccess(request.taskToken, {
      decision: 'approve',
      actor: 'ops:ben',
      reason: 'EDF wins on SLA in the trial',
    });
    const done = await runner.waitForExecution('promote');

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect((await features.getActivePolicy()).version).toBe('candidate-edf');
    expect((await tuning.getPolicyVersion('candidate-edf'))?.createdBy).toBe('ops:ben');
    const [changed] = emitted('PolicyChanged').map((detail) => PolicyChanged.parse(detail));
    expect(changed).toMatchObject({
      kind: 'promoted',
      approval: 'approved',
      approvedBy: 'ops:ben',
      policyVersion: 'candidate-edf',
    });
    expect((await tuning.readExperiment())?.status).toBe('promoted');
    const [history] = await audit.listForItem(POLICY_HISTORY_ID);
    expect(history).toMatchObject({
      kind: 'POLICY_CHANGED',
      actor: 'ops:ben',
      policyVersion: 'candidate-edf',
    });
  });

  it('changes nothing when the person rejects the promotion', async () => {
    const { runner, tuning, features, emitted } = workflow(START + 300 * MINUTE);
    await seedBetterEdfTrial(tuning);

    runner.startExecution({ name: 'reject', input: {} });
    const request = await waitForApprovalRequest(tuning);
    runner.tokens.sendTaskSuccess(request.taskToken, {
      decision: 'reject',
      actor: 'ops:ben',
      reason: 'not during the sale',
    });
    const done = await runner.waitForExecution('reject');

    expect(done.status).toBe('SUCCEEDED');
    expect((await features.getActivePolicy()).version).toBe(DEFAULT_POLICY.version);
    expect((await tuning.readExperiment())?.status).toBe('rejected');
    expect(emitted('PolicyChanged').map((detail) => PolicyChanged.parse(detail).kind)).toEqual(['rejected']);
  });
});
