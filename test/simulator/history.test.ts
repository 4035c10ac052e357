import { describe, expect, it } from 'vitest';
import { factOf } from '../../ops/history/export-history';
import { historyJobs, historyRoster, parseHistory, ReplayError } from '../../simulator/replay';

const HEADER =
  '{"type":"header","format":"flowtune-history/1","exportedAt":"2026-11-30T00:00:00.000Z","source":"test"}';

const lines = (...facts: object[]) => [HEADER, ...facts.map((fact) => JSON.stringify(fact))].join('\n');

describe('Flowtune history files', () => {
  it('names the file, the line and the field of a bad line, and requires the header', () => {
    // Act
    const badLine = () =>
      parseHistory(lines({ type: 'arrival', itemId: 'T-1', at: 'yesterday' }), 'week.jsonl');
    const noHeader = () => parseHistory('{"type":"agent"}', 'week.jsonl');

    // Assess
    expect(badLine).toThrow(ReplayError);
    expect(badLine).toThrow(/week\.jsonl: line 2: at /);
    expect(noHeader).toThrow(/line 1/);
    expect(() => parseHistory('', 'empty.jsonl')).toThrow(
      /first line must be the flowtune-history\/1 header/,
    );
  });

  it('makes a job ready when its completed attempt was queued, started at its routing, by the completing agent', () => {
    // Prepare
    const history = parseHistory(
      lines(
        { type: 'arrival', itemId: 'T-1', at: '2026-11-23T08:00:00.000Z', category: 'billing', priority: 3 },
        { type: 'routed', itemId: 'T-1', at: '2026-11-23T08:01:00.000Z', agentId: 'ana', attempt: 1 },
        { type: 'routed', itemId: 'T-1', at: '2026-11-23T08:40:00.000Z', agentId: 'bo', attempt: 2 },
        {
          type: 'completed',
          itemId: 'T-1',
          at: '2026-11-23T08:50:00.000Z',
          agentId: 'bo',
          outcome: 'resolved',
          routedAt: '2026-11-23T08:40:00.000Z',
          queueWaitSeconds: 120,
        },
        { type: 'arrival', itemId: 'T-2', at: '2026-11-23T09:00:00.000Z', category: 'billing', priority: 2 },
      ),
      'week.jsonl',
    );

    // Act
    const { jobs, skipped } = historyJobs(history);

    // Assess
    expect(jobs).toEqual([
      {
        caseId: 'T-1',
        category: 'billing',
        arrivalAt: Date.parse('2026-11-23T08:38:00.000Z'),
        startAt: Date.parse('2026-11-23T08:40:00.000Z'),
        endAt: Date.parse('2026-11-23T08:50:00.000Z'),
        resource: 'bo',
        priority: 3,
      },
    ]);
    expect(skipped).toEqual({ 'items not completed in the window': 1 });
  });

  it('reads the roster: available stretches to the next other status, the largest declared capacity', () => {
    // Prepare
    const agent = (at: string, status: string, capacity: number) => ({
      type: 'agent',
      agentId: 'ana',
      at,
      status,
      capacity,
      skills: [],
    });
    const history = parseHistory(
      lines(
        agent('2026-11-23T08:00:00.000Z', 'available', 2),
        agent('2026-11-23T12:00:00.000Z', 'offline', 2),
        agent('2026-11-23T13:00:00.000Z', 'available', 3),
        { type: 'arrival', itemId: 'T-9', at: '2026-11-23T17:00:00.000Z', category: 'billing', priority: 3 },
      ),
      'week.jsonl',
    );

    // Act
    const roster = historyRoster(history);

    // Assess
    expect(roster.get('ana')).toEqual({
      capacity: 3,
      shifts: [
        [Date.parse('2026-11-23T08:00:00.000Z'), Date.parse('2026-11-23T12:00:00.000Z')],
        [Date.parse('2026-11-23T13:00:00.000Z'), Date.parse('2026-11-23T17:00:00.000Z')],
      ],
    });
  });

  it('exports a COMPLETED record with the routing it closed, and leaves a refused creation out', () => {
    // Prepare
    const completed = {
      itemId: 'T-1',
      recordKey: '2026-11-23T08:50:00.000Z#COMPLETED#1',
      kind: 'COMPLETED',
      at: '2026-11-23T08:50:00.000Z',
      details: JSON.stringify({
        agentId: 'bo',
        handledBy: 'bo',
        outcome: 'resolved',
        waitSeconds: 120,
        handleSeconds: 600,
      }),
      inputs: JSON.stringify({ assignment: { agentId: 'bo', routedAt: '2026-11-23T08:40:00.000Z' } }),
    };
    const refused = {
      ...completed,
      kind: 'RECEIVED',
      inputs: JSON.stringify({ category: 'billing', priority: 99 }),
    };

    // Act
    const fact = factOf(completed);

    // Assess
    expect(fact).toEqual({
      type: 'completed',
      itemId: 'T-1',
      at: '2026-11-23T08:50:00.000Z',
      agentId: 'bo',
      outcome: 'resolved',
      handleSeconds: 600,
      routedAt: '2026-11-23T08:40:00.000Z',
      queueWaitSeconds: 120,
    });
    expect(factOf(refused)).toBe('not-work');
  });
});
