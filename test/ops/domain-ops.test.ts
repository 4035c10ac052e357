import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentState } from '../../domain/model';
import {
  type AslDocument,
  AWS_LIST_PRICES,
  definitionUsage,
  estimateItemCost,
  itemCost,
  PathNotInDefinitionError,
  PROCESS_PATHS,
  ZERO_USAGE,
} from '../../domain/ops/cost-model';
import {
  HUMAN_ACTIONS,
  overrideCandidates,
  overrideObstacle,
  planHumanAction,
  ReviewDecision,
  type WaitState,
} from '../../domain/ops/human-tasks';
import { METRICS, type MetricKey } from '../../domain/ops/metrics';
import {
  approvalObstacle,
  type PolicyProposal,
  policyChanges,
  proposalObstacle,
} from '../../domain/ops/policy-proposal';
import { DEFAULT_POLICY } from '../../domain/policy';
import { PROCESS_INSTANCE, PROJECT_ROOT, readDefinition } from '../../lib/definitions';

const asl = JSON.parse(readDefinition(PROCESS_INSTANCE)) as AslDocument;
const who = { actor: 'arn:aws:iam::1:user/ana', reason: 'checked' };
const waiting = (waitingFor: WaitState['waitingFor'], stage: string, scored = true): WaitState => ({
  stage,
  scored,
  taskToken: 't-1',
  ...(waitingFor === undefined ? {} : { waitingFor }),
});

describe('planHumanAction: what a person may do, by what the process waits for', () => {
  it.each([
    ['human-review', 'HUMAN_REVIEW', 'approve', { kind: 'resume', output: { action: 'approve' } }],
    ['human-review', 'HUMAN_REVIEW', 'reject', { kind: 'resume', output: { action: 'reject' } }],
    ['human-review', 'HUMAN_REVIEW', 'override', { kind: 'override', from: 'human-review' }],
    ['exception', 'EXCEPTION', 'approve', { kind: 'resume', output: { action: 'requeue' } }],
    ['exception', 'EXCEPTION', 'reject', { kind: 'resume', output: { action: 'close' } }],
    ['exception', 'EXCEPTION', 'override', { kind: 'override', from: 'exception' }],
    ['assignment', 'WAITING_ASSIGNMENT', 'override', { kind: 'override', from: 'assignment' }],
    ['assignment', 'WAITING_ASSIGNMENT', 'appeal', { kind: 'appeal', from: 'assignment' }],
    ['completion', 'IN_PROGRESS', 'appeal', { kind: 'appeal', from: 'completion' }],
  ] as const)('waiting for %s (%s): %s → %o', (waitingFor, stage, action, expected) => {
    expect(planHumanAction(waiting(waitingFor, stage), action, who)).toMatchObject({
      taskToken: 't-1',
      ...expected,
    });
  });

  it.each([
    ['human-review', 'HUMAN_REVIEW', 'appeal', /nothing was decided yet/],
    ['assignment', 'WAITING_ASSIGNMENT', 'approve', /waits for the dispatcher, not for a person/],
    ['completion', 'IN_PROGRESS', 'override', /appeal first to re-open the decision/],
    ['exception', 'EXCEPTION', 'appeal', /already with people/],
  ] as const)('waiting for %s (%s): refuses %s, saying why', (waitingFor, stage, action, reason) => {
    const plan = planHumanAction(waiting(waitingFor, stage), action, who);

    expect(plan.kind).toBe('refuse');
    expect(plan.kind === 'refuse' ? plan.reason : '').toMatch(reason);
  });

  it('refuses every action on a finished item, and on an item between waits', () => {
    for (const action of HUMAN_ACTIONS) {
      expect(planHumanAction({ stage: 'COMPLETED', scored: true }, action, who).kind).toBe('refuse');
      expect(planHumanAction({ stage: 'ASSIGNED', scored: true }, action, who).kind).toBe('refuse');
    }
  });

  it('will not requeue or assign an exception raised before the item was scored', () => {
    const unscored = waiting('exception', 'EXCEPTION', false);

    expect(planHumanAction(unscored, 'approve', who).kind).toBe('refuse');
    expect(planHumanAction(unscored, 'override', who).kind).toBe('refuse');
    expect(planHumanAction(unscored, 'reject', who)).toMatchObject({
      kind: 'resume',
      output: { action: 'close' },
    });
  });

  it('sends decisions the state machine contract accepts', () => {
    const plan = planHumanAction(waiting('human-review', 'HUMAN_REVIEW'), 'approve', who);

    expect(plan.kind === 'resume' && ReviewDecision.safeParse(plan.output).success).toBe(true);
  });
});

