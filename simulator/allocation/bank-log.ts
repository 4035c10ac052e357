import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * Reads call arrivals from the Anonymous Bank call-centre log (Technion SEE lab, Mandelbaum and
 * Guedj; research use): one row per call that asked for an agent, tab-separated, gzip. Every row
 * is an arrival, whatever became of it (served, abandoned, phantom): staffing must cover demand,
 * not only the calls that got through.
 */

export interface CallArrival {
  /** Epoch ms, the log's local clock read as UTC (the log has no time zone). */
  readonly arrivalMs: number;
  /** Call type: PS (regular), NW (new customer), NE (stock exchange), TT (technical), IN (internet), PE (private). */
  readonly type: string;
}

export class BankLogMissingError extends Error {
  override readonly name = 'BankLogMissingError';
}

/** Where the shared traces live relative to the project root. */
export const BANK_LOG_PATH = '../shared/data/traces/anonymous_bank_february.txt.gz';

function secondsOfDay(text: string | undefined): number | undefined {
  const match = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec((text ?? '').trim());
  if (match === null) return undefined;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}

/**
 * Parses the log text. Arrival = when the caller left the voice menu for an agent (`vru_exit`),
 * or entered it (`vru_entry`) when the exit was not recorded.
 */
export function parseBankLog(text: string): CallArrival[] {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').split('\t').map((name) => name.trim());
  const column = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0)
      throw new Error(`bank log: column "${name}" missing from the header (${header.join(', ')})`);
    return index;
  };
  const dateColumn = column('date');
  const entryColumn = column('vru_entry');
  const exitColumn = column('vru_exit');
  const typeColumn = column('type');
  const arrivals: CallArrival[] = [];
  for (let lineNumber = 1; lineNumber < lines.length; lineNumber++) {
    const line = lines[lineNumber] ?? '';
    if (line.trim() === '') continue;
    const fields = line.split('\t');
    const date = /^(\d{2})(\d{2})(\d{2})$/.exec((fields[dateColumn] ?? '').trim());
    if (date === null)
      throw new Error(`bank log line ${lineNumber + 1}: unreadable date "${fields[dateColumn]}"`);
    const seconds = secondsOfDay(fields[exitColumn]) || secondsOfDay(fields[entryColumn]);
    if (seconds === undefined) continue;
    const day = Date.UTC(
      1900 + Number(date[1]) + (Number(date[1]) < 70 ? 100 : 0),
      Number(date[2]) - 1,
      Number(date[3]),
    );
    arrivals.push({ arrivalMs: day + seconds * 1000, type: (fields[typeColumn] ?? '').trim() || 'unknown' });
  }
  return arrivals.sort((left, right) => left.arrivalMs - right.arrivalMs);
}

/** Reads the log, or says exactly what is missing and where it was expected. */
export function readBankLog(path: string = BANK_LOG_PATH): CallArrival[] {
  if (!existsSync(path)) {
    throw new BankLogMissingError(
      `the Anonymous Bank call-centre log is missing: expected ${path} (relative to ${process.cwd()}); see ../shared/data/traces/README.md`,
    );
  }
  return parseBankLog(gunzipSync(readFileSync(path)).toString('utf8'));
}
