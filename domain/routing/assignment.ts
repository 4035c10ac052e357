/**
 * Exact minimum-cost assignment for dispatch rounds. Rows are agent slots, columns are items.
 * Every policy decision that "solves the round as one problem" goes through here.
 *
 * The cost of item j on slot s has the structure Flowtune's cost function produces:
 *   grouped items:  groupCosts[s, g(j)] + itemConstant[j]   (items of one class differ by a constant)
 *   explicit items: explicitCosts[s, e(j)]                  (pair-specific terms, e.g. SLA risk)
 * with +Infinity for infeasible pairs. A plain dense matrix is the special case of all-explicit.
 */
export interface AssignmentProblem {
  readonly slots: number;
  readonly items: number;
  readonly groups: number;
  /** slots × groups, row-major. */
  readonly groupCosts: Float64Array;
  /** Group index of each item, or -1 for an explicit item. */
  readonly itemGroup: Int32Array;
  /** Per item; used for grouped items. */
  readonly itemConstant: Float64Array;
  /** Column of each explicit item in `explicitCosts` (unused for grouped items). */
  readonly explicitIndex: Int32Array;
  readonly explicitCount: number;
  /** slots × explicitCount, row-major. */
  readonly explicitCosts: Float64Array;
}

/** Builds an all-explicit problem from a dense items × slots matrix (tests, small rounds). */
export function denseProblem(
  items: number,
  slots: number,
  costs: (item: number, slot: number) => number,
): AssignmentProblem {
  const explicitCosts = new Float64Array(slots * items);
  for (let slot = 0; slot < slots; slot++) {
    for (let item = 0; item < items; item++) explicitCosts[slot * items + item] = costs(item, slot);
  }
  return {
    slots,
    items,
    groups: 0,
    groupCosts: new Float64Array(0),
    itemGroup: new Int32Array(items).fill(-1),
    itemConstant: new Float64Array(items),
    explicitIndex: Int32Array.from({ length: items }, (_, item) => item),
    explicitCount: items,
    explicitCosts,
  };
}

export function costOf(problem: AssignmentProblem, item: number, slot: number): number {
  const group = problem.itemGroup[item] ?? -1;
  if (group >= 0)
    return (
      (problem.groupCosts[slot * problem.groups + group] ?? Infinity) + (problem.itemConstant[item] ?? 0)
    );
  return problem.explicitCosts[slot * problem.explicitCount + (problem.explicitIndex[item] ?? 0)] ?? Infinity;
}

/**
 * Minimum-cost assignment that first maximises the number of feasible (finite) pairs, then
 * minimises their total cost. Exact.
 *
 * The method is the shortest-augmenting-path Hungarian algorithm (Jonker–Volgenant; Crouse 2016,
 * as in SciPy's linear_sum_assignment), run over whichever side is smaller. When slots are the
 * smaller side, the Dijkstra search exploits the grouped structure: from a visited slot, the
 * whole group is relaxed at once, and the group's next item comes from a heap keyed by
 * itemConstant − dual. A 200-slot × 500-item round then costs a few milliseconds instead of the
 * 15–25 ms of a dense solver, whose every search step scans all 500 items.
 *
 * @returns [item, slot] pairs sorted by item.
 */
export function solveAssignment(problem: AssignmentProblem): Array<[number, number]> {
  const { slots, items } = problem;
  if (slots === 0 || items === 0) return [];
  const bounds = finiteBounds(problem);
  if (bounds === undefined) return [];
  // A forbidden pair is priced above any all-feasible total, so the optimum uses as few as
  // possible (maximum feasible cardinality); they are dropped from the answer.
  const forbidden = bounds.high + (bounds.high - bounds.low + 1) * (Math.min(slots, items) + 1);
  const pairs: Array<[number, number]> = [];
  if (items <= slots) {
    const slotForItem = denseShortestAugmentingPath(items, slots, (item, slot) => {
      const value = costOf(problem, item, slot);
      return value === Infinity ? forbidden : value;
    });
    slotForItem.forEach((slot, item) => {
      if (slot >= 0 && costOf(problem, item, slot) !== Infinity) pairs.push([item, slot]);
    });
  } else {
    const itemForSlot = groupedShortestAugmentingPath(withEmptySlotOption(problem, forbidden));
    itemForSlot.forEach((item, slot) => {
      if (item >= 0 && item < items && costOf(problem, item, slot) !== Infinity) pairs.push([item, slot]);
    });
  }
  return pairs.sort((left, right) => left[0] - right[0]);
}

/**
 * Adds one "leave this slot empty" pseudo-item per slot, as an extra group priced `emptyCost`
 * for every slot. Forbidden pairs then stay infinite: a slot that cannot be filled takes a
 * pseudo-item, never a real item at a fake price (which could drop a real item from the round).
 */
