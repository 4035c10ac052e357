import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BANK_LOG_PATH, readBankLog } from '../../simulator/allocation/bank-log';
import { evaluateForecastOnCalls, formatForecastEvaluation } from '../../simulator/allocation/forecast-eval';

// Real data: the Anonymous Bank call-centre log (Technion SEE lab, Mandelbaum & Guedj), kept in
// ../shared/data/traces and never copied into the project.
describe('forecast evaluation on the Anonymous Bank call-centre log', () => {
  it('finds the log where the shared traces live', () => {
    // Prepare / Act
    const present = existsSync(BANK_LOG_PATH);

    // Assess
    expect(
      present,
      `the call-centre log is missing: expected ${BANK_LOG_PATH} from the project root (see ../shared/data/traces/README.md); the forecast evaluation cannot run without it`,
    ).toBe(true);
  });

  it('forecasts hold-out hourly arrivals one hour ahead within 15% WAPE, well ahead of the naive baseline', () => {
    // Prepare
    const calls = readBankLog(BANK_LOG_PATH);

    // Act
    const evaluation = evaluateForecastOnCalls(calls, { holdoutDays: 7 });
    console.info(formatForecastEvaluation(evaluation));

    // Assess
    expect(evaluation.calls).toBe(33_344);
    expect(evaluation.days).toBe(28);
    expect(evaluation.totalOneHourAhead.intervals).toBe(7 * 24);
    // The target is 15%; measured 14.8% (the Poisson floor alone is 9.4%).
    expect(evaluation.totalOneHourAhead.wape).toBeLessThan(0.15);
    expect(evaluation.totalOneHourAhead.wape).toBeLessThan(evaluation.totalSeasonalNaive.wape - 0.05);
    expect(Math.abs(evaluation.totalOneHourAhead.bias)).toBeLessThan(0.05);
    expect(evaluation.totalDayAhead.wape).toBeLessThan(0.22);
    expect(evaluation.poissonFloorWape).toBeLessThan(evaluation.totalOneHourAhead.wape);
  });
});
