import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyChanged } from '../../domain/events/tuning';
import { DEFAULT_POLICY } from '../../domain/policy';
import { type OpsServer, startOpsServer } from '../../local/ops-server';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { runOps } from '../support/ops-cli';

describe('the policy history through the ops CLI against the local runtime', { timeout: 90_000 }, () => {
  let runtime: LocalRuntime;
  let server: OpsServer;
  const ops = (actor: string, ...args: string[]) => runOps(server.url, actor, ...args);

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dispatchTickMs: false, retryIntervalMs: 10 });
    server = await startOpsServer(runtime);
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.stop();
  });

  it('shows who changed what and why, diffs two versions, and rolls back under the person’s name', async () => {
    // Prepare: ana proposes a more cautious policy, ben approves it.
    const file = join(tmpdir(), `flowtune-policy-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ ...DEFAULT_POLICY, version: 'cautious-1', minConfidence: 0.3 }));
    expect(
      (await ops('ana', 'propose-policy', '--file', file, '--rationale', 'too many wrong automations')).code,
    ).toBe(0);
    expect((await ops('ben', 'approve-policy', 'cautious-1', '--reason', 'agreed')).code).toBe(0);

    // Act
    const history = await ops('ana', 'policies', 'history');
    const diff = await ops('ana', 'policies', 'diff', 'default-1', 'cautious-1');
    const rollback = await ops(
      'ana',
      'policies',
      'rollback',
      'default-1',
      '--reason',
      'cautious-1 parks too much',
    );
    const again = await ops('ana', 'policies', 'rollback', 'default-1', '--reason', 'once more');
    const after = await ops('ana', 'policies', '--json');

    // Assess
    expect(history.out).toMatch(/active: cautious-1/);
    expect(history.out).toMatch(/cautious-1 {2}approved {2}from default-1 {2}by local:ben/);
    expect(history.out).toMatch(/changed: minConfidence/);
    expect(diff.out).toContain('minConfidence: 0 → 0.3');
    expect(rollback.code).toBe(0);
    expect(rollback.out).toMatch(/policy default-1 is active again \(was cautious-1\)/);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/409 PolicyConflict/);
    const view = JSON.parse(after.out) as {
      active: { version: string };
      history: { actor: string; kind: string }[];
    };
    expect(view.active.version).toBe('default-1');
    expect(view.history.map((entry) => [entry.kind, entry.actor])).toEqual([
      ['approved', 'local:ben'],
      ['rolled-back', 'local:ana'],
    ]);
    const announced = runtime
      .emittedEvents('PolicyChanged')
      .map((event) => PolicyChanged.parse(event.detail));
    expect(announced.map((event) => [event.policyVersion, event.kind, event.actor])).toEqual([
      ['cautious-1', 'approved', 'local:ben'],
      ['default-1', 'rolled-back', 'local:ana'],
    ]);
  });
});
