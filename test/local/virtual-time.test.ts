import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { computeKpis } from '../../local/workload/kpis';
import { planWorkload } from '../../local/workload/plan';
import { runSession, type SessionResult, VIRTUAL_EPOCH } from '../../local/workload/session';

/**
 * The local runtime on virtual time: the same plan gives the same run, to the millisecond,
 * whatever the wall time each step took. The second run is made slower on purpose (a busy-wait
 * inside every scoring call) — the figures must not move.
 */

let dynamoDb: DynamoDbLocal;

beforeAll(async () => {
  dynamoDb = await startDynamoDbLocal();
});

afterAll(async () => {
  await dynamoDb?.stop();
});

/** Event and request ids are random by design (as on AWS): identities, not figures. */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** What a run shows: the KPIs and every audit record (kind, time, actor, details) of every item. */
function shown(result: SessionResult) {
  const { lost, ...kpis } = computeKpis(result.outcomes);
  return {
    kpis,
    lost: lost.map((outcome) => outcome.itemId),
    audit: [...result.audit.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([itemId, records]) => ({
        itemId,
        records: records.map(
          (record) =>
            `${record.at} ${record.kind} ${record.actor} ${(record.details ?? '').replace(UUID, '<id>')}`,
        ),
      })),
  };
}

describe('the local runtime on virtual time', { timeout: 240_000 }, () => {
  it('gives identical KPIs and audit trails for the same seed, however slow the handlers run', async () => {
    // Prepare
    const plan = () => planWorkload({ seed: 3, items: 14, horizonSeconds: 14 * 18 });
    const busyWait = (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        // burn the core, as another process would
      }
    };

    // Act
    const plain = await runSession({ plan: plan(), dynamoDb });
    const slowed = await runSession({
      plan: plan(),
      dynamoDb,
      runtime: {
        decorateHandlers: (name, handler) =>
          name === 'score'
            ? async (event, context) => {
                busyWait(40);
                await new Promise((resolve) => setTimeout(resolve, 30));
                return handler(event, context);
              }
            : handler,
      },
    });

    // Assess
    expect(plain.settled).toBe(true);
    expect(plain.timeScale).toBe('virtual');
    expect(shown(slowed)).toEqual(shown(plain));
    // Simulated, not wall: the trail starts at the fixed virtual epoch, hours pass in seconds.
    const firstRecord = [...plain.audit.values()].flat().map((record) => Date.parse(record.at));
    expect(Math.min(...firstRecord)).toBeGreaterThanOrEqual(VIRTUAL_EPOCH);
    expect(computeKpis(plain.outcomes).byState.lost).toBe(0);
  });
});
