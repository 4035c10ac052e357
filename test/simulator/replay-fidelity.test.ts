import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { POLICY_REGISTRY } from '../../domain/routing';
import { runCommandLine } from '../../simulator/cli/command';
import { replayCommand } from '../../simulator/cli/replay';
import { AS_LOGGED, loadReplay, replay, WAIT_TOLERANCE } from '../../simulator/replay';
import { calibrateReplay, replayAsLogged, staffingAt } from '../../simulator/replay/fidelity';
import type { LogJob } from '../../simulator/replay/log';
import { buildReplayModel, concurrencyAtStarts, presenceOf } from '../../simulator/replay/model';

const TRACES = join(__dirname, '..', '..', '..', 'shared', 'data', 'traces');
const T0 = Date.parse('2026-03-02T08:00:00Z');
const at = (seconds: number) => T0 + seconds * 1000;

function job(caseId: string, arrival: number, start: number, end: number, resource: string): LogJob {
  return {
    caseId,
    category: 'support',
    arrivalAt: at(arrival),
    startAt: at(start),
    endAt: at(end),
    resource,
    priority: 3,
  };
}

/** Real logs live outside the repository; say so plainly when one is not there. */
function requireLog(file: string): string {
  const path = join(TRACES, file);
  if (!existsSync(path))
    throw new Error(`real log ${path} is missing: this test replays it; see ../shared/data/traces/README.md`);
  return path;
}

describe('staffing inference', () => {
  it('merges one person’s work across idle gaps up to the break threshold', () => {
    expect(
      presenceOf(
        [
          [0, 10],
          [12, 20],
          [100, 110],
          [105, 130],
        ],
        5,
      ),
    ).toEqual([
      [0, 20],
      [100, 130],
    ]);
  });

  it('counts the items in progress at each start, simultaneous starts together', () => {
    expect(
      concurrencyAtStarts([
        [0, 100],
        [10, 20],
        [20, 30],
        [50, 60],
        [50, 70],
      ]),
    ).toEqual([1, 2, 2, 3, 3]);
  });

  it('walks from the most generous staffing to the tightest', () => {
    expect(staffingAt(0)).toEqual({ breakGapSeconds: 86_400, capacityQuantile: 1 });
    expect(staffingAt(0.5)).toEqual({ breakGapSeconds: 86_400, capacityQuantile: 0.5 });
    expect(staffingAt(1)).toEqual({ breakGapSeconds: 0, capacityQuantile: 0.5 });
  });
});

describe('as-logged replay', () => {
  // One person, one item at a time, a queue: the log's waits come from the person being busy.
  const queue = [
    job('c1', 0, 0, 600, 'ana'),
    job('c2', 60, 600, 900, 'ana'),
    job('c3', 120, 900, 1500, 'ana'),
    job('c4', 2000, 2000, 2300, 'Ana'),
    job('c5', 2100, 2300, 2400, 'Ana'),
  ];

  it('gives each item to the person who did it, in their order, reproducing the logged starts', () => {
    // Prepare
    const model = buildReplayModel(queue, { seed: 1, warmupFraction: 0, staffing: staffingAt(1) });
    // Act
    const result = replayAsLogged(model);
    // Assess
    expect(result.metrics.meanWait).toBeCloseTo(model.logged.meanWait, 6);
    expect(result.metrics.utilisation).toBeCloseTo(model.logged.utilisation, 6);
    expect(model.logged.meanWait).toBeCloseTo((0 + 540 + 780 + 0 + 200) / 5, 6);
  });

  it('is calibrated as reproducible and runs every policy on the same model', () => {
    // Act
    const calibrated = calibrateReplay(queue, { seed: 1 });
    // Assess
    expect(calibrated.fidelity.reproducible).toBe(true);
    expect(Math.abs(calibrated.fidelity.ratio - 1)).toBeLessThanOrEqual(WAIT_TOLERANCE);
    for (const policy of Object.keys(POLICY_REGISTRY))
      expect(replay(calibrated.model, policy).metrics.arrivals).toBe(calibrated.asLogged.metrics.arrivals);
  });

  it('marks a log whose waits staffing cannot explain as not reproducible, saying why', () => {
    // Prepare: the person always had room (a long item in hand, two at a time), yet each short
    // item waited 1,000 s before being started: waits on something the log does not mark.
    const jobs = [job('long', 0, 0, 20_000, 'ben')];
    for (let index = 0; index < 12; index++) {
      const arrival = 100 + index * 1500;
      jobs.push(job(`short-${index}`, arrival, arrival + 1000, arrival + 1200, 'ben'));
    }
    // Act
    const { fidelity } = calibrateReplay(jobs, { seed: 1 });
    // Assess
    expect(fidelity.reproducible).toBe(false);
    expect(fidelity.ratio).toBeLessThan(1 - WAIT_TOLERANCE);
    expect(fidelity.reason).toMatch(/waiting the log does not explain by staffing \(customer-side pauses/);
  });
});

describe('fidelity on the shared logs', { timeout: 600_000 }, () => {
  it('reproduces the Helpdesk log within tolerance, or says why not', async () => {
    // Act
    const { fidelity } = await loadReplay(requireLog('helpdesk.xes.gz'));
    // Assess
    if (fidelity.reproducible) {
      expect(Math.abs(fidelity.ratio - 1)).toBeLessThanOrEqual(0.25);
      expect(Math.abs(fidelity.modelUtilisation - fidelity.loggedUtilisation)).toBeLessThanOrEqual(0.1);
    } else expect(fidelity.reason).toBeDefined();
    expect(fidelity.reproducible).toBe(true);
  });
});

describe('replay --json: the fidelity block and the three-way comparison', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints logged, as-logged and every policy with the fidelity block', async () => {
    // Prepare
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dir = mkdtempSync(join(tmpdir(), 'flowtune-fidelity-'));
    const log = join(dir, 'queue.csv');
    writeFileSync(
      log,
      [
        'id,arrived,started,ended,agent',
        '1,0,0,600,ana',
        '2,60,600,900,ana',
        '3,120,900,1500,ana',
        '4,130,140,700,ben',
        '5,2000,2000,2300,ben',
      ].join('\n'),
    );
    const map = join(dir, 'map.yaml');
    writeFileSync(
      map,
      'format: csv\ncolumns: { caseId: id, category: agent, arrival: arrived, start: started, end: ended, resource: agent }\ntimestamps: { format: epoch-s }\n',
    );
    // Act
    const code = await runCommandLine(
      [replayCommand],
      ['replay', '--log', log, '--map', map, '--policy', 'all', '--json'],
    );
    // Assess
    expect(code).toBe(0);
    const output = JSON.parse(out.join(''));
    expect(Object.keys(output.fidelity)).toEqual(
      expect.arrayContaining([
        'loggedMeanWaitSeconds',
        'modelMeanWaitSeconds',
        'loggedUtilisation',
        'modelUtilisation',
        'ratio',
        'reproducible',
      ]),
    );
    expect(output.logged.meanWait).toBeCloseTo(output.fidelity.loggedMeanWaitSeconds, 6);
    expect(output.asLogged.meanWait).toBeCloseTo(output.fidelity.modelMeanWaitSeconds, 6);
    expect(output.results.map((result: { policy: string }) => result.policy)).toEqual(
      Object.keys(POLICY_REGISTRY),
    );
    expect(output.claim).toMatch(output.fidelity.reproducible ? /reproduces the log/ : /NOT REPRODUCIBLE/);
    expect(AS_LOGGED).toBe('as-logged');
  });
});
