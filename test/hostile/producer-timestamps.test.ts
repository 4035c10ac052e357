import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TIME_BOUNDS, validateDetail } from '../../domain/events';
import { CompletionResult, type ScoringResult } from '../../domain/process';
import { createAgentStatusHandler } from '../../lambdas/agent-status/handler';
import { createCompletionHandler } from '../../lambdas/completion/handler';
import { createRecordOutcomeHandler } from '../../lambdas/record-outcome/handler';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { createValidateHandler } from '../../lambdas/validate/handler';
import { loadEvent, validatedItem, withDetail } from '../handlers/support';

/** Defects 4 and 8 of issue 21: producers' timestamps unbounded, completions unchecked. */

const NOW = Date.parse('2026-11-20T09:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function world(now = NOW) {
  const ports = createInMemoryPorts(now);
  const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
  return {
    ...ports,
    agentStatus: createAgentStatusHandler({ ...ports, pseudonymise }),
    completion: createCompletionHandler({ ...ports, pseudonymise }),
    validate: createValidateHandler({ pseudonymise, clock: ports.clock }),
    recordOutcome: createRecordOutcomeHandler(ports),
  };
}

const agentEvent = (patch: Record<string, unknown>) =>
  withDetail(loadEvent('workforce/agent-status-changed'), patch);

describe('producer timestamps are bounded relative to now', () => {
  it('rejects an AgentStatusChanged dated 9999-12-31 naming changedAt, so later real updates still apply', async () => {
    // Prepare
    const w = world();
    await w.agentStatus(agentEvent({ changedAt: iso(NOW - 60_000), status: 'available' }));

    // Act
    const future = await w.agentStatus({
      ...agentEvent({ changedAt: '9999-12-31T00:00:00Z', status: 'available' }),
      id: 'far-future',
    });
    w.clock.advance(60_000);
    const real = await w.agentStatus({
      ...agentEvent({ changedAt: iso(NOW + 30_000), status: 'offline' }),
      id: 'real-update',
    });

    // Assess
    expect(future.status).toBe('rejected');
    const rejection = w.events.published.find((event) => event.detailType === 'WorkItemRejected');
    expect(rejection?.detail).toMatchObject({ field: 'changedAt' });
    expect(real.status).toBe('updated');
    expect((await w.features.getAgent('agent-ana'))?.status).toBe('offline');
  });

  it('accepts a fact stamped within the skew and age bounds and rejects it outside, naming the field (property)', async () => {
    const span = TIME_BOUNDS.maxAgeMs + TIME_BOUNDS.maxSkewMs;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -2 * span, max: 2 * span }), async (offset) => {
        // Prepare
        const w = world();
        const changedAt = NOW + offset;

        // Act
        const response = await w.agentStatus(agentEvent({ changedAt: iso(changedAt) }));

        // Assess
        const inBounds = offset <= TIME_BOUNDS.maxSkewMs && offset >= -TIME_BOUNDS.maxAgeMs;
        expect(response.status === 'rejected').toBe(!inBounds);
        if (!inBounds) {
          const trail = await w.audit.listForItem('agent#agent-ana');
          expect(JSON.parse(trail[0]?.details ?? '{}')).toMatchObject({ field: 'changedAt' });
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a completion started in 2000 or completed in 9999, naming the field', async () => {
    // Prepare
    const w = world(Date.parse('2026-11-20T09:41:00Z'));
    const completed = loadEvent('helpdesk/work-item-completed');

    // Act
    const early = await w.completion(withDetail(completed, { startedAt: '2000-01-01T00:00:00Z' }));
    const late = await w.completion({
      ...withDetail(completed, { completedAt: '9999-01-01T00:00:00Z' }),
      id: 'late-event',
    });

    // Assess
    expect([early.status, late.status]).toEqual(['rejected', 'rejected']);
    const fields = w.events.published.map((event) => (event.detail as { field?: string }).field);
    expect(fields).toEqual(['startedAt', 'completedAt']);
  });

  it('rejects a work item whose slaDueAt lies more than a year ahead, naming slaDueAt', async () => {
    // Prepare
    const w = world();
    const created = loadEvent('helpdesk/work-item-created').detail;

    // Act
    const result = await w.validate({
      detailType: 'WorkItemCreated',
      detail: { ...created, createdAt: iso(NOW), slaDueAt: '2999-01-01T00:00:00Z' },
    });

    // Assess
    expect(result).toMatchObject({ ok: false, field: 'slaDueAt' });
  });

  it('keeps schema-only validation clock-free: without now, any well-formed time parses', () => {
    const detail = {
      ...loadEvent('workforce/agent-status-changed').detail,
      changedAt: '9999-12-31T00:00:00Z',
    };
    expect(validateDetail('AgentStatusChanged', detail).ok).toBe(true);
    expect(validateDetail('AgentStatusChanged', detail, { now: NOW }).ok).toBe(false);
  });
});

