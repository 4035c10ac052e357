import { describe, expect, it } from 'vitest';
import { bottleneckView, formatAge, LIVE_STAGES, UNSCORED_QUEUE } from '../../domain/ops/bottleneck';
import { NOW, seededBacklog } from './seeded-backlog';

describe('bottleneckView on a seeded backlog', () => {
  const view = bottleneckView(seededBacklog(), NOW);

  it('counts every live item once, per stage, with its share and oldest age', () => {
    const byStage = Object.fromEntries(view.stages.map((cell) => [cell.stage, cell]));

    expect(view.items).toBe(32);
    expect(view.stages.map((cell) => cell.stage)).toEqual([...LIVE_STAGES]);
    expect(byStage.HUMAN_REVIEW).toEqual({
      stage: 'HUMAN_REVIEW',
      items: 16,
      share: 0.5,
      oldestAgeSeconds: 192 * 60,
      overdue: 3,
    });
    expect(byStage.WAITING_ASSIGNMENT).toMatchObject({
      items: 8,
      share: 0.25,
      oldestAgeSeconds: 45 * 60,
      overdue: 1,
    });
    expect(byStage.IN_PROGRESS).toMatchObject({ items: 6, oldestAgeSeconds: 30 * 60 });
    expect(byStage.EXCEPTION).toEqual({
      stage: 'EXCEPTION',
      items: 0,
      share: 0,
      oldestAgeSeconds: 0,
      overdue: 0,
    });
  });

  it('says "80% of billing items wait at human review", with the oldest age', () => {
    expect(view.headlines).toContain('80% of 20 billing items wait at human review (oldest 3h 12m)');
  });

  it('names the biggest waiting stage of each queue, largest queue first, never "in progress"', () => {
    expect(view.queues.map((row) => [row.queue, row.items, row.bottleneck])).toEqual([
      ['billing', 20, { stage: 'HUMAN_REVIEW', share: 0.8 }],
      ['claims', 10, { stage: 'WAITING_ASSIGNMENT', share: 0.6 }],
      [UNSCORED_QUEUE, 2, { stage: 'VALIDATING', share: 1 }],
    ]);
    expect(view.headlines).toContain('60% of 10 claims items wait for an agent (oldest 45m 00s)');
  });

  it('leads with the overall headline and leaves small queues out of the headlines', () => {
    expect(view.headlines[0]).toBe('50% of all 32 live items wait at human review (oldest 3h 12m)');
    expect(view.headlines.some((headline) => headline.includes(UNSCORED_QUEUE))).toBe(false);
  });

  it('reports the stages whose read was truncated', () => {
    const truncated = bottleneckView(seededBacklog(), NOW, { truncatedStages: ['HUMAN_REVIEW'] });

    expect(truncated.truncatedStages).toEqual(['HUMAN_REVIEW']);
  });
});

describe('bottleneckView edge cases', () => {
  it('gives an empty view, without headlines, when nothing is live', () => {
    const view = bottleneckView([], NOW);

    expect(view).toMatchObject({ items: 0, queues: [], headlines: [] });
    expect(view.stages.every((cell) => cell.items === 0 && cell.share === 0)).toBe(true);
  });

  it('has no bottleneck for a queue whose items are all being worked on', () => {
    const entries = Array.from({ length: 6 }, (_, index) => ({
      itemId: `w-${index}`,
      stage: 'IN_PROGRESS' as const,
      queue: 'returns',
      stageEnteredAt: NOW - 60_000,
      slaDueAt: NOW + 60_000,
    }));

    const view = bottleneckView(entries, NOW);

    expect(view.queues[0]?.bottleneck).toBeUndefined();
    expect(view.headlines).toEqual([]);
  });

  it('breaks a tie between stages by the older item', () => {
    const entry = (stage: 'HUMAN_REVIEW' | 'EXCEPTION', minutes: number, index: number) => ({
      itemId: `${stage}-${index}`,
      stage,
      queue: 'q',
      stageEnteredAt: NOW - minutes * 60_000,
      slaDueAt: 0,
    });
    const entries = [0, 1, 2].flatMap((index) => [
      entry('HUMAN_REVIEW', 5, index),
      entry('EXCEPTION', 50, index),
    ]);

    expect(bottleneckView(entries, NOW).queues[0]?.bottleneck?.stage).toBe('EXCEPTION');
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [65, '1m 05s'],
    [11_520, '3h 12m'],
    [187_200, '2d 04h'],
  ])('writes %i seconds as %s', (seconds, text) => {
    expect(formatAge(seconds)).toBe(text);
  });
});
