import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { LogJob, LogRead } from './log';
import { ReplayError } from './log';
import type { Roster, RosterEntry } from './model';

/**
 * Flowtune's own history as JSON lines (`flowtune export-history`, read by `flowtune replay
 * --events`): one line per fact, in time order, from the Audit table. A header line names the
 * format and the window; then arrivals, routings, completions and agent status changes. Ids are
 * as Flowtune stored them (pseudonymised where the personal-data rules say so).
 */
export const HISTORY_FORMAT = 'flowtune-history/1';

const Iso = z.iso.datetime({ offset: true });

export const HistoryLine = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('header'),
    format: z.literal(HISTORY_FORMAT),
    from: Iso.optional(),
    to: Iso.optional(),
    exportedAt: Iso,
    source: z.string(),
  }),
  z.object({
    type: z.literal('arrival'),
    itemId: z.string().min(1),
    at: Iso,
    category: z.string().min(1),
    priority: z.number().int().min(1).max(5),
    requiredSkills: z.array(z.object({ skill: z.string(), minProficiency: z.number() })).default([]),
    slaClass: z.string().optional(),
  }),
  z.object({
    type: z.literal('routed'),
    itemId: z.string().min(1),
    at: Iso,
    agentId: z.string().min(1),
    attempt: z.number().int().min(1),
  }),
  z.object({
    type: z.literal('completed'),
    itemId: z.string().min(1),
    at: Iso,
    agentId: z.string().min(1),
    outcome: z.string(),
    handleSeconds: z.number().min(0).optional(),
    /** When the attempt that was completed was routed to its agent. */
    routedAt: Iso.optional(),
    /** How long that attempt waited for an agent: enqueued → routed (s). */
    queueWaitSeconds: z.number().min(0).optional(),
  }),
  z.object({
    type: z.literal('agent'),
    agentId: z.string().min(1),
    at: Iso,
    status: z.string(),
    capacity: z.number().int().min(0),
    skills: z.array(z.object({ skill: z.string(), proficiency: z.number() })).default([]),
  }),
]);
export type HistoryLine = z.infer<typeof HistoryLine>;
export type HistoryFact = Exclude<HistoryLine, { type: 'header' }>;

/**
 * The history's work as replay jobs: each item completed in the window is one job, ready when its
 * completed attempt joined the queue (its creation, when the history does not say), started when
 * it was routed to the agent who completed it, ended at completion.
 * Items not completed in the window are left out by reason, never silently.
 *
 * @example
 * const { jobs, skipped } = historyJobs(lines); // then calibrateReplay(jobs, { seed: 1 })
 */
export function historyJobs(lines: readonly HistoryLine[]): LogRead {
  const arrivals = new Map<string, Extract<HistoryLine, { type: 'arrival' }>>();
  const routings = new Map<string, Extract<HistoryLine, { type: 'routed' }>[]>();
  const completions = new Map<string, Extract<HistoryLine, { type: 'completed' }>>();
  for (const line of lines) {
    if (line.type === 'arrival') {
      if (!arrivals.has(line.itemId)) arrivals.set(line.itemId, line);
    } else if (line.type === 'routed') {
      routings.set(line.itemId, [...(routings.get(line.itemId) ?? []), line]);
    } else if (line.type === 'completed') {
      completions.set(line.itemId, line);
    }
  }
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  const jobs: LogJob[] = [];
  for (const [itemId, arrival] of arrivals) {
    const completion = completions.get(itemId);
    if (completion === undefined) {
      skip('items not completed in the window');
      continue;
    }
    const endAt = Date.parse(completion.at);
    // The routing that reached the agent who did the work: the completion names it; else the last
    // routing to that agent; else the handling time back from the end.
    const routed = (routings.get(itemId) ?? [])
      .filter((routing) => routing.agentId === completion.agentId && Date.parse(routing.at) <= endAt)
      .at(-1);
    const startAt =
      completion.routedAt !== undefined
        ? Date.parse(completion.routedAt)
        : routed !== undefined
          ? Date.parse(routed.at)
          : completion.handleSeconds !== undefined
            ? endAt - completion.handleSeconds * 1000
            : undefined;
    if (startAt === undefined) {
      skip('completions with no routing to their agent and no handling time');
      continue;
    }
    // Ready to be picked up when the completed attempt joined the queue: a human review before it,
    // or an earlier attempt another agent let time out, is not waiting for this routing.
    const readyAt =
      completion.queueWaitSeconds !== undefined
        ? startAt - completion.queueWaitSeconds * 1000
        : Date.parse(arrival.at);
    jobs.push({
      caseId: itemId,
      category: arrival.category,
      arrivalAt: Math.min(readyAt, startAt),
      startAt,
      endAt,
      resource: completion.agentId,
      priority: arrival.priority,
    });
  }
  for (const itemId of completions.keys())
    if (!arrivals.has(itemId)) skip('completions whose arrival is before the window');
  jobs.sort((a, b) => a.arrivalAt - b.arrivalAt || a.caseId.localeCompare(b.caseId));
  return { jobs, skipped };
}

