import { type CaseEvent, jobsOfCase, skipCounter } from './cases';
import { type LogJob, type LogRead, ReplayError, type XesMapping } from './log';
import { describeFormat, timestampParser } from './timestamps';
import { readXesTraces } from './xes';

/** Blank means "nobody"; anything else is kept exactly as written. */
function verbatim(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Reads jobs from an XES log under the mapping (see XesMapping for the two readings). */
export async function readXesJobs(path: string, mapping: XesMapping): Promise<LogRead> {
  const jobs: LogJob[] = [];
  const { skip, counts } = skipCounter();
  const parseTime = timestampParser(mapping.timestamps);
  // Case id → line of its trace: a genuine duplicate is an error, never a silent merge.
  const seen = new Map<string, number>();
  let traces = 0;
  for await (const trace of readXesTraces(path)) {
    traces++;
    const caseId = trace.attributes[mapping.caseAttribute];
    if (caseId === undefined) {
      throw new ReplayError(
        `${path}:${trace.line}: trace without a "${mapping.caseAttribute}" attribute; fix the log or set caseAttribute in the mapping`,
      );
    }
    const previous = seen.get(caseId);
    if (previous !== undefined) {
      throw new ReplayError(
        `${path}:${trace.line}: case id "${caseId}" is used by two traces (also line ${previous}); case ids must be unique, fix the log or map another attribute (caseAttribute)`,
      );
    }
    seen.set(caseId, trace.line);
    const events: CaseEvent[] = [];
    for (const event of trace.events) {
      const text = event.attributes[mapping.timestampAttribute];
      if (text === undefined) continue;
      const at = parseTime(text);
      if (at === undefined) {
        throw new ReplayError(
          `${path}:${event.line}: attribute "${mapping.timestampAttribute}" = "${text}" is not ${describeFormat(mapping.timestamps)}; fix the log or declare timestamps.format in the mapping`,
        );
      }
      const category =
        mapping.categoryAttribute === undefined
          ? undefined
          : (event.attributes[mapping.categoryAttribute] ?? trace.attributes[mapping.categoryAttribute]);
      events.push({
        activity: event.attributes[mapping.activityAttribute] ?? '',
        at,
        resource: verbatim(event.attributes[mapping.resourceAttribute]),
        transition: event.attributes[mapping.transitionAttribute],
        category,
        priority: undefined,
      });
    }
    // Stable sort: simultaneous events keep the log's order.
    events.sort((left, right) => left.at - right.at);
    jobs.push(...jobsOfCase(caseId, events, mapping, skip));
  }
  if (traces === 0) throw new ReplayError(`${path}: no <trace> elements found; is this an XES log?`);
  return { jobs: jobs.sort((left, right) => left.arrivalAt - right.arrivalAt), skipped: counts };
}
