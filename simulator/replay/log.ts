import { z } from 'zod';

/** One unit of work reconstructed from a log: when it became ready, who did it, how long it took. */
export interface LogJob {
  readonly caseId: string;
  readonly category: string;
  /** Epoch ms when the work became ready to be picked up. */
  readonly arrivalAt: number;
  /** Epoch ms when a person started it; absent when it was abandoned. */
  readonly startAt?: number;
  readonly endAt?: number;
  readonly resource?: string;
  /** 1..5 */
  readonly priority: number;
  /** Epoch ms when the item left the queue unserved (caller hung up). */
  readonly abandonedAt?: number;
}

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/**
 * How to read work out of an XES log. `lifecycle`: one job per START/COMPLETE pair of an
 * activity (ready at its SCHEDULE, or at the previous COMPLETE of the same activity in the case).
 * `milestones`: one job per case, ready at the case's first event, started at the first
 * `startActivity`, finished at the last `endActivity`.
 */
export const XesMapping = z.object({
  format: z.literal('xes'),
  mode: z.enum(['lifecycle', 'milestones']),
  /** lifecycle: only activities starting with this prefix are work items (e.g. "W_"). */
  activityPrefix: z.string().default(''),
  /** milestones: activity that marks the start of handling. */
  startActivity: z.string().default('Take in charge ticket'),
  /** milestones: activity that marks the end of handling. */
  endActivity: z.string().default('Resolve ticket'),
  /** milestones: event attribute giving the category (default: none, one category). */
  categoryAttribute: z.string().optional(),
  /** Resources that are systems, not people; their work is left out. */
  ignoreResources: z.array(z.string()).default([]),
});
export type XesMapping = z.infer<typeof XesMapping>;

const Column = z.string().min(1);

/**
 * How to read work out of a CSV/TSV file: which column holds what. With `dateColumn`, the time
 * columns hold times of day (h:mm:ss) on that date; otherwise ISO-8601 timestamps.
 */
export const CsvMapping = z.object({
  format: z.literal('csv'),
  /** Field separator; default: tab if the header line has one, else comma. */
  delimiter: z.string().length(1).optional(),
  columns: z.object({
    caseId: Column,
    category: Column,
    arrival: Column,
    /** Used when `arrival` is empty or 0:00:00 (e.g. a call that never queued). */
    arrivalFallback: Column.optional(),
    start: Column,
    end: Column,
    resource: Column.optional(),
    priority: Column.optional(),
    /** When the item left the queue (for abandoned items). */
    queueExit: Column.optional(),
    outcome: Column.optional(),
  }),
  dateColumn: Column.optional(),
  dateFormat: z.enum(['YYMMDD', 'YYYY-MM-DD']).default('YYYY-MM-DD'),
  /** Values of the outcome column that mean "abandoned while waiting". */
  abandonOutcomes: z.array(z.string()).default([]),
  ignoreResources: z.array(z.string()).default([]),
  /** Raw priority value → 1..5. Unmapped numeric values are clamped to 1..5; others become 3. */
  priorityMap: z.record(z.string(), z.number().int().min(1).max(5)).default({}),
});
export type CsvMapping = z.infer<typeof CsvMapping>;

export const LogMapping = z.discriminatedUnion('format', [XesMapping, CsvMapping]);
export type LogMapping = z.infer<typeof LogMapping>;

/** Mappings for the logs in ../shared/data/traces, recognised by file name. */
export const KNOWN_LOGS: ReadonlyArray<{
  readonly pattern: RegExp;
  readonly mapping: LogMapping;
  readonly source: string;
}> = [
  {
    pattern: /bpic.?2012/i,
    source: 'BPI Challenge 2012, 4TU.ResearchData, doi 10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f',
    mapping: XesMapping.parse({
      format: 'xes',
      mode: 'lifecycle',
      activityPrefix: 'W_',
      ignoreResources: ['112'],
    }),
  },
  {
    pattern: /helpdesk/i,
    source: 'Helpdesk event log, Polato et al., Mendeley Data (CC BY 4.0)',
    mapping: XesMapping.parse({ format: 'xes', mode: 'milestones', categoryAttribute: 'seriousness_2' }),
  },
  {
    pattern: /anonymous_bank/i,
    source: 'Anonymous Bank call centre, Technion SEE lab (Mandelbaum, Guedj), research use',
    mapping: CsvMapping.parse({
      format: 'csv',
      delimiter: '\t',
      columns: {
        caseId: 'call_id',
        category: 'type',
        arrival: 'q_start',
        arrivalFallback: 'vru_exit',
        start: 'ser_start',
        end: 'ser_exit',
        resource: 'server',
        priority: 'priority',
        queueExit: 'q_exit',
        outcome: 'outcome',
      },
      dateColumn: 'date',
      dateFormat: 'YYMMDD',
      abandonOutcomes: ['HANG', 'PHANTOM'],
      ignoreResources: ['NO_SERVER'],
      priorityMap: { '0': 2, '1': 3, '2': 4 },
    }),
  },
];
