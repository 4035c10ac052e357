import { describe, expect, it } from 'vitest';
import type { ExecutionDescription } from '../../local/asl-runner';
import {
  explanationOf,
  formatExplanation,
  formatKpis,
  formatLedgerLine,
  offset,
  pickShowcase,
} from '../../local/demo/format';
import { renderDemoReport } from '../../local/demo/report';
import type { LocalEvent } from '../../local/event-router';
import type { DriverLog } from '../../local/workload/driver';
import { computeKpis, summariseTimes } from '../../local/workload/kpis';
import { classifyItems, type ItemOutcome, type RawAuditRecord } from '../../local/workload/ledger';
import { type PlannedItem, planWorkload, type WorkloadPlan } from '../../local/workload/plan';

const T0 = Date.parse('2026-11-03T09:00:00Z');
const iso = (offsetSeconds: number) => new Date(T0 + offsetSeconds * 1000).toISOString();

/** An outcome with defaults: a completed P2 billing item. */
function outcome(overrides: Partial<ItemOutcome> & Pick<ItemOutcome, 'itemId'>): ItemOutcome {
  return {
    category: 'billing',
    slaGroup: 'P2',
    plannedFate: 'complete',
    final: 'completed',
    reason: 'resolved',
    createdAt: T0,
    routings: 1,
    reroutes: 0,
    escalated: false,
    humanReview: false,
    duplicateCreatedIgnored: 0,
    duplicateCompletionsIgnored: 0,
    earlyCompletion: false,
    routingViolations: [],
    ...overrides,
  };
}

describe('computeKpis', () => {
  const outcomes: ItemOutcome[] = [
    outcome({
      itemId: 'A',
      waitSeconds: 10,
      cycleSeconds: 600,
      slaMet: true,
      completedAt: T0 + 600_000,
      path: 'routing',
    }),
    outcome({
      itemId: 'B',
      createdAt: T0 + 60_000,
      waitSeconds: 30,
      cycleSeconds: 1_200,
      slaMet: true,
      completedAt: T0 + 1_260_000,
      path: 'routing',
      duplicateCreatedIgnored: 1,
    }),
    outcome({
      itemId: 'C',
      slaGroup: 'P1',
      waitSeconds: 50,
      cycleSeconds: 3_600,
      slaMet: false,
      completedAt: T0 + 3_600_000,
      path: 'automation',
      duplicateCompletionsIgnored: 2,
      earlyCompletion: true,
    }),
    outcome({ itemId: 'D', slaGroup: 'P1', final: 'exception', reroutes: 1, escalated: true }),
    outcome({ itemId: 'E', final: 'cancelled', routings: 0 }),
    outcome({ itemId: 'F', plannedFate: 'malformed', final: 'rejected', routings: 0 }),
    outcome({
      itemId: 'G',
      final: 'lost',
      reason: 'execution RUNNING at "Wait For Assignment"',
      routings: 0,
    }),
  ];

  it('counts every final state and lists the lost items', () => {
    // Act
    const kpis = computeKpis(outcomes);

    // Assess
    expect(kpis.byState).toEqual({
      completed: 3,
      rejected: 1,
      cancelled: 1,
      closed: 0,
      exception: 1,
      lost: 1,
    });
    expect(kpis.lost.map((entry) => entry.itemId)).toEqual(['G']);
    expect(kpis.rejected).toBe(1);
  });

  it('measures throughput per hour from the first creation to the last completion', () => {
    // Act
    const kpis = computeKpis(outcomes);

    // Assess: 3 completions over exactly one hour.
    expect(kpis.spanSeconds).toBe(3_600);
    expect(kpis.throughputPerHour).toBeCloseTo(3, 10);
  });

  it('summarises wait and cycle times of the completed items with mean and type-7 p90', () => {
    // Act
    const kpis = computeKpis(outcomes);

    // Assess
    expect(kpis.wait).toEqual({ count: 3, mean: 30, p50: 30, p90: 46 });
    expect(kpis.cycle.mean).toBe(1_800);
    expect(kpis.cycle.p90).toBeCloseTo(3_120, 10);
  });

  it('counts an item escalated to people as an SLA miss and leaves cancelled and rejected items out', () => {
    // Act
    const kpis = computeKpis(outcomes);

    // Assess: A and B met, C missed, D (exception) missed.
    expect(kpis.slaAttainment).toBe(0.5);
    expect(kpis.bySlaGroup.find((group) => group.group === 'P1')?.slaAttainment).toBe(0);
    expect(kpis.bySlaGroup.find((group) => group.group === 'P2')?.slaAttainment).toBe(1);
  });

  it('adds up duplicates, early completions, re-routes, escalations and paths', () => {
    // Act
    const kpis = computeKpis(outcomes);

    // Assess
    expect(kpis.duplicatesIgnored).toEqual({ created: 1, completions: 2 });
    expect(kpis.earlyCompletions).toBe(1);
    expect(kpis.reroutes).toBe(1);
    expect(kpis.escalations).toBe(1);
    expect(kpis.byPath).toEqual({ routing: 2, automation: 1 });
  });

  it('answers NaN, not zero, when nothing was completed', () => {
    // Act
    const kpis = computeKpis([outcome({ itemId: 'X', final: 'rejected', plannedFate: 'malformed' })]);

    // Assess
    expect(kpis.throughputPerHour).toBeNaN();
    expect(kpis.wait.count).toBe(0);
    expect(kpis.slaAttainment).toBeNaN();
    expect(summariseTimes([undefined, Number.NaN]).mean).toBeNaN();
  });
});

