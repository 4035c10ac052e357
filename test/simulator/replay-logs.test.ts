import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { POLICY_REGISTRY } from '../../domain/routing';
import { runCommandLine } from '../../simulator/cli/command';
import { replayCommand } from '../../simulator/cli/replay';
import { loadReplay, readLogJobs, replay } from '../../simulator/replay';
import { LogMapping } from '../../simulator/replay/log';
import { timestampParser } from '../../simulator/replay/timestamps';
import { readXesTraces } from '../../simulator/replay/xes';

const LOGS = join(__dirname, 'fixtures', 'logs');
const at = (iso: string) => Date.parse(iso);

function mapping(raw: unknown): LogMapping {
  return LogMapping.parse(raw);
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'flowtune-logs-'));
}

const INCIDENTS = mapping({
  format: 'xes',
  mode: 'milestones',
  startActivity: 'Assign',
  endActivity: 'Resolve',
  categoryAttribute: 'category',
});

describe('ids are taken verbatim', () => {
  it('keeps resources that differ only in letter case or a space as different people', async () => {
    // Act
    const { jobs } = await readLogJobs(join(LOGS, 'case-variants.xes'), INCIDENTS);
    // Assess
    expect(jobs.map((job) => [job.caseId, job.resource, job.category])).toEqual([
      ['INC-1', 'SE-Anna', 'network'],
      ['INC-2', 'se-Anna', 'network'],
      ['INC-3', 'SE-Anna', 'network'],
      ['INC-4', ' se-Anna', 'Network'],
    ]);
  });

  it('replays a log with case-variant resources under every policy without a policy violation', async () => {
    // Prepare
    const { model } = await loadReplay(join(LOGS, 'case-variants.xes'), { mapping: INCIDENTS });
    // Act
    const results = Object.keys(POLICY_REGISTRY).map((policy) => replay(model, policy).metrics);
    // Assess: three agents, and every item is served by someone who holds its category.
    expect(model.agents.map((agent) => agent.agentId).sort()).toEqual([' se-Anna', 'SE-Anna', 'se-Anna']);
    for (const metrics of results) expect(metrics.completed).toBe(metrics.arrivals);
  });

  it('refuses a case id used by two traces, naming it and both lines', async () => {
    await expect(
      readLogJobs(join(LOGS, 'duplicate-case.xes'), mapping({ format: 'xes', mode: 'lifecycle' })),
    ).rejects.toThrow(/duplicate-case\.xes:9: case id "INC-1" is used by two traces \(also line 3\)/);
  });

  it('refuses a row id used twice (INC-1 and inc-1 would be two), naming both lines', async () => {
    const items = mapping({
      format: 'csv',
      columns: {
        caseId: 'id',
        category: 'type',
        arrival: 'opened',
        start: 'started',
        end: 'closed',
        resource: 'agent',
      },
      timestamps: { format: 'epoch-s' },
    });
    await expect(readLogJobs(join(LOGS, 'duplicate-row.csv'), items)).rejects.toThrow(
      /duplicate-row\.csv: row 3 \(line 4\): id "t1" \(id\) is also on line 2/,
    );
  });
});