function withEmptySlotOption(problem: AssignmentProblem, emptyCost: number): AssignmentProblem {
  const { slots, items, groups } = problem;
  const groupCosts = new Float64Array(slots * (groups + 1));
  for (let slot = 0; slot < slots; slot++) {
    for (let group = 0; group < groups; group++) {
      groupCosts[slot * (groups + 1) + group] = problem.groupCosts[slot * groups + group] ?? Infinity;
    }
    groupCosts[slot * (groups + 1) + groups] = emptyCost;
  }
  const itemGroup = new Int32Array(items + slots).fill(groups);
  itemGroup.set(problem.itemGroup);
  const itemConstant = new Float64Array(items + slots);
  itemConstant.set(problem.itemConstant);
  const explicitIndex = new Int32Array(items + slots).fill(-1);
  explicitIndex.set(problem.explicitIndex);
  return {
    ...problem,
    items: items + slots,
    groups: groups + 1,
    groupCosts,
    itemGroup,
    itemConstant,
    explicitIndex,
  };
}

function finiteBounds(problem: AssignmentProblem): { low: number; high: number } | undefined {
  let low = Infinity;
  let high = -Infinity;
  const groupLow = new Float64Array(problem.groups).fill(Infinity);
  const groupHigh = new Float64Array(problem.groups).fill(-Infinity);
  for (let index = 0; index < problem.groupCosts.length; index++) {
    const value = problem.groupCosts[index] ?? Infinity;
    if (value === Infinity) continue;
    const group = index % problem.groups;
    if (value < (groupLow[group] ?? Infinity)) groupLow[group] = value;
    if (value > (groupHigh[group] ?? -Infinity)) groupHigh[group] = value;
  }
  for (let item = 0; item < problem.items; item++) {
    const group = problem.itemGroup[item] ?? -1;
    if (group < 0) continue;
    const constant = problem.itemConstant[item] ?? 0;
    if ((groupLow[group] ?? Infinity) === Infinity) continue;
    low = Math.min(low, (groupLow[group] ?? 0) + constant);
    high = Math.max(high, (groupHigh[group] ?? 0) + constant);
  }
  for (const value of problem.explicitCosts) {
    if (value === Infinity) continue;
    if (value < low) low = value;
    if (value > high) high = value;
  }
  if (low === Infinity) return undefined;
  return { low, high };
}

/** Crouse's rectangular LSAP for n rows ≤ m columns with finite costs; returns each row's column. */
function denseShortestAugmentingPath(
  n: number,
  m: number,
  cost: (row: number, column: number) => number,
): Int32Array {
  const matrix = new Float64Array(n * m);
  for (let row = 0; row < n; row++)
    for (let column = 0; column < m; column++) matrix[row * m + column] = cost(row, column);
  const u = new Float64Array(n);
  const v = new Float64Array(m);
  const shortest = new Float64Array(m);
  const path = new Int32Array(m).fill(-1);
  const columnForRow = new Int32Array(n).fill(-1);
  const rowForColumn = new Int32Array(m).fill(-1);
  const remaining = new Int32Array(m);
  const visitedRows: number[] = [];
  const visitedColumns: number[] = [];
  for (let start = 0; start < n; start++) {
    let minimum = 0;
    let row = start;
    let remainingCount = m;
    for (let index = 0; index < m; index++) remaining[index] = m - index - 1;
    shortest.fill(Infinity);
    visitedRows.length = 0;
    visitedColumns.length = 0;
    let sink = -1;
    while (sink === -1) {
      visitedRows.push(row);
      let best = -1;
      let lowest = Infinity;
      const offset = row * m;
      const base = minimum - (u[row] as number);
      for (let index = 0; index < remainingCount; index++) {
        const column = remaining[index] as number;
        const reduced = base + (matrix[offset + column] as number) - (v[column] as number);
        let distance = shortest[column] as number;
        if (reduced < distance) {
          path[column] = row;
          shortest[column] = reduced;
          distance = reduced;
        }
        if (distance < lowest || (distance === lowest && rowForColumn[column] === -1)) {
          lowest = distance;
          best = index;
        }
      }
      minimum = lowest;
      const column = remaining[best] as number;
      visitedColumns.push(column);
      if (rowForColumn[column] === -1) sink = column;
      else row = rowForColumn[column] as number;
      remainingCount--;
      remaining[best] = remaining[remainingCount] as number;
    }
    u[start] = (u[start] as number) + minimum;
    for (const other of visitedRows) {
      if (other !== start)
        u[other] = (u[other] as number) + minimum - (shortest[columnForRow[other] as number] as number);
    }
    for (const column of visitedColumns)
      v[column] = (v[column] as number) - minimum + (shortest[column] as number);
    let column = sink;
    for (;;) {
      const owner = path[column] as number;
      rowForColumn[column] = owner;
      const previous = columnForRow[owner] as number;
      columnForRow[owner] = column;
      if (owner === start) break;
      column = previous;
    }
  }
  return columnForRow;
}