// ------------------------------------------------------------------------------------------------

function record(
  itemId: string,
  kind: string,
  at: number,
  extra: Partial<RawAuditRecord> = {},
): RawAuditRecord {
  return { itemId, recordKey: `${iso(at)}#${kind}`, kind, at: iso(at), actor: 'flowtune:test', ...extra };
}

function routedRecord(itemId: string, at: number, attempt: number, agentId: string): RawAuditRecord {
  return record(itemId, 'ROUTED', at, { recordKey: `${iso(at)}#ROUTED#${attempt}`, attempt, agentId });
}

function execution(
  name: string,
  status: ExecutionDescription['status'],
  error?: string,
): ExecutionDescription {
  return {
    executionArn: `arn:aws:states:us-east-1:000000000000:execution:ProcessInstance:${name}`,
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:ProcessInstance',
    name,
    status,
    input: {},
    startDate: new Date(T0),
    ...(error === undefined ? {} : { error }),
  };
}

const routedEvent = (id: string, attempt: number): LocalEvent => ({
  version: '0',
  id: `${id}-${attempt}`,
  'detail-type': 'WorkItemRouted',
  source: 'flowtune',
  account: '000000000000',
  time: iso(0),
  region: 'us-east-1',
  resources: [],
  detail: { id, attempt },
});

