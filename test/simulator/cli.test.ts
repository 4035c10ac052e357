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
});