describe('a completion is checked against the assignee', () => {
  const item = validatedItem({ createdAt: '2026-11-20T08:59:00.000Z', slaDueAt: '2026-11-20T12:59:00.000Z' });
  const scoring: ScoringResult = {
    score: {
      modelVersion: 'handling-shrinkage-v1',
      predictedHandlingSeconds: 1500,
      slaBreachRisk: 0.02,
      escalationRisk: 0.01,
      effectivePriority: 4.1,
      confidence: 0.9,
      secondsToDue: 14_400,
    },
    decision: { path: 'routing', reason: 'route' },
    policyVersion: 'default-1',
    sla: {
      createdAt: '2026-11-20T08:59:00.000Z',
      dueAt: '2026-11-20T12:59:00.000Z',
      assignBy: '2026-11-20T12:35:00.000Z',
      completeBy: ['2026-11-20T11:59:00.000Z', '2026-11-20T12:59:00.000Z'],
      minWindowSeconds: 900,
    },
    waits: {
      assignment: {
        seconds: 12_840,
        until: '2026-11-20T12:35:00.000Z',
        reason: 'assign by 2026-11-20T12:35:00.000Z',
      },
      review: {
        seconds: 14_340,
        until: '2026-11-20T12:59:00.000Z',
        reason: 'review deadline at 2026-11-20T12:59:00.000Z',
      },
    },
  };
  const assignment = {
    agentId: 'agent-ana',
    agentKind: 'person',
    predictedHandlingSeconds: 1500,
    explanation: {
      summary: 'Routed to agent-ana',
      chosen: { agentId: 'agent-ana', cost: 1.2, terms: [] },
      candidatesConsidered: 2,
    },
    policyVersion: 'default-1',
    modelVersion: 'handling-shrinkage-v1',
    experimentArm: 'none',
    routedAt: '2026-11-20T09:05:00.000Z',
  } as const;

  it('credits no per-agent statistics to a handledBy who was never the assignee, and records the mismatch', async () => {
    // Prepare
    const w = world(Date.parse('2026-11-20T09:40:10.000Z'));
    const completion = CompletionResult.parse({
      ...loadEvent('helpdesk/work-item-completed').detail,
      handledBy: 'agent-never-registered',
    });

    // Act
    const summary = await w.recordOutcome({
      itemId: 'HD-10428',
      item,
      scoring,
      assignment,
      completion,
      attempt: 1,
    });

    // Assess
    expect(summary.statsUpdated).toBe(true);
    const features = await w.features.readHandlingFeatures();
    expect(features.global.count).toBe(1);
    expect(Object.keys(features.byCategoryAgent)).toEqual([]);
    const [record] = (await w.audit.listForItem('HD-10428')).filter((r) => r.kind === 'COMPLETED');
    expect(JSON.parse(record?.details ?? '{}').handledByMismatch).toMatchObject({
      assignee: 'agent-ana',
      handledBy: 'agent-never-registered',
    });
  });

  it('measures handling from the creation when startedAt precedes it', async () => {
    // Prepare
    const w = world(Date.parse('2026-11-20T09:40:10.000Z'));
    const completion = CompletionResult.parse({
      ...loadEvent('helpdesk/work-item-completed').detail,
      startedAt: '2026-01-01T00:00:00Z',
    });

    // Act
    const summary = await w.recordOutcome({
      itemId: 'HD-10428',
      item,
      scoring,
      assignment,
      completion,
      attempt: 1,
    });

    // Assess: 08:59 → 09:40
    expect(summary.handleSeconds).toBe(41 * 60);
  });
});
