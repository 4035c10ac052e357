import type { RunMetrics } from '../../domain/metrics';
import { type EngineResult, runEngine } from '../engine';
import { asLoggedPolicy } from './as-logged';
import type { LogJob } from './log';
import {
  buildReplayModel,
  DEFAULT_STAFFING,
  type ReplayModel,
  type Roster,
  type StaffingInference,
} from './model';

/**
 * Fidelity first: before any policy is compared on a log, the log's own decisions are replayed
 * on the model (as-logged) and the model is accepted only if it reproduces what really happened.
 *
 * Staffing is what a log does not record, so it is calibrated, the same way for every log, along
 * one path from the most generous staffing the log supports to the tightest:
 *   1. capacity falls from the most items each person ever held at once to the median they held
 *      (multi-tasking), with presence across idle gaps of up to a day;
 *   2. then, at the median, the idle gaps still counted as presence shrink from a day to none
 *      (breaks and time off: at the end a person is present only while the log shows them working).
 * Waits grow along the path; bisection finds the point where the as-logged mean wait meets the
 * log's. If the log's wait lies outside the whole path, the log is not reproducible by staffing
 * and the replay says why, making no policy claim.
 */

export const WAIT_TOLERANCE = 0.25;
export const UTILISATION_TOLERANCE_POINTS = 10;
const MOST_GENEROUS_GAP = 86_400;
const MEDIAN = 0.5;
const MAX_STEPS = 9;
/** Close enough to stop searching (the tolerance is ±25 %). */
const GOOD_ENOUGH = 0.05;

export interface Fidelity {
  readonly loggedMeanWaitSeconds: number;
  readonly modelMeanWaitSeconds: number;
  readonly loggedUtilisation: number;
  readonly modelUtilisation: number;
  /** As-logged model mean wait ÷ logged mean wait. */
  readonly ratio: number;
  readonly reproducible: boolean;
  /** Why not, in a sentence, when not reproducible. */
  readonly reason?: string;
  /** The calibrated staffing inference the comparison runs on. */
  readonly staffing: StaffingInference;
  /** As-logged replays the calibration ran. */
  readonly calibrationRuns: number;
}

/** Position along the calibration path (0 = most generous, 1 = tightest) → staffing. */
export function staffingAt(position: number): StaffingInference {
  if (position <= 0.5) {
    return { breakGapSeconds: MOST_GENEROUS_GAP, capacityQuantile: 1 - (position / 0.5) * (1 - MEDIAN) };
  }
  // Geometric in the gap: a minute matters for calls as much as a day does for tickets.
  const share = (1 - position) / 0.5;
  return { breakGapSeconds: (MOST_GENEROUS_GAP + 1) ** share - 1, capacityQuantile: MEDIAN };
}

/** Replays the log's own decisions on the model. */
export function replayAsLogged(model: ReplayModel): EngineResult {
  return runEngine({
    agents: model.agents,
    jobs: model.jobs,
    policy: asLoggedPolicy(model),
    handlingSeconds: model.handlingSeconds,
    features: model.features,
    learnOnline: false,
    useHints: false,
    window: model.window,
    hardStopAt: model.hardStopAt,
    epochMs: model.epochMs,
    dispatchIntervalSeconds: 0,
  });
}

function fidelityOf(model: ReplayModel, asLogged: RunMetrics, runs: number, reason?: string): Fidelity {
  const logged = model.logged;
  const ratio =
    logged.meanWait > 0 ? asLogged.meanWait / logged.meanWait : asLogged.meanWait > 0 ? Infinity : 1;
  const waitOk = Math.abs(ratio - 1) <= WAIT_TOLERANCE;
  const utilisationOk =
    Math.abs(asLogged.utilisation - logged.utilisation) * 100 <= UTILISATION_TOLERANCE_POINTS;
  const why =
    reason ??
    (!waitOk
      ? `the as-logged replay waits ${ratio.toFixed(2)}× the log at the best calibrated staffing`
      : !utilisationOk
        ? `the as-logged utilisation ${(asLogged.utilisation * 100).toFixed(0)} % is not the log's ${(logged.utilisation * 100).toFixed(0)} %`
        : undefined);
  return {
    loggedMeanWaitSeconds: logged.meanWait,
    modelMeanWaitSeconds: asLogged.meanWait,
    loggedUtilisation: logged.utilisation,
    modelUtilisation: asLogged.utilisation,
    ratio,
    reproducible: waitOk && utilisationOk && reason === undefined,
    ...(why === undefined ? {} : { reason: why }),
    staffing: model.staffing,
    calibrationRuns: runs,
  };
}