describe('classifyItems', () => {
  const base = planWorkload({ seed: 1, items: 7, horizonSeconds: 600 });
  const item = (index: number, itemId: string, fate: PlannedItem['fate']): PlannedItem => ({
    ...(base.items[index] as PlannedItem),
    itemId,
    fate,
  });
  const plan: WorkloadPlan = {
    ...base,
    items: [
      item(0, 'DONE', 'complete'),
      item(1, 'BADID', 'malformed'),
      item(2, 'BADFIELD', 'malformed'),
      item(3, 'GONE', 'cancelled'),
      item(4, 'STUCK', 'never-completes'),
      item(5, 'WAITING', 'complete'),
      item(6, 'TWICE', 'complete'),
    ],
  };
  const log: DriverLog = {
    startedAt: T0,
    createdAt: new Map(plan.items.map((planned) => [planned.itemId, T0])),
    malformedSent: new Map([
      ['BADID', { sentId: 'BAD ID', eventId: 'ev-1' }],
      ['BADFIELD', { sentId: 'BADFIELD', eventId: 'ev-2' }],
    ]),
    counts: {} as DriverLog['counts'],
    errors: [],
  };
  const audit = new Map<string, RawAuditRecord[]>([
    [
      'DONE',
      [
        record('DONE', 'RECEIVED', 0),
        routedRecord('DONE', 30, 1, 'agent-ana'),
        record('DONE', 'COMPLETED', 600, {
          details: JSON.stringify({
            outcome: 'resolved',
            waitSeconds: 12,
            cycleSeconds: 600,
            slaMet: true,
            path: 'routing',
          }),
        }),
      ],
    ],
    [
      'unidentified#ev-1',
      [
        record('unidentified#ev-1', 'REJECTED', 0, {
          details: JSON.stringify({ field: 'id', reason: 'must be…' }),
        }),
      ],
    ],
    ['BADFIELD', [record('BADFIELD', 'REJECTED', 1, { field: 'priority', reason: 'Too big' })]],
    ['GONE', [record('GONE', 'RECEIVED', 0), record('GONE', 'CANCELLED', 120)]],
    [
      'STUCK',
      [
        routedRecord('STUCK', 30, 1, 'agent-ana'),
        record('STUCK', 'REROUTED', 3_600),
        routedRecord('STUCK', 3_630, 2, 'agent-ben'),
        record('STUCK', 'ESCALATED', 4_300, { reason: 'States.Timeout' }),
        record('STUCK', 'EXCEPTION', 4_301),
      ],
    ],
    ['WAITING', [record('WAITING', 'RECEIVED', 0)]],
    ['TWICE', [routedRecord('TWICE', 30, 1, 'agent-ana'), { ...routedRecord('TWICE', 31, 1, 'agent-ben') }]],
  ]);
  const executions = new Map([
    ['DONE', execution('DONE', 'SUCCEEDED')],
    ['BADFIELD', { ...execution('BADFIELD', 'SUCCEEDED'), output: { outcome: 'rejected' } }],
    ['GONE', execution('GONE', 'SUCCEEDED')],
    ['STUCK', execution('STUCK', 'RUNNING')],
    ['WAITING', execution('WAITING', 'RUNNING')],
    ['TWICE', execution('TWICE', 'RUNNING')],
  ]);
  const outcomes = classifyItems({
    plan,
    log,
    audit,
    executions,
    parkedForPeople: new Set([execution('STUCK', 'RUNNING').executionArn]),
    currentState: (itemId) => (itemId === 'WAITING' ? 'Wait For Assignment' : undefined),
    routedEvents: [
      routedEvent('DONE', 1),
      routedEvent('STUCK', 1),
      routedEvent('STUCK', 2),
      routedEvent('TWICE', 1),
    ],
  });
  const byId = new Map(outcomes.map((entry) => [entry.itemId, entry]));

  it('reads a completed item and its times from the COMPLETED record', () => {
    // Assess
    expect(byId.get('DONE')).toMatchObject({
      final: 'completed',
      cycleSeconds: 600,
      queueWaitSeconds: 12,
      waitSeconds: 30,
      slaMet: true,
      path: 'routing',
      routings: 1,
      routingViolations: [],
    });
  });

  it('finds a rejection filed under the event id when the id itself was malformed', () => {
    // Assess
    expect(byId.get('BADID')).toMatchObject({ final: 'rejected', rejectedField: 'id' });
    expect(byId.get('BADFIELD')).toMatchObject({ final: 'rejected', rejectedField: 'priority' });
  });

  it('counts a cancelled item and one parked for people as accounted for, with the reason', () => {
    // Assess
    expect(byId.get('GONE')?.final).toBe('cancelled');
    expect(byId.get('STUCK')).toMatchObject({
      final: 'exception',
      escalated: true,
      reroutes: 1,
      routings: 2,
    });
    expect(byId.get('STUCK')?.reason).toContain('escalated after 2 attempt(s) (States.Timeout)');
  });

  it('calls an item still waiting for the dispatcher lost, saying where it is stuck', () => {
    // Assess
    expect(byId.get('WAITING')).toMatchObject({ final: 'lost' });
    expect(byId.get('WAITING')?.reason).toBe('execution RUNNING at "Wait For Assignment"');
  });

  it('flags two routing decisions for one attempt', () => {
    // Assess
    expect(byId.get('TWICE')?.routingViolations).toEqual(['2 ROUTED records for attempt 1']);
  });

  it('flags a ROUTED record without its WorkItemRouted event', () => {
    // Act
    const [alone] = classifyItems({
      plan: { ...plan, items: [item(0, 'DONE', 'complete')] },
      log,
      audit,
      executions,
      parkedForPeople: new Set(),
      routedEvents: [],
    });

    // Assess
    expect(alone?.routingViolations).toEqual(['0 WorkItemRouted events for attempt 1']);
  });
});

// ------------------------------------------------------------------------------------------------

