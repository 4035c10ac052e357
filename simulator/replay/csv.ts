import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { type CaseEvent, jobsOfCase, skipCounter } from './cases';
import {
  type CsvEventsMapping,
  type CsvItemsMapping,
  type CsvMapping,
  type LogJob,
  type LogRead,
  ReplayError,
} from './log';
import { dateAndTimeParser, describeFormat, timestampParser } from './timestamps';

/**
 * CSV/TSV logs (optionally gzipped) through csv-parse, streaming: quoted fields with delimiters,
 * quotes and newlines inside them, a byte-order mark, CRLF. Two layouts: one row per item
 * (`items`) and one row per event or state change (`events`, read case by case like XES).
 */

function open(path: string): Readable {
  const source = createReadStream(path);
  if (!path.endsWith('.gz')) return source;
  const gunzip = createGunzip();
  source.on('error', (error) => gunzip.destroy(error));
  return source.pipe(gunzip);
}

/** The first line of the file, to guess the delimiter when the mapping does not say. */
async function firstLine(path: string): Promise<string> {
  const stream = open(path);
  stream.setEncoding('utf8');
  let text = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      text += chunk;
      if (text.includes('\n') || text.length > 1 << 20) break;
    }
  } finally {
    stream.destroy();
  }
  return text.split('\n')[0] ?? '';
}

interface CsvRow {
  readonly fields: readonly string[];
  /** Line the row starts on (1 = header), and its number among data rows. */
  readonly line: number;
  readonly row: number;
}

/** The header and then each data row, with where it is in the file. */
async function* csvRows(path: string, delimiter: string | undefined): AsyncGenerator<CsvRow> {
  const separator = delimiter ?? ((await firstLine(path)).includes('\t') ? '\t' : ',');
  const parser = parse({
    delimiter: separator,
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
  });
  const stream = open(path);
  stream.on('error', (error) => parser.destroy(error));
  stream.pipe(parser);
  let endedAt = 0;
  let emptyLines = 0;
  let row = 0;
  try {
    for await (const entry of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; empty_lines: number };
    }>) {
      // Empty lines are skipped between records; count them to name the line a row starts on.
      const line = endedAt + 1 + (entry.info.empty_lines - emptyLines);
      endedAt = entry.info.lines;
      emptyLines = entry.info.empty_lines;
      yield { fields: entry.record, line, row: row++ };
    }
  } catch (error) {
    if (error instanceof ReplayError) throw error;
    const message = (error as Error).message;
    throw new ReplayError(
      `${path}: unreadable CSV after line ${endedAt} (${message}); check the quoting and the delimiter (mapping: delimiter)`,
    );
  } finally {
    stream.destroy();
  }
}

/** Reads a log's columns by name, with file/row/column in every error. */
class RowReader {
  private readonly index = new Map<string, number>();
  private fields: readonly string[] = [];
  private where = '';
  private readonly missing: Set<string>;

  constructor(
    private readonly path: string,
    header: readonly string[],
    wanted: readonly string[],
    missingValues: readonly string[],
  ) {
    header.forEach((name, position) => {
      const key = name.trim();
      if (!this.index.has(key)) this.index.set(key, position);
    });
    const absent = wanted.filter((name) => !this.index.has(name));
    if (absent.length > 0) {
      throw new ReplayError(
        `${path}: column(s) ${absent.map((name) => `"${name}"`).join(', ')} not in the header (${header.join(', ')}); fix the mapping`,
      );
    }
    this.missing = new Set(['', ...missingValues]);
  }

  load(row: CsvRow): void {
    this.fields = row.fields;
    this.where = `${this.path}: row ${row.row} (line ${row.line})`;
  }

  get location(): string {
    return this.where;
  }

  /** The field exactly as written (ids are never trimmed or case-folded). */
  raw(column: string | undefined): string | undefined {
    if (column === undefined) return undefined;
    const position = this.index.get(column);
    if (position === undefined) return undefined;
    if (position >= this.fields.length) {
      throw new ReplayError(
        `${this.where}: has ${this.fields.length} field(s), no column "${column}"; fix the row (a quote left open?) or set onBadRow: skip`,
      );
    }
    return this.fields[position];
  }

  /** The field, or undefined when it is blank or a declared "not recorded" value. */
  value(column: string | undefined): string | undefined {
    const text = this.raw(column);
    if (text === undefined) return undefined;
    const trimmed = text.trim();
    return this.missing.has(trimmed) ? undefined : trimmed;
  }

