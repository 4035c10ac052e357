/**
 * The bottleneck view: where live work sits, per stage and per queue, and how long the oldest
 * item has been there. Pure: the caller reads the byStage index and passes the clock.
 */

/** Live (non-terminal) stages, in process order. Terminal ones hold no work and are not shown. */
export const LIVE_STAGES = [
  'VALIDATING',
  'SCORED',
  'WAITING_ASSIGNMENT',
  'HUMAN_REVIEW',
  'ASSIGNED',
  'IN_PROGRESS',
  'EXCEPTION',
] as const;
export type LiveStage = (typeof LIVE_STAGES)[number];

/**
 * Stages where an item waits for something other than the work itself. The headline names the
 * largest of these: items being worked on (IN_PROGRESS) are not a bottleneck by themselves.
 */
export const WAITING_STAGES: readonly LiveStage[] = [
  'VALIDATING',
  'SCORED',
  'WAITING_ASSIGNMENT',
  'HUMAN_REVIEW',
  'ASSIGNED',
  'EXCEPTION',
];

/** How a headline says an item is in a stage. */
export const STAGE_PHRASES: Readonly<Record<LiveStage, string>> = {
  VALIDATING: 'wait for validation',
  SCORED: 'wait for a routing decision',
  WAITING_ASSIGNMENT: 'wait for an agent',
  HUMAN_REVIEW: 'wait at human review',
  ASSIGNED: 'wait for their agent to start',
  IN_PROGRESS: 'are being worked on',
  EXCEPTION: 'wait in the exception queue',
};

/** Queue label of items that were never scored (no category recorded yet). */
export const UNSCORED_QUEUE = '(unscored)';

/** One live item as the byStage index gives it. Times are epoch ms. */
export interface BacklogEntry {
  readonly itemId: string;
  readonly stage: LiveStage;
  /** The item's queue: its category. */
  readonly queue: string;
  readonly stageEnteredAt: number;
  /** 0 when unknown. */
  readonly slaDueAt: number;
}

export interface StageCell {
  readonly stage: LiveStage;
  readonly items: number;
  /** items / all live items of the row (0..1). */
  readonly share: number;
  /** Seconds the oldest item has been in the stage; 0 when empty. */
  readonly oldestAgeSeconds: number;
  /** Items past their SLA due time. */
  readonly overdue: number;
}

export interface QueueRow {
  readonly queue: string;
  readonly items: number;
  readonly stages: readonly StageCell[];
  /** The waiting stage holding the largest share, when any item waits. */
  readonly bottleneck?: { readonly stage: LiveStage; readonly share: number };
}

export interface BottleneckView {
  readonly generatedAt: string;
  readonly items: number;
  /** All queues together, one cell per live stage. */
  readonly stages: readonly StageCell[];
  /** Per queue, largest first. */
  readonly queues: readonly QueueRow[];
  /** Sentences like "80% of billing items wait at human review (oldest 3h 12m)". */
  readonly headlines: readonly string[];
  /** Stages whose reading stopped at the page limit: counts there are lower bounds. */
  readonly truncatedStages: readonly LiveStage[];
}

export interface BottleneckOptions {
  /** Queues with fewer live items get no headline (noise). @default 5 */
  readonly minItemsForHeadline?: number;
  /** At most this many headlines, most loaded queues first. @default 5 */
  readonly maxHeadlines?: number;
  readonly truncatedStages?: readonly LiveStage[];
}

/**
 * Folds the live items into the bottleneck view: counts, shares and oldest ages per stage,
 * overall and per queue, and one headline per loaded queue naming its biggest waiting stage.
 *
 * @example
 * const view = bottleneckView(entries, Date.now());
 * view.headlines[0]; // '80% of billing items wait at human review (oldest 2h 05m)'
 */
export function bottleneckView(
  entries: readonly BacklogEntry[],
  now: number,
  options: BottleneckOptions = {},
): BottleneckView {
  const minItems = options.minItemsForHeadline ?? 5;
  const maxHeadlines = options.maxHeadlines ?? 5;

  const byQueue = new Map<string, BacklogEntry[]>();
  for (const entry of entries) {
    const queue = entry.queue === '' ? UNSCORED_QUEUE : entry.queue;
    const list = byQueue.get(queue) ?? [];
    list.push(entry);
    byQueue.set(queue, list);
  }

  const queues: QueueRow[] = [...byQueue.entries()]
    .map(([queue, list]) => {
      const stages = stageCells(list, now);
      const bottleneck = biggestWaitingStage(stages);
      return { queue, items: list.length, stages, ...(bottleneck === undefined ? {} : { bottleneck }) };
    })
    .sort((a, b) => b.items - a.items || a.queue.localeCompare(b.queue));

  const overall = stageCells(entries, now);
  const headlines: string[] = [];
  const overallBottleneck = biggestWaitingStage(overall);
  if (overallBottleneck !== undefined && entries.length >= minItems) {
    headlines.push(headline('all', overallBottleneck, overall, entries.length));
  }
  for (const row of queues) {
    if (headlines.length >= maxHeadlines) break;
    if (row.bottleneck === undefined || row.items < minItems) continue;
    headlines.push(headline(row.queue, row.bottleneck, row.stages, row.items));
  }

  return {
    generatedAt: new Date(now).toISOString(),
    items: entries.length,
    stages: overall,
    queues,
    headlines,
    truncatedStages: options.truncatedStages ?? [],
  };
}

function stageCells(entries: readonly BacklogEntry[], now: number): StageCell[] {
  return LIVE_STAGES.map((stage) => {
    const inStage = entries.filter((entry) => entry.stage === stage);
    const oldest = inStage.reduce(
      (min, entry) => Math.min(min, entry.stageEnteredAt),
      Number.POSITIVE_INFINITY,
    );
    return {
      stage,
      items: inStage.length,
      share: entries.length === 0 ? 0 : inStage.length / entries.length,
      oldestAgeSeconds: inStage.length === 0 ? 0 : Math.max(0, Math.floor((now - oldest) / 1000)),
      overdue: inStage.filter((entry) => entry.slaDueAt > 0 && entry.slaDueAt < now).length,
    };
  });
}

function biggestWaitingStage(cells: readonly StageCell[]): { stage: LiveStage; share: number } | undefined {
  let best: StageCell | undefined;
  for (const cell of cells) {
    if (!WAITING_STAGES.includes(cell.stage) || cell.items === 0) continue;
    // Ties go to the stage whose oldest item has waited longer.
    if (
      best === undefined ||
      cell.items > best.items ||
      (cell.items === best.items && cell.oldestAgeSeconds > best.oldestAgeSeconds)
    ) {
      best = cell;
    }
  }
  return best === undefined ? undefined : { stage: best.stage, share: best.share };
}

function headline(
  queue: string,
  bottleneck: { readonly stage: LiveStage; readonly share: number },
  cells: readonly StageCell[],
  items: number,
): string {
  const cell = cells.find((candidate) => candidate.stage === bottleneck.stage);
  const who = queue === 'all' ? `of all ${items} live items` : `of ${items} ${queue} items`;
  const oldest = cell === undefined ? '' : ` (oldest ${formatAge(cell.oldestAgeSeconds)})`;
  return `${Math.round(bottleneck.share * 100)}% ${who} ${STAGE_PHRASES[bottleneck.stage]}${oldest}`;
}

/**
 * A short human duration: `45s`, `12m 05s`, `3h 12m`, `2d 04h`.
 *
 * @example
 * formatAge(11_520); // '3h 12m'
 */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => n.toString().padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}