const terms = (handling: number) => [
  { name: 'handling', value: handling },
  { name: 'priority', value: -0.3 },
];

function assigned(itemId: string, chosenCost: number, runnerUpCost: number): RawAuditRecord {
  const explanation = {
    summary: `Routed to agent-ana: runner-up agent-ben at ${runnerUpCost}`,
    chosen: { agentId: 'agent-ana', cost: chosenCost, terms: terms(chosenCost + 0.3) },
    runnerUp: { agentId: 'agent-ben', cost: runnerUpCost, terms: terms(runnerUpCost + 0.3) },
    candidatesConsidered: 4,
  };
  return record(itemId, 'ASSIGNED', 60, {
    details: JSON.stringify({
      agentId: 'agent-ana',
      cost: chosenCost,
      runnerUp: explanation.runnerUp,
      explanation,
    }),
  });
}

describe('the demo output', () => {
  it('shows the explanation with the chosen agent and the runner-up, term by term', () => {
    // Prepare
    const explanation = explanationOf([assigned('A', 0.1, 0.4)]);
    if (explanation === undefined) throw new Error('no explanation read');

    // Act
    const text = formatExplanation(explanation);

    // Assess
    expect(text).toContain('Routed to agent-ana');
    expect(text).toMatch(/cost term\s+chosen agent-ana\s+runner-up agent-ben/);
    expect(text).toMatch(/handling\s+0\.4000\s+0\.7000/);
    expect(text).toMatch(/total\s+0\.1000\s+0\.4000/);
  });

  it('showcases an item whose runner-up lost on cost over one decided by a tie', () => {
    // Prepare
    const audit = new Map([
      ['TIE', [assigned('TIE', 0.2, 0.2)]],
      ['CLEAR', [assigned('CLEAR', 0.1, 0.5)]],
    ]);
    const outcomes = [
      outcome({ itemId: 'TIE', path: 'routing', slaMet: true }),
      outcome({ itemId: 'CLEAR', path: 'routing', slaMet: true }),
    ];

    // Act
    const picked = pickShowcase(outcomes, audit);

    // Assess
    expect(picked?.itemId).toBe('CLEAR');
  });

  it('prints offsets from creation in hours, minutes and seconds', () => {
    // Assess
    expect(offset(T0 + 3_723_000, T0)).toBe('+1h02m03s');
    expect(offset(T0 + 48_000, T0)).toBe('+0m48s');
    expect(offset(T0 - 1_000, T0)).toBe('-0m01s');
  });

  it('prints the KPI table and the ledger line with the lost count', () => {
    // Prepare
    const kpis = computeKpis([
      outcome({ itemId: 'A', waitSeconds: 10, cycleSeconds: 600, slaMet: true, completedAt: T0 + 600_000 }),
      outcome({ itemId: 'B', final: 'lost' }),
    ]);

    // Act
    const table = formatKpis(kpis);
    const line = formatLedgerLine(kpis);

    // Assess
    expect(table).toMatch(/SLA attainment\s+100\.0%/);
    expect(table).toMatch(/lost\s+1/);
    expect(line).toBe(
      '1 of 2 items accounted for: 1 completed, 0 rejected with a reason, 0 cancelled, 0 in the exception queue; 1 lost',
    );
  });

  it('writes a self-contained HTML report: inline SVG, no script, no external resource', () => {
    // Prepare
    const outcomes = [
      outcome({
        itemId: 'A<1>',
        waitSeconds: 10,
        cycleSeconds: 600,
        slaMet: true,
        completedAt: T0 + 600_000,
        handledBy: 'agent-ana',
      }),
    ];

    // Act
    const html = renderDemoReport({
      kpis: computeKpis(outcomes),
      outcomes,
      showcase: { outcome: outcome({ itemId: 'A<1>' }), trail: [assigned('A<1>', 0.1, 0.4)] },
      trouble: [{ what: 'duplicate WorkItemCreated', sent: 3, handled: 3, how: 'DUPLICATE' }],
      run: {
        seed: 1,
        items: 1,
        timeScale: 360,
        policyVersion: 'demo',
        wallSeconds: 1,
        date: iso(0),
        node: 'v20',
      },
    });

    // Assess
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('A&lt;1&gt;');
    expect(html).toContain('1 of 1 items accounted for; 0 lost.');
  });
});
