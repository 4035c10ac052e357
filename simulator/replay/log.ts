import { z } from 'zod';
import { TimestampSpec } from './timestamps';

/** One unit of work reconstructed from a log: when it became ready, who did it, how long it took. */
export interface LogJob {
  /** The case (ticket, call, application) it belongs to, verbatim from the log. */
  readonly caseId: string;
  readonly category: string;
  /** Epoch ms when the work became ready to be picked up. */
  readonly arrivalAt: number;
  /** Epoch ms when a person started it; absent when it was abandoned. */
  readonly startAt?: number;
  readonly endAt?: number;
  /** Who did it, verbatim: `SE-Anna` and `se-Anna` are two people. */
  readonly resource?: string;
  /** 1..5 */
  readonly priority: number;
  /** Epoch ms when the item left the queue unserved (caller hung up). */
  readonly abandonedAt?: number;
}

/** What reading a log gave: its jobs and, by reason, the records that yielded none. */
export interface LogRead {
  readonly jobs: LogJob[];
  /** Reason → number of cases or rows left out (never silently: the replay prints them). */
  readonly skipped: Readonly<Record<string, number>>;
}

/**
 * A log Flowtune cannot read or use: one line naming the file, the row or column and the fix.
 * The command line prints it without a stack trace and exits non-zero.
 */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

const Column = z.string().min(1);
/** One column, or several whose values together identify the row (a composite key). */
const KeyColumns = z.union([Column, z.array(Column).min(1)]);
const Activities = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((value) => (Array.isArray(value) ? value : [value]));

/** Old names of date formats, kept so existing mapping files still read. */
const DATE_FORMAT_ALIASES: Record<string, string> = { YYMMDD: 'yyMMdd', 'YYYY-MM-DD': 'yyyy-MM-dd' };
const DateFormat = z
  .string()
  .min(1)
  .transform((format) => DATE_FORMAT_ALIASES[format] ?? format);

const TIMESTAMP_DEFAULT = { format: 'iso', timeZone: 'UTC' };

/**
 * How the events of one case become work (shared by XES and one-row-per-event CSV).
 * `lifecycle`: one job per START/COMPLETE pair of an activity (ready at its SCHEDULE, or at the
 * previous COMPLETE of the same activity in the case). `milestones`: one job per case, ready at
 * the case's first event, started at the first `startActivity`, finished at the last
 * `endActivity` after it.
 */
const caseReading = {
  mode: z.enum(['lifecycle', 'milestones']),
  /** lifecycle: only activities starting with this prefix are work items (e.g. "W_"). */
  activityPrefix: z.string().default(''),
  /** milestones: the activity (or activities, e.g. state values) that mark the start of handling. */
  startActivity: Activities.optional(),
  /** milestones: the activity (or activities) that mark the end of handling. */
  endActivity: Activities.optional(),
  /** Resources that are systems, not people; their work is left out. */
  ignoreResources: z.array(z.string()).default([]),
  /** How times are written and in which zone (see timestamps.ts). */
  timestamps: TimestampSpec.default(TIMESTAMP_DEFAULT),
};

function milestonesNeedActivities(
  mapping: { mode: string; startActivity?: string[] | undefined; endActivity?: string[] | undefined },
  context: z.RefinementCtx,
): void {
  if (mapping.mode !== 'milestones') return;
  for (const key of ['startActivity', 'endActivity'] as const) {
    if (mapping[key] === undefined)
      context.addIssue({
        code: 'custom',
        path: [key],
        message: 'is required in milestones mode: name the activity (or state) that marks it',
      });
  }
}

export const XesMapping = z
  .object({
    format: z.literal('xes'),
    ...caseReading,
    /** Event attribute giving the category (default: none, one category); read on the case's first event, then the start event, then the trace. */
    categoryAttribute: z.string().optional(),
    /** Trace attribute holding the case id. @default 'concept:name' */
    caseAttribute: z.string().default('concept:name'),
    activityAttribute: z.string().default('concept:name'),
    resourceAttribute: z.string().default('org:resource'),
    timestampAttribute: z.string().default('time:timestamp'),
    transitionAttribute: z.string().default('lifecycle:transition'),
  })
  .strict()
  .superRefine(milestonesNeedActivities);
export type XesMapping = z.infer<typeof XesMapping>;

const csvCommon = {
  format: z.literal('csv'),
  /** Field separator; default: tab if the header line has one, else comma. */
  delimiter: z.string().length(1).optional(),
  /** With a date column, the time columns hold times of day (`timeFormat`) on that date. */
  dateColumn: Column.optional(),
  /** luxon pattern of the date column (`yyMMdd`, `d/M/yyyy`...). @default 'yyyy-MM-dd' */
  dateFormat: DateFormat.default('yyyy-MM-dd'),
  /** luxon pattern of the time-of-day columns when there is a date column. @default 'H:mm:ss' */
  timeFormat: z.string().min(1).default('H:mm:ss'),
  /** Field values that mean "not recorded" (besides an empty field), e.g. "0:00:00", "NULL". */
  missingValues: z.array(z.string()).default([]),
  /** A row whose time cannot be read: stop with an error naming it (default) or skip and count it. */
  onBadRow: z.enum(['error', 'skip']).default('error'),
  /** Raw priority value → 1..5. Unmapped numeric values are clamped to 1..5; others become 3. */
  priorityMap: z.record(z.string(), z.number().int().min(1).max(5)).default({}),
};

