import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { HISTORY_FORMAT, type HistoryFact, type HistoryLine } from '../../simulator/replay/history';

/**
 * Flowtune's history out of its Audit table: the arrivals (RECEIVED), routings (ROUTED),
 * completions (COMPLETED) and agent status changes (AGENT_STATUS_CHANGED) of a time window, as
 * the JSON lines `flowtune replay --events` reads. The same code exports a deployed stack's table
 * and the local runtime's; records it cannot read are counted, never guessed at.
 */

const StoredRecord = z.looseObject({
  itemId: z.string(),
  recordKey: z.string(),
  kind: z.string(),
  at: z.string(),
  attempt: z.number().optional(),
  inputs: z.string().optional(),
  details: z.string().optional(),
});
type StoredRecord = z.infer<typeof StoredRecord>;

const ReceivedInputs = z.looseObject({
  category: z.string().min(1),
  priority: z.number().int().min(1).max(5),
  createdAt: z.string().optional(),
  requiredSkills: z.array(z.object({ skill: z.string(), minProficiency: z.number() })).default([]),
  slaClass: z.string().optional(),
});
const RoutedDetails = z.looseObject({ agentId: z.string().min(1) });
const CompletedDetails = z.looseObject({
  agentId: z.string().optional(),
  handledBy: z.string().optional(),
  outcome: z.string().default('resolved'),
  handleSeconds: z.number().min(0).optional(),
  waitSeconds: z.number().min(0).optional(),
});
/** What record-outcome keeps of the assignment the completion closed. */
const CompletedInputs = z.looseObject({
  assignment: z.looseObject({ agentId: z.string().optional(), routedAt: z.string().optional() }).optional(),
});
const AgentInputs = z.looseObject({
  agentId: z.string().min(1),
  status: z.string(),
  capacity: z.number().int().min(0),
  skills: z.array(z.object({ skill: z.string(), proficiency: z.number() })).default([]),
  changedAt: z.string().optional(),
});

export interface ExportWindow {
  /** Epoch ms, inclusive. @default the beginning */
  readonly from?: number;
  /** Epoch ms, exclusive. @default no end */
  readonly to?: number;
}

export interface HistoryExport {
  readonly lines: HistoryLine[];
  /** Facts by type. */
  readonly counts: Readonly<Record<HistoryFact['type'], number>>;
  /** Records of an exported kind that could not be read, by kind. */
  readonly unreadable: Readonly<Record<string, number>>;
  /** Creations recorded but not valid work items (Validate rejected them), left out. */
  readonly invalidCreations: number;
}

const parseJson = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const isoOrUndefined = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
};

/** The fact one audit record states, `undefined` for kinds the history does not carry, `'unreadable'` otherwise. */
export function factOf(record: StoredRecord): HistoryFact | 'unreadable' | 'not-work' | undefined {
  const at = isoOrUndefined(record.at);
  if (at === undefined) return record.kind === 'RECEIVED' ? 'unreadable' : undefined;
  switch (record.kind) {
    case 'RECEIVED': {
      const inputs = ReceivedInputs.safeParse(parseJson(record.inputs));
      // A creation Validate refused (its REJECTED record follows) is not an arrival of work.
      if (!inputs.success) return 'not-work';
      return {
        type: 'arrival',
        itemId: record.itemId,
        at: isoOrUndefined(inputs.data.createdAt) ?? at,
        category: inputs.data.category,
        priority: inputs.data.priority,
        requiredSkills: inputs.data.requiredSkills,
        ...(inputs.data.slaClass === undefined ? {} : { slaClass: inputs.data.slaClass }),
      };
    }
    case 'ROUTED': {
      const details = RoutedDetails.safeParse(parseJson(record.details));
      if (!details.success) return 'unreadable';
      return {
        type: 'routed',
        itemId: record.itemId,
        at,
        agentId: details.data.agentId,
        attempt: record.attempt ?? 1,
      };
    }
    case 'COMPLETED': {
      const details = CompletedDetails.safeParse(parseJson(record.details));
      const agentId = details.success ? (details.data.handledBy ?? details.data.agentId) : undefined;
      if (!details.success || agentId === undefined) return 'unreadable';
      const inputs = CompletedInputs.safeParse(parseJson(record.inputs));
      const routedAt = isoOrUndefined(inputs.success ? inputs.data.assignment?.routedAt : undefined);
      return {
        type: 'completed',
        itemId: record.itemId,
        at,
        agentId,
        outcome: details.data.outcome,
        ...(details.data.handleSeconds === undefined ? {} : { handleSeconds: details.data.handleSeconds }),
        ...(routedAt === undefined ? {} : { routedAt }),
        ...(details.data.waitSeconds === undefined ? {} : { queueWaitSeconds: details.data.waitSeconds }),
      };
    }
    case 'AGENT_STATUS_CHANGED': {
      const inputs = AgentInputs.safeParse(parseJson(record.inputs));
      if (!inputs.success) return 'unreadable';
      return {
        type: 'agent',
        agentId: inputs.data.agentId,
        at: isoOrUndefined(inputs.data.changedAt) ?? at,
        status: inputs.data.status,
        capacity: inputs.data.capacity,
        skills: inputs.data.skills,
      };
    }
    default:
      return undefined;
  }
}

