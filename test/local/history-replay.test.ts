import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { PROJECT_ROOT } from '../../lib/definitions';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { planWorkload } from '../../local/workload/plan';
import { runSession, type SessionResult } from '../../local/workload/session';
import { exportHistory, type HistoryExport, historyText } from '../../ops/history/export-history';
import { historyJobs, loadHistoryReplay, parseHistory, replay } from '../../simulator/replay';

/**
 * Issue 12, Flowtune's own history: a local-runtime run is exported from its Audit table, replayed
 * under the registered strategy and a candidate policy document, and the as-logged replay of the
 * export reproduces the run's own waits within the replay's tolerance.
 */

const run = promisify(execFile);

describe('export-history → replay --events', { timeout: 600_000 }, () => {
  let dynamoDb: DynamoDbLocal;
  let session: SessionResult;
  let history: HistoryExport;
  const dir = mkdtempSync(join(tmpdir(), 'flowtune-history-'));
  const historyFile = join(dir, 'history.jsonl');

  beforeAll(async () => {
    dynamoDb = await startDynamoDbLocal();
    const plan = planWorkload({ seed: 3, items: 80, horizonSeconds: 80 * 18 });
    session = await runSession({
      plan,
      dynamoDb,
      settleTimeoutMs: 6 * 3_600_000,
      beforeStop: async (runtime) => {
        history = await exportHistory({
          client: runtime.documentClient,
          auditTable: runtime.tables.auditTable,
          source: 'local runtime',
          now: runtime.clock.now(),
        });
      },
    });
    writeFileSync(historyFile, historyText(history.lines));
  });

  afterAll(async () => {
    await dynamoDb?.stop();
  });

  it('exports every completion of the run, each with its agent, its routing and when it was ready', () => {
    // Prepare
    const completed = session.outcomes.filter((outcome) => outcome.final === 'completed');

    // Act
    const { jobs, skipped } = historyJobs(parseHistory(historyText(history.lines), historyFile));

    // Assess
    expect(history.unreadable).toEqual({});
    // Creations Validate refused (others are refused at intake, before any RECEIVED record).
    const rejected = session.outcomes.filter((outcome) => outcome.final === 'rejected').length;
    expect(history.invalidCreations).toBeGreaterThan(0);
    expect(history.invalidCreations).toBeLessThanOrEqual(rejected);
    expect(history.counts.completed).toBe(completed.length);
    expect(jobs).toHaveLength(completed.length);
    const byId = new Map(jobs.map((job) => [job.caseId, job]));
    for (const outcome of completed) {
      const job = byId.get(outcome.itemId);
      expect(job?.resource, outcome.itemId).toBe(outcome.handledBy);
      expect(job?.endAt, outcome.itemId).toBe(outcome.completedAt);
      // Ready when the completed attempt was queued: not before creation, not after its routing.
      expect(job?.arrivalAt ?? 0, outcome.itemId).toBeGreaterThanOrEqual(outcome.createdAt ?? 0);
      expect(job?.arrivalAt ?? 0, outcome.itemId).toBeLessThanOrEqual(job?.startAt ?? 0);
    }
    expect(Object.keys(skipped).every((reason) => reason.includes('not completed'))).toBe(true);
  });

  it("reproduces the run's own waits as-logged and replays the active strategy and a candidate document", async () => {
    // Prepare
    const candidate = {
      ...DEFAULT_POLICY,
      version: 'candidate-7',
      routing: { strategy: 'flowtune', weights: {} },
    };

    // Act
    const calibrated = await loadHistoryReplay(historyFile, { seed: 1 });
    const active = replay(calibrated.model, 'flowtune');
    const proposed = replay(calibrated.model, candidate);

    // Assess
    expect(calibrated.fidelity.reproducible, calibrated.fidelity.reason).toBe(true);
    expect(calibrated.model.summary.jobs).toBe(history.counts.completed);
    expect(active.metrics.completed).toBeGreaterThan(0);
    expect(proposed.metrics.completed).toBe(active.metrics.completed);
  });

  it('answers `flowtune replay --events FILE --policy-file FILE --json` with the fidelity block and the candidate', async () => {
    // Prepare
    const policyFile = join(dir, 'candidate.json');
    writeFileSync(policyFile, JSON.stringify({ ...DEFAULT_POLICY, version: 'candidate-8' }));

    // Act
    const { stdout } = await run(
      'npx',
      [
        'tsx',
        'bin/flowtune.ts',
        'replay',
        '--events',
        historyFile,
        '--policy',
        'round-robin',
        '--policy-file',
        policyFile,
        '--json',
      ],
      { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const output = JSON.parse(stdout) as {
      source: string;
      fidelity: { reproducible: boolean; ratio: number };
      results: { policy: string; policyVersion?: string }[];
    };

    // Assess
    expect(output.source).toBe('Flowtune history');
    expect(output.fidelity.reproducible).toBe(true);
    expect(output.results.map((result) => result.policyVersion ?? result.policy)).toEqual([
      'round-robin',
      'candidate-8',
    ]);
  });
});
