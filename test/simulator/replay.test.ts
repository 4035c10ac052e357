import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_LOGS, loadReplay, mappingFor, ReplayError, readLogJobs, replay } from '../../simulator/replay';
import { readCsvJobs } from '../../simulator/replay/csv';
import { type CsvMapping, LogMapping } from '../../simulator/replay/log';
import { readXesTraces } from '../../simulator/replay/xes';

const FIXTURES = join(__dirname, 'fixtures');
const TRACES = join(__dirname, '..', '..', '..', 'shared', 'data', 'traces');

/** Real logs live outside the repository; say so plainly when one is not there. */
function requireLog(file: string): string {
  const path = join(TRACES, file);
  if (!existsSync(path)) {
    throw new Error(
      `real log ${path} is missing: this test replays it; see ../shared/data/traces/README.md for where it comes from`,
    );
  }
  return path;
}

describe('XES reader', () => {
  it("streams traces with their own and their events' attributes, decoding entities and skipping nested ones", async () => {
    // Act
    const traces = [];
    for await (const trace of readXesTraces(join(FIXTURES, 'tiny.xes'))) traces.push(trace);
    // Assess
    expect(traces).toHaveLength(2);
    expect(traces[0]?.attributes['concept:name']).toBe('case-1');
    expect(traces[0]?.events[0]?.attributes).toEqual({
      'concept:name': 'W_Review & approve',
      'lifecycle:transition': 'SCHEDULE',
      'org:resource': '112',
      'time:timestamp': '2012-01-02T09:00:00.000+01:00',
    });
    expect(traces[0]?.events[2]?.attributes.ignored).toBeUndefined();
  });

  it('turns START/COMPLETE pairs into jobs ready at SCHEDULE, leaving system resources out', async () => {
    // Prepare
    const mapping = LogMapping.parse({
      format: 'xes',
      mode: 'lifecycle',
      activityPrefix: 'W_',
      ignoreResources: ['112'],
    });
    // Act
    const { jobs } = await readLogJobs(join(FIXTURES, 'tiny.xes'), mapping);
    // Assess
    expect(jobs).toEqual([
      {
        caseId: 'case-1',
        category: 'W_Review & approve',
        arrivalAt: Date.parse('2012-01-02T08:00:00Z'),
        startAt: Date.parse('2012-01-02T08:10:00Z'),
        endAt: Date.parse('2012-01-02T08:25:00Z'),
        resource: '10001',
        priority: 3,
      },
      {
        caseId: 'case-2',
        category: 'W_Call',
        arrivalAt: Date.parse('2012-01-02T09:00:00Z'),
        startAt: Date.parse('2012-01-02T09:30:00Z'),
        endAt: Date.parse('2012-01-02T09:35:00Z'),
        resource: '10002',
        priority: 3,
      },
    ]);
  });
});

describe('CSV reader', () => {
  const mapping = LogMapping.parse({
    format: 'csv',
    columns: {
      caseId: 'call',
      category: 'type',
      arrival: 'queued',
      arrivalFallback: 'started',
      start: 'started',
      end: 'ended',
      resource: 'agent',
      priority: 'prio',
      queueExit: 'left',
      outcome: 'result',
    },
    abandonOutcomes: ['hung up'],
    priorityMap: { '1': 3, '2': 4 },
  }) as CsvMapping;

  it('reads served and abandoned jobs under a column mapping', async () => {
    // Act
    const { jobs } = await readCsvJobs(join(FIXTURES, 'tiny-calls.csv'), mapping);
    // Assess
    expect(
      jobs.map((job) => [
        job.caseId,
        job.category,
        job.resource,
        job.priority,
        job.abandonedAt !== undefined,
      ]),
    ).toEqual([
      ['c1', 'sales', 'anna', 4, false],
      ['c2', 'support, tier 1', 'ben', 3, false],
      ['c3', 'sales', undefined, 4, true],
      ['c4', 'sales', 'anna', 3, false],
    ]);
    expect(jobs[3]?.arrivalAt).toBe(Date.parse('2026-01-05T09:20:00Z'));
  });

  it('names the missing columns and the fix when the mapping does not fit the header', async () => {
    const wrong = LogMapping.parse({
      ...mapping,
      columns: { ...mapping.columns, caseId: 'call_id' },
    }) as CsvMapping;
    await expect(readCsvJobs(join(FIXTURES, 'tiny-calls.csv'), wrong)).rejects.toThrow(
      /column\(s\) "call_id" not in the header .* fix the mapping/,
    );
  });

  it('asks for a mapping for a log it does not know', () => {
    expect(() => mappingFor('/data/unknown.csv')).toThrow(ReplayError);
    expect(mappingFor('/x/helpdesk.xes.gz')).toBe(KNOWN_LOGS[1]?.mapping);
  });
});

// Real logs are large: generous bounds, since the machine is shared (results never depend on speed).
describe('replay of the real logs at their own staffing', { timeout: 600_000 }, () => {
  it('replays the Helpdesk log: every job accounted for, Flowtune waits less than longest-idle FCFS', async () => {
    // Prepare
    const { model } = await loadReplay(requireLog('helpdesk.xes.gz'));
    // Act
    const flowtune = replay(model, 'flowtune').metrics;
    const fcfs = replay(model, 'longest-idle-fcfs').metrics;
    // Assess
    expect(model.summary.jobs).toBeGreaterThan(4000);
    expect(model.summary.agents).toBeGreaterThan(15);
    expect(flowtune.arrivals).toBe(fcfs.arrivals);
    expect(flowtune.completed + flowtune.abandoned).toBeLessThanOrEqual(flowtune.arrivals);
    expect(flowtune.meanWait).toBeLessThan(fcfs.meanWait);
  });

  it('reads the bank call centre with its abandonments', async () => {
    // Act
    // One as-logged run at a given staffing: this test is about reading, not calibrating.
    const { model } = await loadReplay(requireLog('anonymous_bank_february.txt.gz'), {
      staffing: { breakGapSeconds: 300, capacityQuantile: 0.5 },
    });
    // Assess: ~33k calls, about a fifth of the queued ones abandoned, 24 named agents.
    expect(model.summary.jobs).toBeGreaterThan(25_000);
    expect(model.summary.abandoned).toBeGreaterThan(2000);
    expect(model.summary.agents).toBeGreaterThanOrEqual(20);
    expect(model.agents.every((agent) => agent.capacity === 1)).toBe(true);
  });

  it('reads the BPI Challenge 2012 work items as START/COMPLETE pairs', async () => {
    // Act
    const { jobs } = await readLogJobs(requireLog('bpic2012.xes.gz'), mappingFor('bpic2012.xes.gz'));
    // Assess: 71,373 pairs in the log, a few done by the system resource 112 are left out.
    expect(jobs.length).toBeGreaterThan(60_000);
    expect(jobs.length).toBeLessThanOrEqual(71_373);
    expect(new Set(jobs.map((job) => job.category)).size).toBe(6);
    expect(jobs.every((job) => job.resource !== '112')).toBe(true);
  });
});
