import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { type CsvMapping, type LogJob, ReplayError } from './log';

/** Splits one CSV line, honouring double-quoted fields ("" escapes a quote). */
export function splitCsvLine(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const character = line[index];
    if (quoted) {
      if (character === '"' && line[index + 1] === '"') {
        field += '"';
        index++;
      } else if (character === '"') quoted = false;
      else field += character;
    } else if (character === '"') quoted = true;
    else if (character === delimiter) {
      fields.push(field);
      field = '';
    } else field += character;
  }
  fields.push(field);
  return fields;
}

function parseDate(value: string, format: CsvMapping['dateFormat']): number | undefined {
  const text = value.trim();
  let match: RegExpExecArray | null;
  if (format === 'YYMMDD') {
    match = /^(\d{2})(\d{2})(\d{2})$/.exec(text);
    if (match === null) return undefined;
    const year = Number(match[1]);
    return Date.UTC(year < 70 ? 2000 + year : 1900 + year, Number(match[2]) - 1, Number(match[3]));
  }
  match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return undefined;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

/** h:mm:ss → seconds of the day; "0:00:00" and blanks mean "not recorded". */
function parseTimeOfDay(value: string | undefined): number | undefined {
  const match = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec((value ?? '').trim());
  if (match === null) return undefined;
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  return seconds === 0 ? undefined : seconds;
}

/**
 * Reads jobs from a CSV/TSV file (optionally gzipped) under a column mapping. Rows without a
 * usable arrival are skipped; rows a person served become served jobs; rows whose outcome is an
 * abandonment and that reached the queue become abandoned jobs.
 */
export async function readCsvJobs(path: string, mapping: CsvMapping): Promise<LogJob[]> {
  const source = createReadStream(path);
  const lines = createInterface({
    input: path.endsWith('.gz') ? source.pipe(createGunzip()) : source,
    crlfDelay: Infinity,
  });
  let header: string[] | undefined;
  let delimiter = mapping.delimiter ?? ',';
  const index: Record<string, number> = {};
  const jobs: LogJob[] = [];
  const ignored = new Set(mapping.ignoreResources);
  const abandonOutcomes = new Set(mapping.abandonOutcomes);
  const { columns } = mapping;
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    if (header === undefined) {
      if (mapping.delimiter === undefined) delimiter = line.includes('\t') ? '\t' : ',';
      header = splitCsvLine(line, delimiter).map((name) => name.trim());
      header.forEach((name, position) => {
        index[name] = position;
      });
      const wanted = [
        ...Object.values(columns),
        ...(mapping.dateColumn === undefined ? [] : [mapping.dateColumn]),
      ];
      const missing = wanted.filter((name) => index[name] === undefined);
      if (missing.length > 0) {
        throw new ReplayError(
          `${path}: column(s) ${missing.join(', ')} not in the header (${header.join(', ')}); fix the mapping`,
        );
      }
      continue;
    }
    const fields = splitCsvLine(line, delimiter);
    const get = (name: string | undefined) =>
      name === undefined ? undefined : fields[index[name] ?? -1]?.trim();
    let time: (name: string | undefined) => number | undefined;
    if (mapping.dateColumn !== undefined) {
      const day = parseDate(get(mapping.dateColumn) ?? '', mapping.dateFormat);
      if (day === undefined)
        throw new ReplayError(`${path}:${lineNumber}: unreadable date "${get(mapping.dateColumn)}"`);
      time = (name) => {
        const seconds = parseTimeOfDay(get(name));
        return seconds === undefined ? undefined : day + seconds * 1000;
      };
    } else {
      time = (name) => {
        const text = get(name);
        if (text === undefined || text === '') return undefined;
        const parsed = Date.parse(text);
        return Number.isNaN(parsed) ? undefined : parsed;
      };
    }
    const arrival = time(columns.arrival) ?? time(columns.arrivalFallback);
    if (arrival === undefined) continue;
    const rawPriority = get(columns.priority) ?? '';
    const mapped = mapping.priorityMap[rawPriority];
    const numeric = Number(rawPriority);
    const priority =
      mapped ??
      (rawPriority !== '' && Number.isFinite(numeric) ? Math.min(5, Math.max(1, Math.round(numeric))) : 3);
    const caseId = get(columns.caseId) ?? String(lineNumber);
    const category = get(columns.category) || 'default';
    const outcome = get(columns.outcome);
    const resource = get(columns.resource);
    if (outcome !== undefined && abandonOutcomes.has(outcome)) {
      // Only items that actually waited in the queue abandoned it (not hang-ups in the IVR).
      const queuedAt = time(columns.arrival);
      const leftAt = time(columns.queueExit);
      if (queuedAt === undefined || leftAt === undefined) continue;
      jobs.push({ caseId, category, arrivalAt: queuedAt, abandonedAt: Math.max(leftAt, queuedAt), priority });
      continue;
    }
    const start = time(columns.start);
    let end = time(columns.end);
    if (
      start === undefined ||
      end === undefined ||
      resource === undefined ||
      resource === '' ||
      ignored.has(resource)
    )
      continue;
    if (end < start) end += 86_400_000; // service ran past midnight
    jobs.push({
      caseId,
      category,
      arrivalAt: Math.min(arrival, start),
      startAt: start,
      endAt: end,
      resource,
      priority,
    });
  }
  if (header === undefined) throw new ReplayError(`${path}: empty file`);
  return jobs.sort((left, right) => left.arrivalAt - right.arrivalAt);
}
