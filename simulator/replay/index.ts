import type { Policy } from '../../domain/policy';
import { plannedRouting, policyDocumentFor } from '../../domain/tuning/round-plan';
import { type EngineResult, runEngine } from '../engine';
import { AS_LOGGED } from './as-logged';
import { readCsvJobs } from './csv';
import { type CalibratedReplay, calibrateReplay, replayAsLogged } from './fidelity';
import { historyJobs, historyRoster, readHistoryFile } from './history';
import { KNOWN_LOGS, type LogMapping, type LogRead, ReplayError } from './log';
import type { ReplayModel, StaffingInference } from './model';
import { readXesJobs } from './xes-jobs';

export { AS_LOGGED } from './as-logged';
export {
  type CalibratedReplay,
  type Fidelity,
  UTILISATION_TOLERANCE_POINTS,
  WAIT_TOLERANCE,
} from './fidelity';
export {
  HISTORY_FORMAT,
  type HistoryLine,
  historyJobs,
  historyRoster,
  parseHistory,
  readHistoryFile,
} from './history';

export {
  describeMappingIssues,
  KNOWN_LOGS,
  type LogJob,
  LogMapping,
  type LogRead,
  ReplayError,
} from './log';
export type { ReplayModel, Roster, StaffingInference } from './model';

/** The mapping for a file: the one given, else a known log's, else a default by extension. */
export function mappingFor(path: string, given?: LogMapping): LogMapping {
  if (given !== undefined) return given;
  const known = KNOWN_LOGS.find((log) => log.pattern.test(path));
  if (known !== undefined) return known.mapping;
  throw new ReplayError(
    `${path}: unknown log; pass --map FILE with a column mapping (see simulator/README.md, "Replaying logs")`,
  );
}

/** Reads the jobs of an XES (.xes, .xes.gz) or CSV/TSV (.csv, .tsv, .txt, optionally .gz) log. */
export async function readLogJobs(path: string, mapping: LogMapping): Promise<LogRead> {
  const isXes = /\.xes(\.gz)?$/i.test(path);
  if (mapping.format === 'xes') {
    if (!isXes) throw new ReplayError(`${path}: the mapping says XES but the file is not .xes or .xes.gz`);
    return readXesJobs(path, mapping);
  }
  return readCsvJobs(path, mapping);
}

/**
 * Reads a log and builds its replay on a staffing calibrated so the as-logged replay reproduces
 * the log (see fidelity.ts); `staffing` skips the search and measures that inference instead.
 */
export async function loadReplay(
  path: string,
  options: {
    mapping?: LogMapping;
    seed?: number;
    staffing?: StaffingInference;
    onStep?: (step: number, staffing: StaffingInference, ratio: number) => void;
  } = {},
): Promise<CalibratedReplay> {
  const read = await readLogJobs(path, mappingFor(path, options.mapping));
  if (read.jobs.length === 0) {
    const reasons = Object.entries(read.skipped)
      .map(([reason, count]) => `${count} ${reason}`)
      .join(', ');
    throw new ReplayError(
      `${path}: no work could be read with this mapping${reasons === '' ? '' : ` (${reasons})`}; check the mapping's columns, activities and modes`,
    );
  }
  return calibrateReplay(read.jobs, {
    seed: options.seed ?? 1,
    skipped: read.skipped,
    source: path,
    ...(options.staffing === undefined ? {} : { staffing: options.staffing }),
    ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
  });
}

/**
 * Reads Flowtune's own history (`flowtune export-history` JSON lines) and builds its replay the
 * same way as a log's: the items completed in the window are the jobs, the people who completed
 * them the staffing, calibrated until the as-logged replay reproduces the history's waits.
 */
export async function loadHistoryReplay(
  path: string,
  options: {
    seed?: number;
    onStep?: (step: number, staffing: StaffingInference, ratio: number) => void;
  } = {},
): Promise<CalibratedReplay> {
  const lines = await readHistoryFile(path);
  const read = historyJobs(lines);
  if (read.jobs.length === 0) {
    const reasons = Object.entries(read.skipped)
      .map(([reason, count]) => `${count} ${reason}`)
      .join(', ');
    throw new ReplayError(
      `${path}: no completed work in this history${reasons === '' ? '' : ` (${reasons})`}; export a window in which items were completed`,
    );
  }
  return calibrateReplay(read.jobs, {
    seed: options.seed ?? 1,
    skipped: read.skipped,
    source: path,
    // The history records when each agent was available and with what capacity: no inference.
    roster: historyRoster(lines),
    ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
  });
}

/**
 * Replays the log's workload through one policy (a registered strategy's name, a whole policy
 * document exactly as stored, or `as-logged`) at the log's own staffing.
 */
export function replay(model: ReplayModel, policy: string | Policy): EngineResult {
  if (policy === AS_LOGGED) return replayAsLogged(model);
  return runEngine({
    agents: model.agents,
    jobs: model.jobs,
    policy: plannedRouting(typeof policy === 'string' ? policyDocumentFor(policy) : policy),
    handlingSeconds: model.handlingSeconds,
    features: model.features,
    learnOnline: true,
    useHints: false,
    window: model.window,
    hardStopAt: model.hardStopAt,
    epochMs: model.epochMs,
    dispatchIntervalSeconds: 0,
  });
}