  /** A key of one or several columns, verbatim; several are joined with "/". */
  key(columns: string | readonly string[]): string | undefined {
    const parts = (typeof columns === 'string' ? [columns] : columns).map((column) => this.raw(column));
    if (parts.some((part) => part === undefined || part.trim() === '')) return undefined;
    return parts.join('/');
  }

  fail(column: string, text: string, expected: string): never {
    throw new ReplayError(
      `${this.where}, column "${column}": "${text}" is not ${expected}; fix the row, declare the format in the mapping (timestamps.format, dateFormat, timeFormat) or set onBadRow: skip`,
    );
  }
}

/** Signals a row to skip under `onBadRow: skip`. */
class BadRow extends Error {}

function priorityOf(raw: string | undefined, map: Readonly<Record<string, number>>): number | undefined {
  if (raw === undefined) return undefined;
  const mapped = map[raw];
  if (mapped !== undefined) return mapped;
  const numeric = Number(raw);
  return Number.isFinite(numeric) ? Math.min(5, Math.max(1, Math.round(numeric))) : 3;
}

/** A reader of time columns under the mapping: timestamps, or times of day on a date column. */
function timeReader(mapping: CsvMapping, reader: RowReader, skipBad: boolean) {
  const fail = (column: string, text: string, expected: string): never => {
    if (skipBad) throw new BadRow();
    return reader.fail(column, text, expected);
  };
  if (mapping.dateColumn !== undefined) {
    const dateColumn = mapping.dateColumn;
    const zone = mapping.timestamps.timeZone;
    const onDay = dateAndTimeParser(mapping.dateFormat, mapping.timeFormat, zone);
    const dateCheck = dateAndTimeParser(mapping.dateFormat, 'H', 'UTC');
    return (column: string | undefined): number | undefined => {
      const time = reader.value(column);
      if (column === undefined || time === undefined) return undefined;
      const date = reader.value(dateColumn) ?? '';
      if (dateCheck(date, '0') === undefined) fail(dateColumn, date, `a "${mapping.dateFormat}" date`);
      return onDay(date, time) ?? fail(column, time, `a "${mapping.timeFormat}" time of day`);
    };
  }
  const parseTime = timestampParser(mapping.timestamps);
  const expected = describeFormat(mapping.timestamps);
  return (column: string | undefined): number | undefined => {
    const text = reader.value(column);
    if (column === undefined || text === undefined) return undefined;
    return parseTime(text) ?? fail(column, text, expected);
  };
}

/** Reads a CSV/TSV log under its mapping: one row per item or one row per event. */
export async function readCsvJobs(path: string, mapping: CsvMapping): Promise<LogRead> {
  return mapping.layout === 'events' ? readEventRows(path, mapping) : readItemRows(path, mapping);
}

/** The header row gives both layouts their row reader (the mapped columns) and time reader. */
function readHeader(path: string, header: readonly string[], mapping: CsvMapping) {
  const wanted = [
    ...Object.values(mapping.columns).flatMap((value: string | readonly string[] | undefined) =>
      value === undefined ? [] : typeof value === 'string' ? [value] : value,
    ),
    ...(mapping.dateColumn === undefined ? [] : [mapping.dateColumn]),
  ];
  const reader = new RowReader(path, header, wanted, mapping.missingValues);
  return { reader, time: timeReader(mapping, reader, mapping.onBadRow === 'skip') };
}

function keyColumns(columns: string | readonly string[]): readonly string[] {
  return typeof columns === 'string' ? [columns] : columns;
}

/**
 * One row per item. Rows without a usable arrival are skipped and counted; rows a person served
 * become served jobs; rows whose outcome is an abandonment and that reached the queue become
 * abandoned jobs.
 */
