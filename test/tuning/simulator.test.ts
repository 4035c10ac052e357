import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LpSolver } from '../../domain/metrics';
import { PROJECT_ROOT } from '../../lib/definitions';
import { highsSolver } from '../../simulator/lp';
import { runShadowCheck } from '../../simulator/tuning/bench';
import { runTuningSimulation } from '../../simulator/tuning/harness';
import { slaCurve, timeToCorrect, timeToDetect, wilsonInterval } from '../../simulator/tuning/measure';
import { loadTuningScenario, type TuningScenario } from '../../simulator/tuning/scenario';
import { buildTuningWorkload } from '../../simulator/tuning/workload';

const scenario = (name: string) => loadTuningScenario(join(PROJECT_ROOT, 'scenarios', `${name}.yaml`));

/** A shorter day, so a test runs in a second or two. */
function shortened(tuning: TuningScenario, horizonHours: number): TuningScenario {
  return { ...tuning, scenario: { ...tuning.scenario, horizonHours } };
}

describe('the tuning loop in the simulator', () => {
  let solver: LpSolver;
  beforeAll(async () => {
    solver = await highsSolver();
  });

  it('changes no live decision in shadow mode, while the shadow candidate decides differently (asserted item by item)', () => {
    // Prepare: round robin shadows Flowtune for three hours.
    const base = shortened(scenario('tuning-base'), 4);
    const candidate = {
      ...base.extras.policy,
      version: 'shadow-rr',
      routing: { strategy: 'round-robin', weights: {} },
    };

    // Act
    const check = runShadowCheck(base, { seed: 5, solver, candidate });

    // Assess
    expect(check.items).toBeGreaterThan(1000);
    expect(check.differences).toBe(0);
    expect(check.shadowDecisions).toBeGreaterThan(500);
    expect(check.agreement).toBeLessThan(0.9);
  });

  it('detects an arrival surge and calls people in, where the loop switched off does nothing', () => {
    // Prepare
    const surge = shortened(scenario('tuning-arrival-surge'), 5);
    const workload = buildTuningWorkload(surge, 11, solver);

    // Act
    const on = runTuningSimulation({ scenario: surge, workload, loopEnabled: true, keepOutcomes: false });
    const off = runTuningSimulation({ scenario: surge, workload, loopEnabled: false, keepOutcomes: false });

    // Assess
    const detected = timeToDetect(on.log, 'arrival-rate', workload.shiftAt, 5 * 3600);
    expect(detected).toBeDefined();
    expect(detected).toBeLessThan(30 * 60);
    expect(on.log.standby.length).toBeGreaterThan(0);
    expect(on.log.standby.filter((call) => call.decision === 'auto').length).toBeLessThanOrEqual(
      surge.extras.tuning.capacity.maxAutoActivationsPerHour * 2,
    );
    expect(off.log).toMatchObject({ cycles: 0, drift: [], standby: [] });
  });

  it('restarts the model of the category whose handling time doubled', () => {
    const slower = shortened(scenario('tuning-handling-doubles'), 5);
    const workload = buildTuningWorkload(slower, 3, solver);

    const { log } = runTuningSimulation({
      scenario: slower,
      workload,
      loopEnabled: true,
      keepOutcomes: false,
    });

    const reestimation = log.reestimations.find((entry) => entry.atSeconds >= workload.shiftAt);
    expect(reestimation?.category).toBe('orders');
    expect(reestimation?.sinceSeconds).toBeGreaterThanOrEqual(workload.shiftAt - 15 * 60);
  });
});

describe('measurement', () => {
  const outcome = (arrivedAt: number, met: boolean) => ({
    arrivedAt,
    slaDueAt: arrivedAt + 600,
    completedAt: arrivedAt + (met ? 300 : 900),
  });

  it('times the correction from the shift to the point the curve stays within the tolerance for good', () => {
    // Prepare: 95% before the shift at 3600 s, 80% for 20 minutes, then 95% again.
    const outcomes = Array.from({ length: 7200 }, (_, second) => {
      const bad = second >= 3600 && second < 4800;
      return outcome(second, bad ? second % 5 !== 0 : second % 20 !== 0);
    });
    const curve = slaCurve([outcomes], { from: 900, to: 7200, windowSeconds: 900, stepSeconds: 300 });

    // Act
    const correction = timeToCorrect(curve, 3600, 0.95, 0.02);

    // Assess: the trailing 15-minute window is clean again 15 minutes after the bad period ends.
    expect(correction.timeToCorrect).toBe(1200 + 900);
    expect(correction.lowest).toBeCloseTo(0.8, 5);
  });

  it('reports no correction when the curve never comes back, and zero when it never left', () => {
    const never = slaCurve([Array.from({ length: 7200 }, (_, second) => outcome(second, second < 3600))], {
      from: 900,
      to: 7200,
      windowSeconds: 900,
      stepSeconds: 300,
    });
    const steady = slaCurve([Array.from({ length: 7200 }, (_, second) => outcome(second, true))], {
      from: 900,
      to: 7200,
      windowSeconds: 900,
      stepSeconds: 300,
    });

    expect(timeToCorrect(never, 3600, 1, 0.02).timeToCorrect).toBeUndefined();
    expect(timeToCorrect(steady, 3600, 1, 0.02).timeToCorrect).toBe(0);
  });

  it('puts a Wilson interval around a rate', () => {
    const interval = wilsonInterval(2, 100);

    expect(interval.low).toBeCloseTo(0.0055, 3);
    expect(interval.high).toBeCloseTo(0.07, 3);
  });
});