/** Facts of one instant in the order they happened to an item: it arrives, is routed, is completed. */
const TYPE_ORDER: Readonly<Record<HistoryFact['type'], number>> = {
  agent: 0,
  arrival: 1,
  routed: 2,
  completed: 3,
};

/**
 * The window's history from audit records as stored (every attribute), header first, facts in
 * time order. The export of a table and the demo's export of its run both come through here.
 */
export function historyFromRecords(
  records: Iterable<unknown>,
  options: { readonly window?: ExportWindow; readonly source: string; readonly now: number },
): HistoryExport {
  const window = options.window ?? {};
  const facts: HistoryFact[] = [];
  const unreadable: Record<string, number> = {};
  let invalidCreations = 0;
  for (const item of records) {
    const record = StoredRecord.safeParse(item);
    if (!record.success) continue;
    const fact = factOf(record.data);
    if (fact === undefined) continue;
    if (fact === 'not-work') {
      invalidCreations += 1;
      continue;
    }
    if (fact === 'unreadable') {
      unreadable[record.data.kind] = (unreadable[record.data.kind] ?? 0) + 1;
      continue;
    }
    const at = Date.parse(fact.at);
    if ((window.from !== undefined && at < window.from) || (window.to !== undefined && at >= window.to))
      continue;
    facts.push(fact);
  }
  facts.sort(
    (a, b) =>
      Date.parse(a.at) - Date.parse(b.at) ||
      TYPE_ORDER[a.type] - TYPE_ORDER[b.type] ||
      keyOf(a).localeCompare(keyOf(b)),
  );
  const counts = { arrival: 0, routed: 0, completed: 0, agent: 0 };
  for (const fact of facts) counts[fact.type] += 1;
  const header: HistoryLine = {
    type: 'header',
    format: HISTORY_FORMAT,
    ...(window.from === undefined ? {} : { from: new Date(window.from).toISOString() }),
    ...(window.to === undefined ? {} : { to: new Date(window.to).toISOString() }),
    exportedAt: new Date(options.now).toISOString(),
    source: options.source,
  };
  return { lines: [header, ...facts], counts, unreadable, invalidCreations };
}

/**
 * Scans the Audit table and returns the window's history (see historyFromRecords).
 *
 * @example
 * const { lines } = await exportHistory({ client, auditTable: 'Flowtune-Audit', window: { from: Date.parse('2026-11-23') } });
 */
export async function exportHistory(options: {
  readonly client: DynamoDBDocumentClient;
  readonly auditTable: string;
  readonly window?: ExportWindow;
  /** Where the history came from, for the header (a stack, a table, "local runtime"). */
  readonly source?: string;
  readonly now?: number;
  readonly onPage?: (records: number) => void;
}): Promise<HistoryExport> {
  const records: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await options.client.send(
      new ScanCommand({ TableName: options.auditTable, ExclusiveStartKey: startKey }),
    );
    records.push(...(page.Items ?? []));
    options.onPage?.(records.length);
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return historyFromRecords(records, {
    ...(options.window === undefined ? {} : { window: options.window }),
    source: options.source ?? options.auditTable,
    now: options.now ?? Date.now(),
  });
}

const keyOf = (fact: HistoryFact) => ('itemId' in fact ? fact.itemId : fact.agentId);

/** The history as the file `replay --events` reads: one JSON object per line. */
export function historyText(lines: readonly HistoryLine[]): string {
  return `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;
}