async function readItemRows(path: string, mapping: CsvItemsMapping): Promise<LogRead> {
  const { columns } = mapping;
  const { skip, counts } = skipCounter();
  const ignored = new Set(mapping.ignoreResources);
  const abandonOutcomes = new Set(mapping.abandonOutcomes);
  const seen = new Map<string, number>();
  const jobs: LogJob[] = [];
  let reader: RowReader | undefined;
  let time: ((column: string | undefined) => number | undefined) | undefined;
  for await (const row of csvRows(path, mapping.delimiter)) {
    if (reader === undefined || time === undefined) {
      ({ reader, time } = readHeader(path, row.fields, mapping));
      continue;
    }
    reader.load(row);
    try {
      const caseId = reader.key(columns.caseId);
      if (caseId === undefined) {
        skip(`row without ${keyColumns(columns.caseId).join(' + ')}`);
        continue;
      }
      const previous = seen.get(caseId);
      if (previous !== undefined) {
        throw new ReplayError(
          `${reader.location}: id "${caseId}" (${keyColumns(columns.caseId).join(' + ')}) is also on line ${previous}; ids must be unique per row, fix the log or make columns.caseId a composite key`,
        );
      }
      seen.set(caseId, row.line);
      const arrival = time(columns.arrival) ?? time(columns.arrivalFallback);
      if (arrival === undefined) {
        skip('row without an arrival time');
        continue;
      }
      const priority = priorityOf(reader.value(columns.priority), mapping.priorityMap) ?? 3;
      const category = reader.raw(columns.category) || 'default';
      const outcome = reader.value(columns.outcome);
      if (outcome !== undefined && abandonOutcomes.has(outcome)) {
        // Only items that actually waited in the queue abandoned it (not hang-ups in the IVR).
        const queuedAt = time(columns.arrival);
        const leftAt = time(columns.queueExit);
        if (queuedAt === undefined || leftAt === undefined) {
          skip('abandoned before reaching the queue');
          continue;
        }
        jobs.push({
          caseId,
          category,
          arrivalAt: queuedAt,
          abandonedAt: Math.max(leftAt, queuedAt),
          priority,
        });
        continue;
      }
      const rawResource = reader.raw(columns.resource);
      const resource = rawResource === undefined || rawResource.trim() === '' ? undefined : rawResource;
      if (resource === undefined || ignored.has(resource)) {
        skip('row served by nobody or by a system resource');
        continue;
      }
      const start = time(columns.start);
      let end = time(columns.end);
      if (start === undefined || end === undefined) {
        skip('row without a start or end time');
        continue;
      }
      if (mapping.dateColumn !== undefined && end < start) end += 86_400_000; // ran past midnight
      if (end < start) {
        if (mapping.onBadRow === 'skip') throw new BadRow();
        throw new ReplayError(
          `${reader.location}: column "${columns.end}" is before column "${columns.start}"; fix the row or set onBadRow: skip`,
        );
      }
      jobs.push({
        caseId,
        category,
        arrivalAt: Math.min(arrival, start),
        startAt: start,
        endAt: end,
        resource,
        priority,
      });
    } catch (error) {
      if (!(error instanceof BadRow)) throw error;
      skip('unreadable row (onBadRow: skip)');
    }
  }
  if (reader === undefined) throw new ReplayError(`${path}: empty file; is this the log?`);
  return { jobs: jobs.sort((left, right) => left.arrivalAt - right.arrivalAt), skipped: counts };
}

/** One row per event / state change: rows are grouped by case, then read like XES traces. */
async function readEventRows(path: string, mapping: CsvEventsMapping): Promise<LogRead> {
  const { columns } = mapping;
  const { skip, counts } = skipCounter();
  const cases = new Map<string, CaseEvent[]>();
  let reader: RowReader | undefined;
  let time: ((column: string | undefined) => number | undefined) | undefined;
  for await (const row of csvRows(path, mapping.delimiter)) {
    if (reader === undefined || time === undefined) {
      ({ reader, time } = readHeader(path, row.fields, mapping));
      continue;
    }
    reader.load(row);
    try {
      const caseId = reader.key(columns.caseId);
      if (caseId === undefined) {
        skip(`row without ${keyColumns(columns.caseId).join(' + ')}`);
        continue;
      }
      const at = time(columns.timestamp);
      if (at === undefined) {
        skip('event row without a time');
        continue;
      }
      const rawResource = reader.raw(columns.resource);
      const category = reader.raw(columns.category) ?? reader.raw(columns.group);
      const event: CaseEvent = {
        activity: reader.raw(columns.activity) ?? '',
        at,
        resource: rawResource === undefined || rawResource.trim() === '' ? undefined : rawResource,
        transition: reader.value(columns.lifecycle),
        category: category === undefined || category.trim() === '' ? undefined : category,
        priority: priorityOf(reader.value(columns.priority), mapping.priorityMap),
      };
      const events = cases.get(caseId);
      if (events === undefined) cases.set(caseId, [event]);
      else events.push(event);
    } catch (error) {
      if (!(error instanceof BadRow)) throw error;
      skip('unreadable row (onBadRow: skip)');
    }
  }
  if (reader === undefined) throw new ReplayError(`${path}: empty file; is this the log?`);
  const jobs: LogJob[] = [];
  for (const [caseId, events] of cases) {
    // Stable: rows with the same time keep the export's order.
    events.sort((left, right) => left.at - right.at);
    jobs.push(...jobsOfCase(caseId, events, mapping, skip));
  }
  return { jobs: jobs.sort((left, right) => left.arrivalAt - right.arrivalAt), skipped: counts };
}
