import { munkres } from 'munkres';

/**
 * A dense cost matrix for one round: `costs[row * columns + column]`, rows = items, columns =
 * agent slots. Infeasible pairs hold `Number.POSITIVE_INFINITY`.
 */
export interface CostMatrix {
  readonly rows: number;
  readonly columns: number;
  readonly costs: Float64Array;
}

/**
 * Minimum-cost assignment that first maximises the number of feasible pairs, then minimises
 * their total cost (exact: munkres / Hungarian). Infinite entries are never returned.
 * Returns [row, column] pairs sorted by row.
 */
export function solveAssignment(matrix: CostMatrix): Array<[number, number]> {
  const { rows, columns, costs } = matrix;
  if (rows === 0 || columns === 0) return [];
  if (rows === 1 || columns === 1) return bestSinglePair(matrix);

  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const value of costs) {
    if (value === Number.POSITIVE_INFINITY) continue;
    if (value < low) low = value;
    if (value > high) high = value;
  }
  if (low === Number.POSITIVE_INFINITY) return [];
  // Shift finite costs to [0, span] and price a forbidden pair above any all-feasible total,
  // so the optimum uses as few forbidden pairs as possible (i.e. maximum feasible cardinality).
  const span = high - low;
  const forbidden = (span + 1) * (Math.min(rows, columns) + 1);
  const dense: number[][] = new Array(rows);
  for (let row = 0; row < rows; row++) {
    const line = new Array<number>(columns);
    const offset = row * columns;
    for (let column = 0; column < columns; column++) {
      const value = costs[offset + column] ?? Number.POSITIVE_INFINITY;
      line[column] = value === Number.POSITIVE_INFINITY ? forbidden : value - low;
    }
    dense[row] = line;
  }
  const pairs: Array<[number, number]> = [];
  for (const [row, column] of munkres(dense)) {
    if ((costs[row * columns + column] ?? Number.POSITIVE_INFINITY) !== Number.POSITIVE_INFINITY) {
      pairs.push([row, column]);
    }
  }
  return pairs.sort((left, right) => left[0] - right[0]);
}

function bestSinglePair(matrix: CostMatrix): Array<[number, number]> {
  const { rows, columns, costs } = matrix;
  let best = -1;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let index = 0; index < rows * columns; index++) {
    const value = costs[index] ?? Number.POSITIVE_INFINITY;
    if (value < bestCost) {
      bestCost = value;
      best = index;
    }
  }
  if (best < 0) return [];
  return [[Math.floor(best / columns), best % columns]];
}
