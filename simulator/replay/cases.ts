import type { LogJob } from './log';

/**
 * One event of a case, whatever file it came from (an XES event, a row of an audit export):
 * the part the lifecycle and milestones readings need.
 */
export interface CaseEvent {
  readonly activity: string;
  /** Epoch ms. */
  readonly at: number;
  /** Verbatim; undefined when the event names nobody. */
  readonly resource: string | undefined;
  readonly transition: string | undefined;
  readonly category: string | undefined;
  readonly priority: number | undefined;
}

export interface CaseReading {
  readonly mode: 'lifecycle' | 'milestones';
  readonly activityPrefix: string;
  readonly startActivity?: readonly string[] | undefined;
  readonly endActivity?: readonly string[] | undefined;
  readonly ignoreResources: readonly string[];
}

/** Why a case gave no job, counted and printed by the replay rather than dropped silently. */
export type CaseSkip =
  | 'case without timed events'
  | 'case never reached the start activity'
  | 'case never reached the end activity after its start'
  | 'case started by nobody or by a system resource'
  | 'work item completed without a start'
  | 'work item done by a system resource or nobody';

/**
 * The jobs of one case under a reading (see `caseReading` in log.ts). Events must be sorted by
 * time; ties keep the log's order.
 */
export function jobsOfCase(
  caseId: string,
  events: readonly CaseEvent[],
  reading: CaseReading,
  skip: (reason: CaseSkip) => void,
): LogJob[] {
  if (events.length === 0) {
    skip('case without timed events');
    return [];
  }
  const ignored = new Set(reading.ignoreResources);
  const jobs: LogJob[] = [];
  if (reading.mode === 'lifecycle') {
    const scheduled = new Map<string, number>();
    const started = new Map<string, CaseEvent>();
    const lastCompleted = new Map<string, number>();
    for (const event of events) {
      const { activity } = event;
      if (!activity.startsWith(reading.activityPrefix)) continue;
      const transition = (event.transition ?? '').toUpperCase();
      if (transition === 'SCHEDULE') scheduled.set(activity, event.at);
      else if (transition === 'START') started.set(activity, event);
      else if (transition === 'COMPLETE') {
        const start = started.get(activity);
        if (start === undefined) {
          skip('work item completed without a start');
          continue;
        }
        started.delete(activity);
        const readyCandidates = [scheduled.get(activity), lastCompleted.get(activity)].filter(
          (value): value is number => value !== undefined,
        );
        const ready = Math.min(
          readyCandidates.length === 0 ? start.at : Math.max(...readyCandidates),
          start.at,
        );
        lastCompleted.set(activity, event.at);
        if (start.resource === undefined || ignored.has(start.resource)) {
          skip('work item done by a system resource or nobody');
          continue;
        }
        jobs.push({
          caseId,
          category: start.category ?? activity,
          arrivalAt: ready,
          startAt: start.at,
          endAt: event.at,
          resource: start.resource,
          priority: start.priority ?? 3,
        });
      }
    }
    return jobs;
  }
  const starts = new Set(reading.startActivity ?? []);
  const ends = new Set(reading.endActivity ?? []);
  const first = events[0];
  const startEvent = events.find((event) => starts.has(event.activity));
  if (first === undefined || startEvent === undefined) {
    skip('case never reached the start activity');
    return [];
  }
  const endEvent = events.findLast((event) => ends.has(event.activity) && event.at >= startEvent.at);
  if (endEvent === undefined) {
    skip('case never reached the end activity after its start');
    return [];
  }
  const resource = startEvent.resource;
  if (resource === undefined || ignored.has(resource)) {
    skip('case started by nobody or by a system resource');
    return [];
  }
  return [
    {
      caseId,
      category: first.category ?? startEvent.category ?? 'default',
      arrivalAt: first.at,
      startAt: startEvent.at,
      endAt: endEvent.at,
      resource,
      priority: first.priority ?? startEvent.priority ?? 3,
    },
  ];
}

/** A counter of skip reasons, for LogRead.skipped. */
export function skipCounter(): { skip: (reason: string) => void; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  return {
    counts,
    skip: (reason) => {
      counts[reason] = (counts[reason] ?? 0) + 1;
    },
  };
}