/** Min-heap of item indices keyed by a Float64Array; ties by item index for determinism. */
class KeyedHeap {
  private readonly heap: number[] = [];
  constructor(private readonly keys: Float64Array) {}
  get size(): number {
    return this.heap.length;
  }
  top(): number {
    return this.heap[0] ?? -1;
  }
  private less(left: number, right: number): boolean {
    const leftKey = this.keys[left] as number;
    const rightKey = this.keys[right] as number;
    return leftKey < rightKey || (leftKey === rightKey && left < right);
  }
  push(item: number): void {
    const heap = this.heap;
    heap.push(item);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(heap[index] as number, heap[parent] as number)) break;
      const swapped = heap[index] as number;
      heap[index] = heap[parent] as number;
      heap[parent] = swapped;
      index = parent;
    }
  }
  pop(): number {
    const heap = this.heap;
    const top = heap[0] ?? -1;
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && this.less(heap[left] as number, heap[smallest] as number)) smallest = left;
        if (right < heap.length && this.less(heap[right] as number, heap[smallest] as number))
          smallest = right;
        if (smallest === index) break;
        const swapped = heap[index] as number;
        heap[index] = heap[smallest] as number;
        heap[smallest] = swapped;
        index = smallest;
      }
    }
    return top;
  }
}

/**
 * Crouse's algorithm with rows = slots (n ≤ m = items). Grouped items of group g reached from
 * slot r cost groupCosts[r, g] + itemConstant[j], so the search keeps, per group, the best
 * offset over visited slots and a heap of the group's unvisited items keyed by constant − v.
 */
function groupedShortestAugmentingPath(problem: AssignmentProblem): Int32Array {
  const {
    slots: n,
    items: m,
    groups,
    groupCosts,
    itemGroup,
    itemConstant,
    explicitIndex,
    explicitCount,
    explicitCosts,
  } = problem;
  const u = new Float64Array(n);
  const v = new Float64Array(m);
  const keys = new Float64Array(m);
  const shortest = new Float64Array(m).fill(Infinity);
  const path = new Int32Array(m).fill(-1);
  const popped = new Uint8Array(m);
  const itemForSlot = new Int32Array(n).fill(-1);
  const slotForItem = new Int32Array(m).fill(-1);
  const heaps = Array.from({ length: groups }, () => new KeyedHeap(keys));
  const explicitItems: number[] = [];
  for (let item = 0; item < m; item++) {
    const group = itemGroup[item] as number;
    keys[item] = itemConstant[item] as number;
    if (group >= 0) heaps[group]?.push(item);
    else explicitItems.push(item);
  }
  const groupOffset = new Float64Array(groups);
  const groupVia = new Int32Array(groups);
  const visitedRows: number[] = [];
  const visitedColumns: number[] = [];

  for (let start = 0; start < n; start++) {
    let minimum = 0;
    let row = start;
    groupOffset.fill(Infinity);
    for (const item of explicitItems) shortest[item] = Infinity;
    visitedRows.length = 0;
    visitedColumns.length = 0;
    let sink = -1;
    while (sink === -1) {
      visitedRows.push(row);
      const base = minimum - (u[row] as number);
      const groupRow = row * groups;
      for (let group = 0; group < groups; group++) {
        const offset = base + (groupCosts[groupRow + group] as number);
        if (offset < (groupOffset[group] as number)) {
          groupOffset[group] = offset;
          groupVia[group] = row;
        }
      }
      const explicitRow = row * explicitCount;
      let best = -1;
      let lowest = Infinity;
      for (const item of explicitItems) {
        if (popped[item] === 1) continue;
        const reduced =
          base +
          (explicitCosts[explicitRow + (explicitIndex[item] as number)] as number) -
          (v[item] as number);
        if (reduced < (shortest[item] as number)) {
          shortest[item] = reduced;
          path[item] = row;
        }
        const distance = shortest[item] as number;
        if (distance < lowest) {
          lowest = distance;
          best = item;
        }
      }
      let bestGroup = -1;
      for (let group = 0; group < groups; group++) {
        const heap = heaps[group];
        if (heap === undefined || heap.size === 0) continue;
        const offset = groupOffset[group] as number;
        if (offset === Infinity) continue;
        const candidate = heap.top();
        const distance = offset + (keys[candidate] as number);
        if (distance < lowest) {
          lowest = distance;
          best = candidate;
          bestGroup = group;
        }
      }
      if (best < 0) break;
      if (bestGroup >= 0) {
        heaps[bestGroup]?.pop();
        shortest[best] = lowest;
        path[best] = groupVia[bestGroup] as number;
      }
      popped[best] = 1;
      minimum = lowest;
      visitedColumns.push(best);
      if (slotForItem[best] === -1) sink = best;
      else row = slotForItem[best] as number;
    }
    if (sink === -1) break;
    u[start] = (u[start] as number) + minimum;
    for (const other of visitedRows) {
      if (other !== start)
        u[other] = (u[other] as number) + minimum - (shortest[itemForSlot[other] as number] as number);
    }
    for (const item of visitedColumns) {
      v[item] = (v[item] as number) - minimum + (shortest[item] as number);
      popped[item] = 0;
      const group = itemGroup[item] as number;
      if (group >= 0) {
        keys[item] = (itemConstant[item] as number) - (v[item] as number);
        heaps[group]?.push(item);
      }
    }
    let item = sink;
    for (;;) {
      const owner = path[item] as number;
      slotForItem[item] = owner;
      const previous = itemForSlot[owner] as number;
      itemForSlot[owner] = item;
      if (owner === start) break;
      item = previous;
    }
  }
  return itemForSlot;
}
