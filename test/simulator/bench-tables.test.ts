import { describe, expect, it } from 'vitest';
import {
  BenchJson,
  BLOCK_BEGIN,
  BLOCK_END,
  renderBenchMarkdown,
  replaceBlock,
} from '../../simulator/report/markdown';

const estimate = (mean: number) => ({ mean, halfWidth: 0, replications: 2 });

function cell(scenario: string, load: number, policy: string, meanWait: number, variant = 'scenario') {
  return {
    scenario,
    variant,
    load,
    policy,
    metrics: { meanWait: estimate(meanWait), p90Wait: estimate(meanWait * 2), slaAttainment: estimate(0.9) },
    throughputVsBound: estimate(0.97),
  };
}

/** A small run: two scenarios (one of them tuning-base), two loads, a random section, a miss. */
const REPORT = {
  plan: {
    scenarios: [{ name: 'flexible' }, { name: 'tuning-base' }],
    loads: [0.7, 0.9],
    policies: ['flowtune', 'longest-idle-fcfs', 'cmu-aging'],
    replications: 2,
    seed: 1,
    variants: ['cold'],
    variantLoads: [0.9],
  },
  cells: ['flexible', 'tuning-base'].flatMap((scenario) =>
    [0.7, 0.9].flatMap((load) => [
      cell(scenario, load, 'flowtune', scenario === 'tuning-base' ? 60 : 30),
      cell(scenario, load, 'longest-idle-fcfs', 45),
      cell(scenario, load, 'cmu-aging', 40),
    ]),
  ),
  replays: [],
  random: {
    seed: 1,
    replications: 2,
    scenarios: 1,
    withinTwoPercentShare: 0,
    worstRatio: 1.3,
    worstScenario: 'random-1-00',
    slaWorstDeltaPoints: -2,
    slaWorstScenario: 'random-1-00',
    waitFloorSeconds: 1,
    maxLoad: 0.95,
    results: [
      {
        name: 'random-1-00',
        description: 'specialist skills',
        load: 0.8,
        flowtuneMeanWait: 130,
        bestBaseline: 'edf',
        bestBaselineMeanWait: 100,
        ratio: 1.3,
        slaDeltaPoints: -2,
        bestSlaBaseline: 'edf',
      },
    ],
  },
  command: 'flowtune bench --reps 2',
  targets: [
    {
      target: 'mean wait vs best baseline',
      scope: 'tuning-base',
      measured: '1.50×',
      threshold: '≤ 1.02×',
      pass: false,
    },
    { target: 'whole bench', scope: 'wall clock', measured: '90 s', threshold: '< 180 s', pass: true },
  ],
  wallSeconds: 90,
  environment: {
    node: 'v20.20.2',
    cpus: 2,
    loadAverage: [1, 1, 1],
    date: '2026-12-04T19:00:00.000Z',
    workers: 2,
  },
  errors: [],
};

describe('the generated README tables', () => {
  it('state date, machine and command, and show every scenario, load and miss of the run', () => {
    // Act
    const block = renderBenchMarkdown(BenchJson.parse(REPORT), 'summary');

    // Assess
    expect(block).toMatch(/`flowtune bench --reps 2` on 2026-12-04 19:00 UTC: Node v20\.20\.2, 2 CPUs/);
    for (const scenario of ['flexible', 'tuning-base'])
      for (const load of ['0.7', '0.9']) expect(block).toContain(`| ${scenario} | ${load} |`);
    expect(block).toContain('| tuning-base | 0.9 | 60.0 s | 45.0 s | 40.0 s (cmu-aging) | 1.50× |');
    expect(block).toContain('| tuning-base | cold | 0.9 |');
    expect(block).toContain('| random-1-00 | 0.8 | specialist skills |');
    expect(block).toMatch(/Misses \(1 of 2\):\n\n- mean wait vs best baseline — tuning-base: 1\.50×/);
    expect(block).toContain('| **MISS** | mean wait vs best baseline |');
  });

  it('replaces only the text between the markers, and refuses a document without them', () => {
    // Prepare
    const document = `# Title\n\nbefore\n\n${BLOCK_BEGIN}\nold table\n${BLOCK_END}\n\nafter\n`;

    // Act
    const once = replaceBlock(document, 'new table', 'README.md');
    const twice = replaceBlock(once, 'new table', 'README.md');

    // Assess
    expect(once).toBe(`# Title\n\nbefore\n\n${BLOCK_BEGIN}\n\nnew table\n\n${BLOCK_END}\n\nafter\n`);
    expect(twice).toBe(once);
    expect(() => replaceBlock('# no markers', 'x', 'README.md')).toThrow(/README\.md: no .* markers/);
  });

  it('refuses a report that lacks a field the tables need, naming it', () => {
    // Act
    const result = BenchJson.safeParse({
      ...REPORT,
      environment: { ...REPORT.environment, date: undefined },
    });

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['environment', 'date']);
  });
});