describe('XES through a streaming XML parser', () => {
  it('reads any attribute order and line layout, typed values and entities, skipping nested attributes', async () => {
    // Act
    const traces = [];
    for await (const trace of readXesTraces(join(LOGS, 'case-variants.xes'))) traces.push(trace);
    // Assess
    expect(traces).toHaveLength(4);
    expect(traces[0]?.attributes).toEqual({ 'concept:name': 'INC-1', vip: 'true' });
    expect(traces[0]?.events[0]?.attributes).toEqual({
      'concept:name': 'Open',
      'time:timestamp': '2024-03-04T09:00:00+01:00',
      category: 'network',
      reopen_count: '0',
    });
    expect(traces[0]?.events[1]?.attributes).toEqual({
      'concept:name': 'Assign',
      'org:resource': 'SE-Anna',
      'time:timestamp': '2024-03-04T09:30:00+01:00',
      note: 'first line\nsecond <line>',
      effort: '1.5',
    });
    expect(traces[1]?.events[1]?.attributes['org:resource']).toBe('se-Anna');
  });

  it('reads a gzipped log the same as the plain one', async () => {
    // Prepare
    const path = join(tempDir(), 'incidents.xes.gz');
    writeFileSync(path, gzipSync(readFileSync(join(LOGS, 'case-variants.xes'))));
    // Act
    const plain = await readLogJobs(join(LOGS, 'case-variants.xes'), INCIDENTS);
    const zipped = await readLogJobs(path, INCIDENTS);
    // Assess
    expect(zipped).toEqual(plain);
  });

  it('names the line of malformed XML', async () => {
    await expect(readLogJobs(join(LOGS, 'broken.xes'), INCIDENTS)).rejects.toThrow(
      /broken\.xes:4:\d+: not well-formed XML \(unexpected close tag\.\); is this an XES log\?/,
    );
  });

  it('names a trace whose timestamp is not in the declared format', async () => {
    // Prepare
    const dir = tempDir();
    const path = join(dir, 'dated.xes');
    writeFileSync(
      path,
      readFileSync(join(LOGS, 'case-variants.xes'), 'utf8').replace(
        '2024-03-04T10:30:00+01:00',
        '4/3/2024 10:30',
      ),
    );
    // Act / Assess
    await expect(readLogJobs(path, INCIDENTS)).rejects.toThrow(
      /dated\.xes:19: attribute "time:timestamp" = "4\/3\/2024 10:30" is not an ISO-8601 timestamp; .*timestamps\.format/,
    );
  });
});

