import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/policy';
import { createStream } from '../../domain/random';
import {
  DEFAULT_TUNING_CONFIG,
  type ExperimentDecision,
  evaluateExperiment,
  experimentArm,
  msprtLogLikelihood,
  startExperiment,
} from '../../domain/tuning';

const settings = DEFAULT_TUNING_CONFIG.experiment;

/**
 * One simulated experiment: Bernoulli SLA outcomes for both arms, looked at after every batch
 * (a tuning cycle), until the test decides or the experiment's limits end it.
 */
function runExperiment(seed: number, options: { share: number; control: number; treatment: number }) {
  const random = createStream(seed, 'experiment');
  let control = { decided: 0, met: 0 };
  let treatment = { decided: 0, met: 0 };
  let decision: ExperimentDecision['decision'] = 'continue';
  let look = 0;
  for (; look < 240 && decision === 'continue'; look++) {
    for (let item = 0; item < 20; item++) {
      const treated = random.next() < options.share;
      const met = random.next() < (treated ? options.treatment : options.control);
      if (treated) treatment = { decided: treatment.decided + 1, met: treatment.met + (met ? 1 : 0) };
      else control = { decided: control.decided + 1, met: control.met + (met ? 1 : 0) };
    }
    decision = evaluateExperiment(
      { totals: { control, treatment }, startedAt: 0, mode: 'ab' },
      settings,
      look * 120_000,
    ).decision;
  }
  return { decision, looks: look };
}

function decisions(runs: number, options: { share: number; control: number; treatment: number }) {
  const counts = { promote: 0, rollback: 0, inconclusive: 0, continue: 0 };
  for (let seed = 0; seed < runs; seed++) counts[runExperiment(seed, options).decision]++;
  return counts;
}

describe('arm assignment', () => {
  it('is a pure function of the experiment and the item id', () => {
    const experiment = { experimentId: 'exp-1', mode: 'ab' as const, treatmentShare: 0.2 };

    const first = Array.from({ length: 200 }, (_, index) => experimentArm(`T-${index}`, experiment));
    const again = Array.from({ length: 200 }, (_, index) => experimentArm(`T-${index}`, experiment));

    expect(again).toEqual(first);
  });

  it('gives the treatment its share of sequential ids, and keeps every treated item treated at a larger share', () => {
    const ids = Array.from({ length: 20_000 }, (_, index) => `TCK-${index}`);
    const at = (share: number) =>
      ids.map((id) => experimentArm(id, { experimentId: 'exp-2', mode: 'ab', treatmentShare: share }));

    const tenth = at(0.1);
    const third = at(0.3);

    expect(tenth.filter((arm) => arm === 'treatment').length / ids.length).toBeCloseTo(0.1, 1);
    expect(third.filter((arm) => arm === 'treatment').length / ids.length).toBeCloseTo(0.3, 1);
    expect(tenth.every((arm, index) => arm === 'control' || third[index] === 'treatment')).toBe(true);
  });

  it('routes every item by control in shadow mode', () => {
    const arms = Array.from({ length: 500 }, (_, index) =>
      experimentArm(`T-${index}`, { experimentId: 'exp-3', mode: 'shadow', treatmentShare: 0.5 }),
    );

    expect(new Set(arms)).toEqual(new Set(['control']));
  });
});

describe('mSPRT decision', () => {
  it('has no evidence either way when the arms are identical', () => {
    const arm = { decided: 1000, met: 950 };

    const { logLikelihood, difference } = msprtLogLikelihood(arm, arm, 0.05);

    expect(difference).toBe(0);
    expect(logLikelihood).toBeLessThan(0);
  });

  it('promotes a candidate no better than control in fewer than 5% of 1,000 A/A experiments, looked at every cycle', () => {
    const counts = decisions(1000, { share: 0.5, control: 0.95, treatment: 0.95 });

    expect(counts.promote / 1000).toBeLessThan(0.05);
    // The harm test is allowed its own, larger error (10%): a needless rollback costs little.
    expect(counts.rollback / 1000).toBeLessThan(0.1);
  });

  it('rolls back a candidate 10 points worse in a 20% canary every time, half the time within 30 cycles', () => {
    const runs = Array.from({ length: 200 }, (_, seed) =>
      runExperiment(seed, { share: 0.2, control: 0.95, treatment: 0.85 }),
    );

    expect(runs.every((run) => run.decision === 'rollback')).toBe(true);
    // About 20 outcomes a cycle (4 of them treated): half the rollbacks come within 30 cycles.
    const looks = runs.map((run) => run.looks).sort((a, b) => a - b);
    expect(looks[looks.length / 2]).toBeLessThanOrEqual(30);
  });

  it('promotes a candidate 3 points better in most experiments', () => {
    const counts = decisions(200, { share: 0.5, control: 0.92, treatment: 0.95 });

    expect(counts.promote / 200).toBeGreaterThan(0.8);
    expect(counts.rollback).toBe(0);
  });

  it('ends an experiment inconclusive at its time limit, keeping control', () => {
    const decision = evaluateExperiment(
      {
        totals: { control: { decided: 50, met: 48 }, treatment: { decided: 50, met: 48 } },
        startedAt: 0,
        mode: 'ab',
      },
      settings,
      (settings.maxDurationMinutes + 1) * 60_000,
    );

    expect(decision.decision).toBe('inconclusive');
  });

  it('decides nothing in shadow mode', () => {
    const decision = evaluateExperiment(
      {
        totals: { control: { decided: 5000, met: 4000 }, treatment: { decided: 5000, met: 100 } },
        startedAt: 0,
        mode: 'shadow',
      },
      settings,
      60_000,
    );

    expect(decision.decision).toBe('continue');
  });
});

describe('startExperiment', () => {
  it('refuses a candidate that carries the active version', () => {
    expect(() =>
      startExperiment({
        experimentId: 'exp-4',
        candidate: DEFAULT_POLICY,
        active: DEFAULT_POLICY,
        mode: 'ab',
        treatmentShare: 0.2,
        now: 0,
        startedBy: 'ops:ana',
      }),
    ).toThrow(/own version/);
  });
});
