import { type LogJob, ReplayError, type XesMapping } from './log';
import { readXesTraces, type XesEvent } from './xes';

const TIMESTAMP = 'time:timestamp';
const ACTIVITY = 'concept:name';
const RESOURCE = 'org:resource';
const TRANSITION = 'lifecycle:transition';

function timeOf(event: XesEvent): number | undefined {
  const text = event.attributes[TIMESTAMP];
  if (text === undefined) return undefined;
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** Reads jobs from an XES log under the mapping (see XesMapping for the two readings). */
export async function readXesJobs(path: string, mapping: XesMapping): Promise<LogJob[]> {
  const jobs: LogJob[] = [];
  const ignored = new Set(mapping.ignoreResources);
  let traces = 0;
  for await (const trace of readXesTraces(path)) {
    traces++;
    const caseId = trace.attributes[ACTIVITY] ?? `case-${traces}`;
    const events = trace.events
      .map((event) => ({ event, at: timeOf(event) }))
      .filter((entry): entry is { event: XesEvent; at: number } => entry.at !== undefined)
      .sort((left, right) => left.at - right.at);
    if (events.length === 0) continue;
    if (mapping.mode === 'lifecycle') {
      const scheduled = new Map<string, number>();
      const started = new Map<string, { at: number; resource: string | undefined }>();
      const lastCompleted = new Map<string, number>();
      for (const { event, at } of events) {
        const activity = event.attributes[ACTIVITY] ?? '';
        if (!activity.startsWith(mapping.activityPrefix)) continue;
        const transition = (event.attributes[TRANSITION] ?? '').toUpperCase();
        if (transition === 'SCHEDULE') scheduled.set(activity, at);
        else if (transition === 'START') started.set(activity, { at, resource: event.attributes[RESOURCE] });
        else if (transition === 'COMPLETE') {
          const start = started.get(activity);
          if (start === undefined) continue;
          started.delete(activity);
          const readyCandidates = [scheduled.get(activity), lastCompleted.get(activity)].filter(
            (value): value is number => value !== undefined,
          );
          const ready = Math.min(
            readyCandidates.length === 0 ? start.at : Math.max(...readyCandidates),
            start.at,
          );
          lastCompleted.set(activity, at);
          if (start.resource === undefined || ignored.has(start.resource)) continue;
          jobs.push({
            caseId,
            category: activity,
            arrivalAt: ready,
            startAt: start.at,
            endAt: at,
            resource: start.resource,
            priority: 3,
          });
        }
      }
    } else {
      const first = events[0];
      const startEntry = events.find((entry) => entry.event.attributes[ACTIVITY] === mapping.startActivity);
      if (first === undefined || startEntry === undefined) continue;
      const endEntry = events.findLast(
        (entry) => entry.event.attributes[ACTIVITY] === mapping.endActivity && entry.at >= startEntry.at,
      );
      const resource = startEntry.event.attributes[RESOURCE];
      if (endEntry === undefined || resource === undefined || ignored.has(resource)) continue;
      const category =
        mapping.categoryAttribute === undefined
          ? 'default'
          : (first.event.attributes[mapping.categoryAttribute] ??
            startEntry.event.attributes[mapping.categoryAttribute] ??
            'default');
      jobs.push({
        caseId,
        category,
        arrivalAt: first.at,
        startAt: startEntry.at,
        endAt: endEntry.at,
        resource,
        priority: 3,
      });
    }
  }
  if (traces === 0) throw new ReplayError(`${path}: no <trace> elements found; is this an XES log?`);
  return jobs.sort((left, right) => left.arrivalAt - right.arrivalAt);
}