export interface CalibratedReplay {
  readonly model: ReplayModel;
  readonly asLogged: EngineResult;
  readonly fidelity: Fidelity;
}

/**
 * Calibrates the staffing inference of a log so its as-logged replay reproduces the log's mean
 * wait, and reports how well it does. `onStep` reports progress (long logs take a while).
 */
export function calibrateReplay(
  logJobs: readonly LogJob[],
  options: {
    readonly seed: number;
    readonly skipped?: Readonly<Record<string, number>>;
    readonly source?: string;
    readonly staffing?: StaffingInference;
    readonly roster?: Roster;
    readonly onStep?: (step: number, staffing: StaffingInference, ratio: number) => void;
  },
): CalibratedReplay {
  let runs = 0;
  const evaluate = (staffing: StaffingInference) => {
    const model = buildReplayModel(logJobs, {
      seed: options.seed,
      staffing,
      ...(options.skipped === undefined ? {} : { skipped: options.skipped }),
      ...(options.source === undefined ? {} : { source: options.source }),
      ...(options.roster === undefined ? {} : { roster: options.roster }),
    });
    const asLogged = replayAsLogged(model);
    runs++;
    const logged = model.logged.meanWait;
    const ratio = logged > 0 ? asLogged.metrics.meanWait / logged : 1;
    options.onStep?.(runs, staffing, ratio);
    return { model, asLogged, ratio };
  };
  const done = (found: ReturnType<typeof evaluate>, reason?: string): CalibratedReplay => ({
    model: found.model,
    asLogged: found.asLogged,
    fidelity: fidelityOf(found.model, found.asLogged.metrics, runs, reason),
  });

  // A staffing given by the caller is measured, not searched.
  if (options.staffing !== undefined) return done(evaluate(options.staffing));
  // A recorded roster (Flowtune's own history) is the staffing: nothing to infer or search.
  if (options.roster !== undefined) {
    const recorded = evaluate(DEFAULT_STAFFING);
    return done(
      recorded,
      Math.abs(recorded.ratio - 1) > WAIT_TOLERANCE
        ? `with the staffing as recorded (each agent's available stretches and declared capacity) the model waits ${recorded.ratio.toFixed(2)}× the history: the difference is not staffing but what the replay does not model (dispatch rounds and ticks, holds, a mean of a few seconds where one round is the whole difference)`
        : undefined,
    );
  }

  const generous = evaluate(staffingAt(0));
  if (generous.ratio >= 1 - GOOD_ENOUGH) {
    return done(
      generous,
      generous.ratio > 1 + WAIT_TOLERANCE
        ? `even at the most generous staffing the log supports (each person at the most items they ever held at once, present across gaps of up to a day) the model waits ${generous.ratio.toFixed(2)}× the log: its people delivered more than their logged work shows (unlogged helpers or work the mapping does not see)`
        : undefined,
    );
  }
  const tight = evaluate(staffingAt(1));
  if (tight.ratio <= 1 + GOOD_ENOUGH) {
    return done(
      tight,
      tight.ratio < 1 - WAIT_TOLERANCE
        ? `even with each person present only while the log shows them working, at the median number of items they held, the model waits ${tight.ratio.toFixed(2)}× the log: most of the logged wait happened while the person who took the item had room for it, i.e. waiting the log does not explain by staffing (customer-side pauses, approvals or batching it does not mark)`
        : undefined,
    );
  }
  // Bisection on the path, in log(ratio): below 0 = too generous, above = too tight.
  let low = 0;
  let high = 1;
  let best = Math.abs(Math.log(generous.ratio)) < Math.abs(Math.log(tight.ratio)) ? generous : tight;
  while (runs < MAX_STEPS) {
    const middle = (low + high) / 2;
    const found = evaluate(staffingAt(middle));
    if (Math.abs(Math.log(found.ratio)) < Math.abs(Math.log(best.ratio))) best = found;
    if (Math.abs(found.ratio - 1) <= GOOD_ENOUGH) break;
    if (found.ratio < 1) low = middle;
    else high = middle;
  }
  return done(best);
}