/**
 * The staffing the history records: each agent's stretches of being available (from one
 * AgentStatusChanged to the next that is not `available`; the last one runs to the history's last
 * fact) and the largest capacity they declared. Flowtune routes new work to available agents only.
 */
export function historyRoster(lines: readonly HistoryLine[]): Roster {
  const facts = lines.filter((line): line is HistoryFact => line.type !== 'header');
  const end = facts.reduce((latest, fact) => Math.max(latest, Date.parse(fact.at)), Number.NEGATIVE_INFINITY);
  const changes = new Map<string, Extract<HistoryLine, { type: 'agent' }>[]>();
  for (const fact of facts)
    if (fact.type === 'agent') changes.set(fact.agentId, [...(changes.get(fact.agentId) ?? []), fact]);
  const roster = new Map<string, RosterEntry>();
  for (const [agentId, timeline] of changes) {
    const ordered = [...timeline].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const shifts: [number, number][] = [];
    let since: number | undefined;
    for (const change of ordered) {
      const at = Date.parse(change.at);
      if (change.status === 'available' && since === undefined) since = at;
      else if (change.status !== 'available' && since !== undefined) {
        shifts.push([since, at]);
        since = undefined;
      }
    }
    if (since !== undefined && end > since) shifts.push([since, end]);
    const capacity = Math.max(1, ...ordered.map((change) => change.capacity));
    if (shifts.length > 0) roster.set(agentId, { capacity, shifts });
  }
  return roster;
}

/** Parses history JSON lines; a bad line is a ReplayError naming the file, the line and the field. */
export function parseHistory(text: string, source: string): HistoryLine[] {
  const lines: HistoryLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = parseLine(raw, index + 1, source);
    if (line !== undefined) lines.push(line);
  });
  return checkedHeader(lines, source);
}

/** Reads a history file line by line (exports of a busy week are large). */
export async function readHistoryFile(path: string): Promise<HistoryLine[]> {
  const lines: HistoryLine[] = [];
  const reader = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let number = 0;
  try {
    for await (const raw of reader) {
      number += 1;
      const line = parseLine(raw, number, path);
      if (line !== undefined) lines.push(line);
    }
  } catch (error) {
    if (error instanceof ReplayError) throw error;
    throw new ReplayError(`${path}: cannot read the history (${(error as Error).message}); check the path`);
  }
  return checkedHeader(lines, path);
}

function parseLine(raw: string, number: number, source: string): HistoryLine | undefined {
  if (raw.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ReplayError(
      `${source}: line ${number} is not JSON; a history file has one JSON object per line`,
    );
  }
  const parsed = HistoryLine.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field =
      issue === undefined || issue.path.length === 0 ? '(line)' : issue.path.map(String).join('.');
    throw new ReplayError(
      `${source}: line ${number}: ${field} ${issue?.message ?? 'is invalid'} (write it with flowtune export-history, format ${HISTORY_FORMAT})`,
    );
  }
  return parsed.data;
}

function checkedHeader(lines: HistoryLine[], source: string): HistoryLine[] {
  if (lines[0]?.type !== 'header') {
    throw new ReplayError(
      `${source}: the first line must be the ${HISTORY_FORMAT} header; write the file with flowtune export-history`,
    );
  }
  return lines;
}
