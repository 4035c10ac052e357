import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { demoCommand } from '../../local/demo/command';
import { runCommandLine } from '../../simulator/cli/command';

/** Runs the demo command and returns what it wrote to stdout and its exit code. */
async function runDemo(
  argv: readonly string[],
): Promise<{ readonly exitCode: number; readonly stdout: string }> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    const exitCode = await runCommandLine([demoCommand], ['demo', ...argv]);
    return { exitCode, stdout: chunks.join('') };
  } finally {
    write.mockRestore();
  }
}

interface DemoJson {
  readonly kpis: {
    readonly items: number;
    readonly byState: Record<string, number>;
    readonly humanReviews: number;
    readonly escalations: number;
    readonly routingViolations: number;
    readonly duplicatesIgnored: { readonly created: number; readonly completions: number };
  };
  readonly trouble: readonly { readonly what: string; readonly sent: number; readonly handled: number }[];
  readonly showcase: {
    readonly itemId: string;
    readonly trail: readonly { readonly kind: string }[];
    readonly explanation: {
      readonly chosen: { readonly agentId: string };
      readonly runnerUp?: object;
    } | null;
  } | null;
  readonly report: string;
  readonly problems: readonly string[];
  readonly exitCode: number;
}

const workDir = mkdtempSync(join(tmpdir(), 'flowtune-demo-'));

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

// A generous guard, not a speed target: on virtual time the figures do not depend on how long it takes.
describe('npm run demo', { timeout: 300_000 }, () => {
  it('drives a workload through the local runtime and accounts for every item, with an audit trail and a report', async () => {
    // Prepare: 60 items (the default is 300) on virtual time, so the test stays short.
    const report = join(workDir, 'demo.html');

    // Act
    const { exitCode, stdout } = await runDemo([
      '--items',
      '60',
      '--seed',
      '4',
      '--json',
      '--report',
      report,
    ]);
    const result = JSON.parse(stdout) as DemoJson;

    // Assess
    expect(result.problems).toEqual([]);
    expect(exitCode).toBe(0);
    expect(result.kpis.items).toBe(60);
    expect(result.kpis.byState.lost).toBe(0);
    expect(result.kpis.byState.completed).toBeGreaterThan(45);
    expect(result.kpis.routingViolations).toBe(0);
    const row = (what: string) => result.trouble.find((entry) => entry.what === what);
    for (const what of [
      'malformed WorkItemCreated',
      'completion for an unknown item',
      'item never completed by its agent',
    ]) {
      expect(row(what)?.handled, what).toBe(row(what)?.sent);
      expect(row(what)?.sent, what).toBeGreaterThan(0);
    }
    expect(result.kpis.duplicatesIgnored.created).toBeGreaterThanOrEqual(
      row('duplicate WorkItemCreated')?.sent ?? 1,
    );
    expect(result.kpis.escalations).toBeGreaterThanOrEqual(
      row('item never completed by its agent')?.sent ?? 1,
    );
    expect(result.showcase?.explanation?.chosen.agentId).toMatch(/^agent-/);
    expect(result.showcase?.trail.map((entry) => entry.kind)).toEqual(
      expect.arrayContaining(['RECEIVED', 'SCORED', 'ASSIGNED', 'ROUTED', 'COMPLETED']),
    );
    expect(existsSync(report)).toBe(true);
    expect(readFileSync(report, 'utf8')).toContain('<svg');
  });

  it('answers --help with its options and exit code 0, without starting anything', async () => {
    // Act
    const { exitCode, stdout } = await runDemo(['--help']);

    // Assess
    expect(exitCode).toBe(0);
    for (const option of ['--items', '--seed', '--wall-clock', '--scale', '--report', '--json'])
      expect(stdout).toContain(option);
  });

  it('refuses a bad option with exit code 2, naming it', async () => {
    // Prepare
    const errors: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      errors.push(String(chunk));
      return true;
    });

    // Act
    let exitCode: number;
    try {
      ({ exitCode } = await runDemo(['--items', 'many']));
    } finally {
      write.mockRestore();
    }

    // Assess
    expect(exitCode).toBe(2);
    expect(errors.join('')).toContain('--items');
  });

  it('refuses --scale without --wall-clock: virtual time needs no scale', async () => {
    // Prepare
    const errors: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });

    // Act
    let exitCode: number;
    try {
      ({ exitCode } = await runDemo(['--scale', '360']));
    } finally {
      write.mockRestore();
    }

    // Assess
    expect(exitCode).toBe(2);
    expect(errors.join('')).toContain('--wall-clock');
  });
});
