import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchCommand } from '../../simulator/cli/bench';
import { runCommandLine } from '../../simulator/cli/command';
import { replayCommand } from '../../simulator/cli/replay';
import { simulateCommand } from '../../simulator/cli/simulate';

const COMMANDS = [simulateCommand, replayCommand, benchCommand];
const TINY = join(__dirname, 'fixtures', 'tiny-scenario.yaml');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  return { out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('flowtune command line', () => {
  it('lists its commands on --help', async () => {
    // Prepare
    const { out } = capture();
    // Act
    const code = await runCommandLine(COMMANDS, ['--help']);
    // Assess
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/simulate .*\n.*replay .*\n.*bench /);
  });

  it('answers --help on every command with its usage', async () => {
    const { out } = capture();
    for (const command of COMMANDS) {
      expect(await runCommandLine(COMMANDS, [command.name, '--help'])).toBe(0);
    }
    expect(out.join('')).toMatch(
      /Usage: flowtune simulate[\s\S]*Usage: flowtune replay[\s\S]*Usage: flowtune bench/,
    );
  });

  it('refuses an unknown command and a bad option value with the fix, exit code 2', async () => {
    // Prepare
    const { err } = capture();
    // Act
    const unknown = await runCommandLine(COMMANDS, ['simulat']);
    const badPolicy = await runCommandLine(COMMANDS, ['simulate', '--scenario', TINY, '--policy', 'greedy']);
    const badFlag = await runCommandLine(COMMANDS, ['simulate', '--sceanrio', TINY]);
    // Assess
    expect([unknown, badPolicy, badFlag]).toEqual([2, 2, 2]);
    expect(err.join('')).toMatch(/Unknown command "simulat"/);
    expect(err.join('')).toMatch(/--policy must be one of flowtune, round-robin/);
    expect(err.join('')).toMatch(/Unknown option '--sceanrio'[\s\S]*flowtune simulate --help/);
  });

  it('prints one JSON object of metrics for simulate --json', async () => {
    // Prepare
    const { out } = capture();
    // Act
    const code = await runCommandLine(COMMANDS, [
      'simulate',
      '--scenario',
      TINY,
      '--policy',
      'edf',
      '--reps',
      '2',
      '--json',
    ]);
    // Assess
    expect(code).toBe(0);
    const result = JSON.parse(out.join(''));
    expect(result).toMatchObject({ scenario: 'tiny', policy: 'edf', load: 0.9, replications: 2 });
    expect(result.metrics.meanWait.replications).toBe(2);
    expect(result.metrics.slaAttainment.mean).toBeGreaterThan(0);
  });

  it('runs the random section alone with bench --random N --json: the random block, and scenarios simulate can re-run', async () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'flowtune-bench-random-'));
    const { out } = capture();
    try {
      // Act
      const code = await runCommandLine(COMMANDS, [
        'bench',
        ...['--scenarios', 'none', '--logs', 'none', '--variants', 'none', '--no-dispatch'],
        ...['--policies', 'flowtune,longest-idle-fcfs', '--workers', '0'],
        ...['--random', '1', '--random-reps', '1', '--seed', '5'],
        ...['--random-dir', join(directory, 'scenarios'), '--out', join(directory, 'bench.html'), '--json'],
      ]);

      // Assess
      expect(code).toBe(0);
      const report = JSON.parse(
        out
          .join('')
          .split('\n')
          .find((line) => line.startsWith('{')) ?? '{}',
      );
      expect(Object.keys(report.random).sort()).toEqual(
        expect.arrayContaining([
          'scenarios',
          'withinTwoPercentShare',
          'worstRatio',
          'worstScenario',
          'slaWorstDeltaPoints',
        ]),
      );
      expect(report.random.results).toHaveLength(1);
      expect(report.targets.map((target: { target: string }) => target.target)).toEqual(
        expect.arrayContaining(['random: worst mean wait vs best baseline']),
      );
      const written = join(directory, 'scenarios', 'random-5-00.yaml');
      out.length = 0;
      const rerun = await runCommandLine(COMMANDS, [
        ...[
          'simulate',
          '--scenario',
          written,
          '--policy',
          'flowtune',
          '--reps',
          '1',
          '--seed',
          '5',
          '--json',
        ],
      ]);
      expect(rerun).toBe(0);
      // The same workload (seed, replication 0, the scenario's load): the same mean wait as the bench's.
      expect(JSON.parse(out.join('')).metrics.meanWait.mean).toBeCloseTo(
        report.random.results[0].flowtuneMeanWait,
        6,
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