describe('override candidates and obstacles', () => {
  const agent = (agentId: string, overrides: Partial<AgentState>): AgentState => ({
    agentId,
    kind: 'person',
    status: 'available',
    skills: [{ skill: 'billing', proficiency: 3 }],
    capacity: 2,
    activeCount: 0,
    idleSince: 0,
    ...overrides,
  });
  const item = { requiredSkills: [{ skill: 'billing', minProficiency: 3 }] };

  it('lists skilled agents with free capacity first, then the busy ones, never the unskilled or excluded', () => {
    const agents = [
      agent('busy', { activeCount: 2 }),
      agent('free-1', { activeCount: 1, idleSince: 5 }),
      agent('free-2', { idleSince: 9 }),
      agent('novice', { skills: [{ skill: 'billing', proficiency: 1 }] }),
      agent('excluded', {}),
    ];

    const candidates = overrideCandidates({ ...item, excludedAgents: ['excluded'] }, agents, 100);

    expect(candidates.map((c) => [c.agentId, c.freeSlots])).toEqual([
      ['free-2', 2],
      ['free-1', 1],
      ['busy', 0],
    ]);
  });

  it('names what stops an override: unknown agent, missing skill, no free capacity', () => {
    expect(overrideObstacle(undefined, item, 'ghost', 0)).toMatch(/no agent "ghost"/);
    expect(overrideObstacle(agent('n', { skills: [] }), item, 'n', 0)).toMatch(/lacks a required skill/);
    expect(overrideObstacle(agent('o', { status: 'offline' }), item, 'o', 0)).toMatch(
      /no free capacity \(offline/,
    );
    expect(overrideObstacle(agent('ok', {}), item, 'ok', 0)).toBeUndefined();
  });
});

describe('policy proposals', () => {
  const v2 = {
    ...DEFAULT_POLICY,
    version: 'v2',
    minConfidence: 0.3,
    routing: { strategy: 'flowtune', weights: { sla: 2 } },
  };
  const proposal: PolicyProposal = {
    version: 'v2',
    policy: v2,
    rationale: 'why',
    proposedBy: 'ana',
    proposedAt: '2026-11-20T09:00:00.000Z',
    status: 'proposed',
    changes: [],
  };

  it('lists the fields a proposal changes, weights compared whatever their key order', () => {
    expect(policyChanges(DEFAULT_POLICY, v2)).toEqual(['minConfidence', 'routing.weights']);
    expect(
      policyChanges(
        { ...v2, routing: { strategy: 'flowtune', weights: { a: 1, b: 2 } } },
        { ...v2, routing: { strategy: 'flowtune', weights: { b: 2, a: 1 } } },
      ),
    ).toEqual([]);
  });

  it('accepts only a new version that changes something', () => {
    expect(proposalObstacle(v2, DEFAULT_POLICY, [])).toBeUndefined();
    expect(proposalObstacle({ ...v2, version: DEFAULT_POLICY.version }, DEFAULT_POLICY, [])).toMatch(
      /active policy's version/,
    );
    expect(proposalObstacle(v2, DEFAULT_POLICY, ['v2'])).toMatch(/already exists/);
    expect(proposalObstacle({ ...DEFAULT_POLICY, version: 'v3' }, DEFAULT_POLICY, [])).toMatch(
      /changes nothing/,
    );
  });

  it('lets another person approve a proposal, once', () => {
    expect(approvalObstacle(proposal, 'bob')).toBeUndefined();
    expect(approvalObstacle(proposal, 'ana')).toMatch(/another person must approve it/);
    expect(approvalObstacle({ ...proposal, status: 'approved', approvedBy: 'bob' }, 'cleo')).toMatch(
      /already approved \(by bob\)/,
    );
  });
});

describe('the cost-per-item model', () => {
  it('walks each priced path through the real definition, transition by transition', () => {
    for (const path of Object.values(PROCESS_PATHS)) expect(() => definitionUsage(asl, path)).not.toThrow();
    expect(() => definitionUsage(asl, ['Validate Item', 'Record Outcome'])).toThrow(PathNotInDefinitionError);
  });

  it('counts what Step Functions bills on the main path: 11 transitions, one routed event, one audit write, one dispatch send', () => {
    expect(definitionUsage(asl, PROCESS_PATHS.routing)).toEqual({
      stateTransitions: 11,
      lambdaTasks: [
        'ValidateFunctionArn',
        'ScoreFunctionArn',
        'PlanWaitFunctionArn',
        'ParkFunctionArn',
        'RecordOutcomeFunctionArn',
      ].map((placeholder) => `\${${placeholder}}`),
      dynamoDbWrites: 1,
      eventsPublished: 1,
      sqsFifoSends: 1,
    });
  });

  it('counts the capacity release transaction as two write units per item it writes, not as a Lambda', () => {
    const usage = definitionUsage(asl, ['Release Capacity']);

    expect(usage.lambdaTasks).toEqual([]);
    expect(usage.dynamoDbWrites).toBe(4);
  });

  it('prices usage with the list prices: transitions dominate, which is why native integrations matter', () => {
    expect(itemCost({ ...ZERO_USAGE, stateTransitions: 10 }).totalUsd).toBeCloseTo(0.00025, 10);
    const routing = estimateItemCost(asl, 'routing');
    expect(routing.cost.totalUsd).toBeGreaterThan(0.0002);
    expect(routing.cost.totalUsd).toBeLessThan(0.0005);
    expect(routing.cost.byService.stepFunctions).toBeGreaterThan(routing.cost.totalUsd / 2);
    expect(estimateItemCost(asl, 'humanReviewApproved').cost.totalUsd).toBeGreaterThan(routing.cost.totalUsd);
    expect(AWS_LIST_PRICES.stateTransition).toBe(0.000025);
  });
});

describe('the metric catalogue', () => {
  function codeFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : codeFiles(path);
      return path.endsWith('.ts') ? [path] : [];
    });
  }
  // Code only: a TSDoc example is not an emission.
  const code = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\*|\/\/)/.test(line))
      .join('\n');

  /** Every `emitMetric(…, METRICS.<key>` in the handlers, with the function (its FUNCTION name) that emits it. */
  function emittedInHandlers(): { service: string; key: string; file: string }[] {
    return codeFiles(join(PROJECT_ROOT, 'lambdas')).flatMap((file) => {
      const text = code(file);
      const service = /const FUNCTION = '([a-z-]+)'/.exec(text)?.[1] ?? 'shared';
      return [...text.matchAll(/emitMetric\(\s*[\w.]+,\s*METRICS\.(\w+)/g)].map((match) => ({
        service,
        key: match[1] as string,
        file,
      }));
    });
  }

  it('is the only way a metric is emitted: no raw metric name outside lambdas/shared/metrics-names.ts', () => {
    const raw = ['lambdas', 'local', 'ops', 'simulator', 'bin', 'scripts']
      .flatMap((dir) => codeFiles(join(PROJECT_ROOT, dir)))
      .filter((file) => !file.endsWith(join('lambdas', 'shared', 'metrics-names.ts')))
      .filter((file) => /\.addMetric\(/.test(code(file)));

    expect(raw).toEqual([]);
    expect(emittedInHandlers().length).toBeGreaterThan(40);
  });

  it("names each emitting function among the metric's services (shared helpers emit for their callers)", () => {
    for (const { service, key, file } of emittedInHandlers()) {
      const definition = METRICS[key as MetricKey];
      expect(definition, `METRICS.${key} in ${file}`).toBeDefined();
      if (service !== 'shared') expect(definition.services, `${key} in ${file}`).toContain(service);
    }
  });

  it('follows the naming scheme: PascalCase names, seconds for times, camelCase dimensions', () => {
    for (const definition of Object.values(METRICS)) {
      expect(definition.name).toMatch(/^[A-Z][A-Za-z]+$/);
      if (/(Time|Age)$/.test(definition.name)) expect(definition.unit, definition.name).toBe('Seconds');
      for (const dimension of definition.dimensions) expect(dimension).toMatch(/^[a-z][A-Za-z]*$/);
    }
    expect(new Set(Object.values(METRICS).map((d) => d.name)).size).toBe(Object.keys(METRICS).length);
  });
});