describe('declared timestamp formats and time zones', () => {
  it.each([
    ['d/M/yyyy H:mm', 'Europe/Amsterdam', '29/2/2016 01:16', '2016-02-29T00:16:00Z'],
    ['d/M/yyyy H:mm', 'Europe/Amsterdam', '1/7/2016 01:16', '2016-06-30T23:16:00Z'],
    ['M/d/yyyy', 'UTC', '2/29/2016', '2016-02-29T00:00:00Z'],
    ['M/d/yyyy h:mm a', 'America/New_York', '3/4/2024 9:05 PM', '2024-03-05T02:05:00Z'],
    ['iso', 'UTC', '2016-02-29T10:00:00+01:00', '2016-02-29T09:00:00Z'],
    ['iso', '+02:00', '2016-02-29T10:00:00', '2016-02-29T08:00:00Z'],
    ['iso', 'Asia/Tokyo', '2016-02-29 10:00:00', '2016-02-29T01:00:00Z'],
    ['epoch-s', 'UTC', '1456704960', '2016-02-29T00:16:00Z'],
    ['epoch-ms', 'UTC', '1456704960000', '2016-02-29T00:16:00Z'],
  ])('reads %s in %s: %s', (format, timeZone, text, expected) => {
    expect(timestampParser({ format, timeZone })(text)).toBe(at(expected));
  });

  it('rejects text not in the format instead of guessing', () => {
    const parse = timestampParser({ format: 'd/M/yyyy H:mm', timeZone: 'UTC' });
    expect(parse('2/30/2016 01:16')).toBeUndefined();
    expect(parse('2016-02-29T01:16:00Z')).toBeUndefined();
  });

  it('refuses an unknown time zone in the mapping, naming the field', () => {
    const result = LogMapping.safeParse({
      format: 'xes',
      mode: 'lifecycle',
      timestamps: { timeZone: 'Europe/Amsterdm' },
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(/timeZone.*is not a time zone/);
  });

  it('reads times of day on a separate date column, across midnight and a DST change', async () => {
    // Prepare
    const calls = mapping({
      format: 'csv',
      columns: {
        caseId: 'id',
        category: 'type',
        arrival: 'queued',
        arrivalFallback: 'served',
        start: 'served',
        end: 'done',
        resource: 'agent',
      },
      dateColumn: 'day',
      dateFormat: 'd/M/yyyy',
      missingValues: ['0:00:00'],
      timestamps: { timeZone: 'Europe/Amsterdam' },
    });
    // Act
    const { jobs } = await readLogJobs(join(LOGS, 'calls-dated.tsv'), calls);
    // Assess
    expect(jobs.map((job) => [job.caseId, job.resource, job.arrivalAt, job.startAt, job.endAt])).toEqual([
      ['c1', 'DORIT', at('2024-03-02T08:00:00Z'), at('2024-03-02T08:01:00Z'), at('2024-03-02T08:05:00Z')],
      ['c2', 'Dorit', at('2024-03-02T22:58:00Z'), at('2024-03-02T22:58:00Z'), at('2024-03-02T23:03:00Z')],
      ['c3', 'DORIT', at('2024-03-31T00:30:00Z'), at('2024-03-31T00:40:00Z'), at('2024-03-31T00:50:00Z')],
    ]);
  });
});

describe('one-row-per-event CSV through the lifecycle and milestones modes', () => {
  it('reads a state-change audit export (local dates, quoted multi-line text) in milestones mode', async () => {
    // Prepare
    const audit = mapping({
      format: 'csv',
      layout: 'events',
      mode: 'milestones',
      columns: {
        caseId: 'number',
        activity: 'state',
        timestamp: 'sys_updated_on',
        resource: 'assigned_to',
        group: 'assignment_group',
      },
      startActivity: ['In Progress'],
      endActivity: ['Resolved', 'Closed'],
      timestamps: { format: 'd/M/yyyy H:mm', timeZone: 'Europe/Amsterdam' },
    });
    // Act
    const read = await readLogJobs(join(LOGS, 'servicenow-audit.csv'), audit);
    // Assess
    expect(read.jobs).toEqual([
      {
        caseId: 'INC0010001',
        category: 'Network',
        arrivalAt: at('2016-02-29T00:16:00Z'),
        startAt: at('2016-02-29T00:46:00Z'),
        endAt: at('2016-02-29T03:16:00Z'),
        resource: 'SE-Anna',
        priority: 3,
      },
      {
        caseId: 'INC0010002',
        category: 'Network',
        arrivalAt: at('2016-02-29T00:20:00Z'),
        startAt: at('2016-02-29T01:00:00Z'),
        endAt: at('2016-03-01T08:05:00Z'),
        resource: 'se-Anna',
        priority: 3,
      },
    ]);
    expect(read.skipped).toEqual({
      'case never reached the end activity after its start': 1,
      'case never reached the start activity': 1,
    });
  });

  it('reads SCHEDULE/START/COMPLETE rows with epoch-ms times in lifecycle mode', async () => {
    // Prepare
    const issues = mapping({
      format: 'csv',
      layout: 'events',
      mode: 'lifecycle',
      columns: {
        caseId: 'issue',
        activity: 'type',
        lifecycle: 'transition',
        timestamp: 'at_ms',
        resource: 'who',
      },
      timestamps: { format: 'epoch-ms' },
    });
    // Act
    const { jobs } = await readLogJobs(join(LOGS, 'jira-lifecycle.csv'), issues);
    // Assess
    expect(
      jobs.map((job) => [job.caseId, job.category, job.resource, job.arrivalAt, job.startAt, job.endAt]),
    ).toEqual([
      ['PROJ-1', 'Bug', 'maria', 1709542800000, 1709544600000, 1709548200000],
      ['PROJ-2', 'Story', 'Maria', 1709543000000, 1709545000000, 1709550000000],
    ]);
  });

  it('needs the start and end activities in milestones mode', () => {
    const result = LogMapping.safeParse({
      format: 'csv',
      layout: 'events',
      mode: 'milestones',
      columns: { caseId: 'n', activity: 's', timestamp: 't' },
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(/startActivity.*is required in milestones mode/);
  });
});

describe('bad input: one line naming file, row and column, non-zero exit', () => {
  const err: string[] = [];
  const out: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    err.length = 0;
    out.length = 0;
  });
  function capture() {
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err.push(String(chunk));
      return true;
    });
  }
  const run = (args: string[]) => runCommandLine([replayCommand], ['replay', ...args]);
  const errors = () =>
    err
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('flowtune replay:'));

  function writeMap(content: unknown): string {
    const path = join(tempDir(), 'map.json');
    writeFileSync(path, JSON.stringify(content));
    return path;
  }
  const badTimeMap = {
    format: 'csv',
    columns: {
      caseId: 'id',
      category: 'type',
      arrival: 'opened',
      start: 'started',
      end: 'closed',
      resource: 'agent',
    },
    timestamps: { format: 'yyyy-MM-dd HH:mm' },
  };

  it('an unreadable timestamp: file, row, line, column, value and the fix; exit code 1, no stack', async () => {
    capture();
    const code = await run([
      '--log',
      join(LOGS, 'bad-time.csv'),
      '--map',
      writeMap(badTimeMap),
      '--policy',
      'edf',
    ]);
    expect(code).toBe(1);
    expect(errors()).toEqual([
      expect.stringMatching(
        /bad-time\.csv: row 2 \(line 3\), column "started": "2016-02-30 10:15" is not a "yyyy-MM-dd HH:mm" timestamp; fix the row/,
      ),
    ]);
    expect(err.join('')).not.toMatch(/\n\s+at /);
  });

  it('onBadRow: skip replays the rest and says how many rows were left out', async () => {
    capture();
    const code = await run([
      '--log',
      join(LOGS, 'bad-time.csv'),
      '--map',
      writeMap({ ...badTimeMap, onBadRow: 'skip' }),
      '--policy',
      'edf',
    ]);
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/left out: 1 unreadable row \(onBadRow: skip\)/);
  });

  it('a mapping naming a column the file lacks, an invalid mapping, a missing file', async () => {
    capture();
    const wrongColumn = await run([
      '--log',
      join(LOGS, 'bad-time.csv'),
      '--map',
      writeMap({ ...badTimeMap, columns: { ...badTimeMap.columns, resource: 'assignee' } }),
      '--policy',
      'edf',
    ]);
    const invalid = await run([
      '--log',
      join(LOGS, 'bad-time.csv'),
      '--map',
      writeMap({ format: 'csv', columns: { caseId: 'id' }, dateFormat: 3 }),
      '--policy',
      'edf',
    ]);
    const missing = await run(['--log', join(LOGS, 'nope.csv'), '--policy', 'edf']);
    expect([wrongColumn, invalid, missing]).toEqual([1, 1, 1]);
    const lines = errors();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/bad-time\.csv: column\(s\) "assignee" not in the header .*fix the mapping/);
    expect(lines[1]).toMatch(/map\.json: invalid mapping: .*dateFormat: .*columns\.category: /);
    expect(lines[2]).toMatch(/nope\.csv: no such log file; check the path/);
  });

  it('a CSV whose quote never closes', async () => {
    capture();
    const path = join(tempDir(), 'open-quote.csv');
    const [header, good] = readFileSync(join(LOGS, 'bad-time.csv'), 'utf8').split('\n');
    writeFileSync(path, `${header}\n${good}\nt3,"2016-02-29 10:20,x,y,anna,a\n`);
    const code = await run(['--log', path, '--map', writeMap(badTimeMap), '--policy', 'edf']);
    expect(code).toBe(1);
    expect(errors()).toEqual([
      expect.stringMatching(
        /open-quote\.csv: unreadable CSV after line 2 \(.*opening quote at line 3\); check the quoting/,
      ),
    ]);
  });
});
