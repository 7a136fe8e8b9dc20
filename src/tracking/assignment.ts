/**
 * Optimal assignment of rows (tracks) to columns (detections) with the option of leaving either unmatched: the
 * matching that minimises the sum of (cost - maxCost) over its pairs, so a pair is worth taking only when its cost
 * is below `maxCost`. That is what ByteTrack gets from `lap.lapjv(extend_cost=True, cost_limit=thresh)`.
 *
 * Greedy is not enough when boxes crowd: two faces crossing or side by side give one track a slightly better
 * IoU with the other's detection, and greedy then leaves the second track without its own. The solver is the
 * shortest-augmenting-path Hungarian method with potentials (Kuhn-Munkres in the Jonker-Volgenant form), O(n^2 m)
 * per problem. Pairs outside the gate (cost > maxCost, NaN or Infinity) split the problem into independent
 * groups (union-find over the pairs inside the gate), so a scene of many far-apart faces costs about linear time
 * and only a crowd pays the cubic term. Pure.
 */

import type { Rect } from '../core/geometry.ts';

export interface Assignment {
  /** [row, col] pairs, rows ascending. */
  readonly matches: ReadonlyArray<readonly [number, number]>;
  readonly unmatchedRows: readonly number[];
  readonly unmatchedCols: readonly number[];
}

/** A cost matrix as a function, so a caller need not build the pairs outside the gate. */
export type CostFn = (row: number, col: number) => number;

function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

/**
 * The minimum-cost matching of `rows` x `cols` where a pair counts only with a finite cost <= `maxCost`.
 * `cost` may be a matrix (rows of columns) or a function. `candidates`, when given, are the only pairs asked
 * (each at most once; see `nearbyPairs`): every other pair is outside the gate.
 */
export function assign(rows: number, cols: number, cost: CostFn | ReadonlyArray<ArrayLike<number>>, maxCost: number, candidates?: Iterable<readonly [number, number]>): Assignment {
  const at: CostFn = typeof cost === 'function' ? cost : (r, c) => cost[r][c];
  // Gate once; remember the admissible pairs and group them.
  const pairs: Array<{ r: number; c: number; cost: number }> = [];
  const parent = new Int32Array(rows + cols).map((_, i) => i);
  const consider = (r: number, c: number) => {
    const value = at(r, c);
    if (!(value <= maxCost)) return; // NaN, Infinity and costs over the gate
    pairs.push({ r, c, cost: value });
    const a = find(parent, r);
    const b = find(parent, rows + c);
    if (a !== b) parent[a] = b;
  };
  if (candidates) for (const [r, c] of candidates) consider(r, c);
  else for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) consider(r, c);
  const groups = new Map<number, { rows: number[]; cols: number[]; pairs: typeof pairs }>();
  const groupOf = (node: number) => {
    const root = find(parent, node);
    let group = groups.get(root);
    if (!group) groups.set(root, (group = { rows: [], cols: [], pairs: [] }));
    return group;
  };
  for (const pair of pairs) groupOf(pair.r).pairs.push(pair);
  const matchedRow = new Int32Array(rows).fill(-1);
  const matchedCol = new Int32Array(cols).fill(-1);
  for (let r = 0; r < rows; r++) if (groups.has(find(parent, r))) groupOf(r).rows.push(r);
  for (let c = 0; c < cols; c++) if (groups.has(find(parent, rows + c))) groupOf(rows + c).cols.push(c);
  for (const group of groups.values()) {
    for (const [r, c] of solveGroup(group.rows, group.cols, group.pairs, maxCost)) {
      matchedRow[r] = c;
      matchedCol[c] = r;
    }
  }
  const matches: Array<readonly [number, number]> = [];
  const unmatchedRows: number[] = [];
  const unmatchedCols: number[] = [];
  for (let r = 0; r < rows; r++) {
    if (matchedRow[r] >= 0) matches.push([r, matchedRow[r]]);
    else unmatchedRows.push(r);
  }
  for (let c = 0; c < cols; c++) if (matchedCol[c] < 0) unmatchedCols.push(c);
  return { matches, unmatchedRows, unmatchedCols };
}

/**
 * The pairs (i, j) whose boxes come within `reach(i)` px of each other on both axes (touching counts), found by
 * sorting `b` on x and sweeping, so a frame of many faces asks for the cost of the pairs that can be in a gate
 * (IoU > 0 needs overlap: reach 0; a centre-distance gate needs its distance) instead of every pair.
 */
export function nearbyPairs(a: readonly Rect[], b: readonly Rect[], reach: (i: number) => number = () => 0): Array<[number, number]> {
  const order = b.map((_, j) => j).sort((p, q) => b[p].x - b[q].x);
  const xs = order.map((j) => b[j].x);
  const widest = b.reduce((w, r) => Math.max(w, r.width), 0);
  const out: Array<[number, number]> = [];
  a.forEach((box, i) => {
    const r = reach(i);
    const left = box.x - r;
    const right = box.x + box.width + r;
    // First candidate whose left edge can still reach: x >= left - widest (binary search).
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] < left - widest) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < xs.length && xs[k] <= right; k++) {
      const other = b[order[k]];
      if (other.x + other.width < left) continue;
      if (other.y > box.y + box.height + r || other.y + other.height < box.y - r) continue;
      out.push([i, order[k]]);
    }
  });
  return out.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
}

/**
 * One connected group. The smaller side becomes the rows; each row gets a dummy column of cost 0 ("unmatched"),
 * real pairs cost (cost - maxCost) <= 0 and pairs outside the gate cost 1 (> 0, so a free dummy always beats
 * them: there are as many dummies as rows). Then every row is assigned, rows <= columns.
 */
function solveGroup(rowIds: readonly number[], colIds: readonly number[], pairs: ReadonlyArray<{ r: number; c: number; cost: number }>, maxCost: number): Array<[number, number]> {
  const transpose = rowIds.length > colIds.length;
  const left = transpose ? colIds : rowIds;
  const right = transpose ? rowIds : colIds;
  const n = left.length;
  const m = right.length + n;
  const leftIndex = new Map(left.map((id, i) => [id, i]));
  const rightIndex = new Map(right.map((id, i) => [id, i]));
  const a = new Float64Array(n * m).fill(1);
  for (let i = 0; i < n; i++) for (let j = right.length; j < m; j++) a[i * m + j] = 0;
  for (const pair of pairs) {
    const i = leftIndex.get(transpose ? pair.c : pair.r)!;
    const j = rightIndex.get(transpose ? pair.r : pair.c)!;
    a[i * m + j] = pair.cost - maxCost;
  }
  const assigned = hungarian(a, n, m);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const j = assigned[i];
    if (j >= right.length || !(a[i * m + j] <= 0)) continue; // a dummy, or (never chosen) a gated-out pair
    out.push(transpose ? [right[j], left[i]] : [left[i], right[j]]);
  }
  return out;
}

/**
 * Minimum-cost assignment of every row of the n x m matrix `a` (row-major, n <= m) to a distinct column, by
 * shortest augmenting paths with row and column potentials. Returns the column of each row.
 */
export function hungarian(a: Float64Array, n: number, m: number): Int32Array {
  // 1-based with a virtual column 0, as in the classic formulation.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j]: row (1-based) assigned to column j, 0 = free
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      const base = (i0 - 1) * m;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[base + j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const result = new Int32Array(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j] !== 0) result[p[j] - 1] = j - 1;
  return result;
}
