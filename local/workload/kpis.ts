import { mean, quantile } from '../../domain/metrics';
import type { FinalState, ItemOutcome } from './ledger';
import type { SlaGroup } from './plan';

/**
 * The demo's KPIs, computed from the ledger (the runtime's own records). Pure. Times are
 * simulated seconds; rates are per simulated hour.
 */

export interface TimeSummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
}

export interface SlaGroupKpis {
  readonly group: SlaGroup;
  readonly items: number;
  readonly completed: number;
  /** Met / (completed + escalated), NaN when there is none. */
  readonly slaAttainment: number;
  readonly cycle: TimeSummary;
}

export interface DemoKpis {
  readonly items: number;
  readonly byState: Readonly<Record<FinalState, number>>;
  /** Completed items per simulated hour, from the first creation to the last completion. */
  readonly throughputPerHour: number;
  /** Simulated seconds from the first creation to the last completion. */
  readonly spanSeconds: number;
  /** Created → first routed. */
  readonly wait: TimeSummary;
  /** Created → completed. */
  readonly cycle: TimeSummary;
  readonly handle: TimeSummary;
  /**
   * Completed within the SLA, over the valid items that were not cancelled or closed (an item
   * escalated to people has missed it). NaN when there is none.
   */
  readonly slaAttainment: number;
  readonly rejected: number;
  readonly duplicatesIgnored: { readonly created: number; readonly completions: number };
  readonly earlyCompletions: number;
  readonly reroutes: number;
  readonly escalations: number;
  readonly humanReviews: number;
  readonly byPath: Readonly<Record<string, number>>;
  readonly bySlaGroup: readonly SlaGroupKpis[];
  readonly routingViolations: number;
  readonly lost: readonly ItemOutcome[];
}

const SLA_GROUPS: readonly SlaGroup[] = ['rush', 'P1', 'P2', 'P3', 'P4'];

/** Count, mean, median and p90 of the finite values (NaN statistics when there are none). */
export function summariseTimes(values: readonly (number | undefined)[]): TimeSummary {
  const finite = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
  return {
    count: finite.length,
    mean: mean(finite),
    p50: quantile(finite, 0.5),
    p90: quantile(finite, 0.9),
  };
}

function attainment(outcomes: readonly ItemOutcome[]): number {
  const judged = outcomes.filter((outcome) => outcome.final === 'completed' || outcome.final === 'exception');
  if (judged.length === 0) return Number.NaN;
  return (
    judged.filter((outcome) => outcome.final === 'completed' && outcome.slaMet === true).length /
    judged.length
  );
}

/**
 * KPIs over the ledger.
 *
 * @example
 * const kpis = computeKpis(outcomes);
 * kpis.byState.lost; // 0 on a healthy run
 */
export function computeKpis(outcomes: readonly ItemOutcome[]): DemoKpis {
  const byState = {
    completed: 0,
    rejected: 0,
    cancelled: 0,
    closed: 0,
    exception: 0,
    lost: 0,
  } satisfies Record<FinalState, number>;
  for (const outcome of outcomes) byState[outcome.final] += 1;
  const completed = outcomes.filter((outcome) => outcome.final === 'completed');

  const starts = outcomes.flatMap((outcome) => (outcome.createdAt === undefined ? [] : [outcome.createdAt]));
  const ends = completed.flatMap((outcome) =>
    outcome.completedAt === undefined ? [] : [outcome.completedAt],
  );
  const spanSeconds =
    starts.length === 0 || ends.length === 0 ? 0 : (Math.max(...ends) - Math.min(...starts)) / 1000;
  const throughputPerHour = spanSeconds > 0 ? completed.length / (spanSeconds / 3600) : Number.NaN;

  const byPath: Record<string, number> = {};
  for (const outcome of completed) {
    const path = outcome.path ?? 'unknown';
    byPath[path] = (byPath[path] ?? 0) + 1;
  }
  const sum = (pick: (outcome: ItemOutcome) => number) =>
    outcomes.reduce((total, outcome) => total + pick(outcome), 0);

  return {
    items: outcomes.length,
    byState,
    throughputPerHour,
    spanSeconds,
    wait: summariseTimes(completed.map((outcome) => outcome.waitSeconds)),
    cycle: summariseTimes(completed.map((outcome) => outcome.cycleSeconds)),
    handle: summariseTimes(completed.map((outcome) => outcome.handleSeconds)),
    slaAttainment: attainment(outcomes),
    rejected: byState.rejected,
    duplicatesIgnored: {
      created: sum((outcome) => outcome.duplicateCreatedIgnored),
      completions: sum((outcome) => outcome.duplicateCompletionsIgnored),
    },
    earlyCompletions: sum((outcome) => (outcome.earlyCompletion ? 1 : 0)),
    reroutes: sum((outcome) => outcome.reroutes),
    escalations: sum((outcome) => (outcome.escalated ? 1 : 0)),
    humanReviews: sum((outcome) => (outcome.humanReview ? 1 : 0)),
    byPath,
    bySlaGroup: SLA_GROUPS.map((group) => {
      const inGroup = outcomes.filter(
        (outcome) => outcome.slaGroup === group && outcome.plannedFate !== 'malformed',
      );
      const done = inGroup.filter((outcome) => outcome.final === 'completed');
      return {
        group,
        items: inGroup.length,
        completed: done.length,
        slaAttainment: attainment(inGroup),
        cycle: summariseTimes(done.map((outcome) => outcome.cycleSeconds)),
      };
    }).filter((group) => group.items > 0),
    routingViolations: sum((outcome) => outcome.routingViolations.length),
    lost: outcomes.filter((outcome) => outcome.final === 'lost'),
  };
}