/**
 * A CSV/TSV with one row per work item (a call, a ticket): which column holds what. Times are
 * timestamps in `timestamps.format`, or times of day on `dateColumn`.
 */
export const CsvItemsMapping = z
  .object({
    ...csvCommon,
    layout: z.literal('items'),
    columns: z
      .object({
        /** The item's id; several columns form a composite key. Must be unique per row. */
        caseId: KeyColumns,
        category: Column,
        arrival: Column,
        /** Used when `arrival` is empty or missing (e.g. a call that never queued). */
        arrivalFallback: Column.optional(),
        start: Column,
        end: Column,
        resource: Column.optional(),
        priority: Column.optional(),
        /** When the item left the queue (for abandoned items). */
        queueExit: Column.optional(),
        outcome: Column.optional(),
      })
      .strict(),
    timestamps: TimestampSpec.default(TIMESTAMP_DEFAULT),
    /** Values of the outcome column that mean "abandoned while waiting". */
    abandonOutcomes: z.array(z.string()).default([]),
    ignoreResources: z.array(z.string()).default([]),
  })
  .strict();
export type CsvItemsMapping = z.infer<typeof CsvItemsMapping>;

/**
 * A CSV/TSV with one row per event or state change (ServiceNow, Jira and Zendesk audit exports),
 * read case by case through the same lifecycle / milestones modes as XES.
 */
export const CsvEventsMapping = z
  .object({
    ...csvCommon,
    layout: z.literal('events'),
    ...caseReading,
    columns: z
      .object({
        caseId: KeyColumns,
        /** The activity or the state the case moved to. */
        activity: Column,
        timestamp: Column,
        resource: Column.optional(),
        /** Assignment group; the category when no category column is given. */
        group: Column.optional(),
        category: Column.optional(),
        /** lifecycle mode: SCHEDULE / START / COMPLETE. */
        lifecycle: Column.optional(),
        priority: Column.optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine(milestonesNeedActivities);
export type CsvEventsMapping = z.infer<typeof CsvEventsMapping>;

export type CsvMapping = CsvItemsMapping | CsvEventsMapping;

const CsvMappingSchema = z.discriminatedUnion('layout', [CsvItemsMapping, CsvEventsMapping]);

/** A log mapping; a CSV mapping without `layout` is one row per item (as before). */
export const LogMapping = z.preprocess(
  (raw) =>
    typeof raw === 'object' && raw !== null && (raw as { format?: unknown }).format === 'csv'
      ? { layout: 'items', ...raw }
      : raw,
  z.discriminatedUnion('format', [XesMapping, CsvMappingSchema]),
);
export type LogMapping = z.infer<typeof LogMapping>;

/** The mapping's zod issues as one line: "columns.caseId: is required; timestamps.timeZone: ...". */
export function describeMappingIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** Mappings for the logs in ../shared/data/traces, recognised by file name. */
export const KNOWN_LOGS: ReadonlyArray<{
  readonly pattern: RegExp;
  readonly mapping: LogMapping;
  readonly source: string;
}> = [
  {
    pattern: /bpic.?2012/i,
    source: 'BPI Challenge 2012, 4TU.ResearchData, doi 10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f',
    mapping: LogMapping.parse({
      format: 'xes',
      mode: 'lifecycle',
      activityPrefix: 'W_',
      ignoreResources: ['112'],
    }),
  },
  {
    pattern: /helpdesk/i,
    source: 'Helpdesk event log, Polato et al., Mendeley Data (CC BY 4.0)',
    mapping: LogMapping.parse({
      format: 'xes',
      mode: 'milestones',
      startActivity: 'Take in charge ticket',
      endActivity: 'Resolve ticket',
      categoryAttribute: 'seriousness_2',
    }),
  },
  {
    pattern: /anonymous_bank/i,
    source: 'Anonymous Bank call centre, Technion SEE lab (Mandelbaum, Guedj), research use',
    mapping: LogMapping.parse({
      format: 'csv',
      layout: 'items',
      delimiter: '\t',
      columns: {
        // call_id repeats across VRU lines; the pair is unique.
        caseId: ['vru+line', 'call_id'],
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
      dateFormat: 'yyMMdd',
      timestamps: { timeZone: 'Asia/Jerusalem' },
      // The export writes 0:00:00 for a time it did not record (a call that never queued).
      missingValues: ['0:00:00'],
      abandonOutcomes: ['HANG', 'PHANTOM'],
      ignoreResources: ['NO_SERVER'],
      priorityMap: { '0': 2, '1': 3, '2': 4 },
    }),
  },
];
