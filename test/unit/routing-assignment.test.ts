import fc from 'fast-check';
import { munkres } from 'munkres';
import { describe, expect, it } from 'vitest';
import {
  type AssignmentProblem,
  costOf,
  denseProblem,
  solveAssignment,
} from '../../domain/routing/assignment';

/** Reference optimum by munkres on the dense matrix: max feasible cardinality, then min cost. */
function reference(problem: AssignmentProblem): { pairs: number; cost: number } {
  const finite: number[] = [];
  for (let item = 0; item < problem.items; item++) {
    for (let slot = 0; slot < problem.slots; slot++) {
      const value = costOf(problem, item, slot);
      if (value !== Number.POSITIVE_INFINITY) finite.push(value);
    }
  }
  if (finite.length === 0) return { pairs: 0, cost: 0 };
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  const forbidden = (high - low + 1) * (Math.min(problem.items, problem.slots) + 1);
  const matrix = Array.from({ length: problem.items }, (_, item) =>
    Array.from({ length: problem.slots }, (_, slot) => {
      const value = costOf(problem, item, slot);
      return value === Number.POSITIVE_INFINITY ? forbidden : value - low;
    }),
  );
  let pairs = 0;
  let cost = 0;
  for (const [item, slot] of munkres(matrix)) {
    const value = costOf(problem, item, slot);
    if (value === Number.POSITIVE_INFINITY) continue;
    pairs++;
    cost += value;
  }
  return { pairs, cost };
}

function evaluate(problem: AssignmentProblem, pairs: Array<[number, number]>): number {
  return pairs.reduce((sum, [item, slot]) => sum + costOf(problem, item, slot), 0);
}

const groupedProblem = fc
  .record({
    slots: fc.integer({ min: 1, max: 9 }),
    items: fc.integer({ min: 1, max: 14 }),
    groups: fc.integer({ min: 1, max: 3 }),
    seed: fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 400, maxLength: 400 }),
    forbiddenEvery: fc.integer({ min: 2, max: 7 }),
  })
  .map(({ slots, items, groups, seed, forbiddenEvery }): AssignmentProblem => {
    let cursor = 0;
    const next = () => seed[cursor++ % seed.length] ?? 0;
    const groupCosts = Float64Array.from({ length: slots * groups }, (_, index) =>
      index % forbiddenEvery === 0 ? Number.POSITIVE_INFINITY : next(),
    );
    const itemGroup = Int32Array.from({ length: items }, (_, item) => (item % 4 === 3 ? -1 : item % groups));
    const explicitItems = [...itemGroup].filter((group) => group < 0).length;
    let explicitCursor = 0;
    const explicitIndex = Int32Array.from(itemGroup, (group) => (group < 0 ? explicitCursor++ : -1));
    const explicitCosts = Float64Array.from({ length: slots * explicitItems }, (_, index) =>
      index % (forbiddenEvery + 1) === 0 ? Number.POSITIVE_INFINITY : next(),
    );
    return {
      slots,
      items,
      groups,
      groupCosts,
      itemGroup,
      itemConstant: Float64Array.from({ length: items }, () => Math.round(next() * 2) / 2),
      explicitIndex,
      explicitCount: explicitItems,
      explicitCosts,
    };
  });

describe('solveAssignment', () => {
  it('matches the munkres optimum (cardinality, then cost) on grouped and explicit problems of any shape', () => {
    fc.assert(
      fc.property(groupedProblem, (problem) => {
        // Act
        const pairs = solveAssignment(problem);
        // Assess
        const expected = reference(problem);
        expect(pairs.length).toBe(expected.pairs);
        expect(evaluate(problem, pairs)).toBeCloseTo(expected.cost, 6);
        expect(new Set(pairs.map(([, slot]) => slot)).size).toBe(pairs.length);
        expect(new Set(pairs.map(([item]) => item)).size).toBe(pairs.length);
        for (const [item, slot] of pairs)
          expect(costOf(problem, item, slot)).not.toBe(Number.POSITIVE_INFINITY);
      }),
      { numRuns: 400 },
    );
  });

  it('prefers serving more items over a cheaper but smaller assignment', () => {
    // Prepare: item 0 fits either slot; item 1 only slot 0. Cheapest single pair is (0, 0).
    const problem = denseProblem(2, 2, (item, slot) =>
      item === 1 && slot === 1 ? Number.POSITIVE_INFINITY : item === 0 && slot === 0 ? 0 : 10,
    );
    // Act
    const pairs = solveAssignment(problem);
    // Assess
    expect(pairs).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('returns nothing when every pair is infeasible', () => {
    expect(solveAssignment(denseProblem(3, 2, () => Number.POSITIVE_INFINITY))).toEqual([]);
  });
});
