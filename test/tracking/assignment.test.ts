import { describe, expect, it } from 'vitest';
import { assign, hungarian, nearbyPairs } from '../../src/tracking/assignment.ts';
import type { Rect } from '../../src/core/geometry.ts';

/** A small deterministic generator (Park-Miller), so every run sees the same matrices. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

/** Best objective sum(cost - maxCost) over every partial matching, by enumeration. */
function bruteForce(cost: number[][], maxCost: number): number {
  const rows = cost.length;
  const cols = rows > 0 ? cost[0].length : 0;
  const usedCols = new Array<boolean>(cols).fill(false);
  const walk = (r: number): number => {
    if (r === rows) return 0;
    let best = walk(r + 1); // row r unmatched
    for (let c = 0; c < cols; c++) {
      if (usedCols[c] || !(cost[r][c] <= maxCost)) continue;
      usedCols[c] = true;
      best = Math.min(best, cost[r][c] - maxCost + walk(r + 1));
      usedCols[c] = false;
    }
    return best;
  };
  return walk(0);
}

function objective(cost: number[][], maxCost: number, matches: ReadonlyArray<readonly [number, number]>): number {
  return matches.reduce((sum, [r, c]) => sum + cost[r][c] - maxCost, 0);
}

describe('assign', () => {
  it('finds the optimum of every small gated problem (against enumeration)', () => {
    const rnd = random(42);
    for (let trial = 0; trial < 600; trial++) {
      const rows = Math.floor(rnd() * 6);
      const cols = Math.floor(rnd() * 6);
      const gateShare = rnd();
      const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rnd() < gateShare ? Infinity : rnd())));
      const maxCost = 0.3 + rnd() * 0.7;
      const result = assign(rows, cols, cost, maxCost);
      expect(objective(cost, maxCost, result.matches)).toBeCloseTo(bruteForce(cost, maxCost), 9);
      // A consistent partition: each row and column once, matched pairs inside the gate.
      const seenRows = new Set(result.matches.map(([r]) => r));
      const seenCols = new Set(result.matches.map(([, c]) => c));
      expect(seenRows.size).toBe(result.matches.length);
      expect(seenCols.size).toBe(result.matches.length);
      for (const [r, c] of result.matches) expect(cost[r][c]).toBeLessThanOrEqual(maxCost);
      expect([...seenRows, ...result.unmatchedRows].sort((a, b) => a - b)).toEqual([...Array(rows).keys()]);
      expect([...seenCols, ...result.unmatchedCols].sort((a, b) => a - b)).toEqual([...Array(cols).keys()]);
    }
  });

  it('beats greedy where crowded boxes compete: the best pair is not always in the best matching', () => {
    // Greedy takes (0,0) at 0.1, then row 1 has nothing left inside the gate. The optimum pairs both rows.
    const cost = [
      [0.1, 0.3],
      [0.2, Infinity],
    ];
    const result = assign(2, 2, cost, 0.8);
    expect(result.matches).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(result.unmatchedRows).toEqual([]);
  });

  it('leaves a pair unmatched when its cost is over the gate, and treats NaN and Infinity as outside', () => {
    const result = assign(3, 3, [[0.9, NaN, 0.2], [Infinity, 0.5, 0.95], [0.81, 0.81, 0.81]], 0.8);
    expect(result.matches).toEqual([
      [0, 2],
      [1, 1],
    ]);
    expect(result.unmatchedRows).toEqual([2]);
    expect(result.unmatchedCols).toEqual([0]);
  });

  it('handles empty and one-sided problems', () => {
    expect(assign(0, 0, [], 1)).toEqual({ matches: [], unmatchedRows: [], unmatchedCols: [] });
    expect(assign(2, 0, [[], []], 1)).toEqual({ matches: [], unmatchedRows: [0, 1], unmatchedCols: [] });
    expect(assign(0, 3, [], 1)).toEqual({ matches: [], unmatchedRows: [], unmatchedCols: [0, 1, 2] });
  });

  it('takes a cost function and solves tall problems (more rows than columns)', () => {
    const calls: Array<[number, number]> = [];
    const result = assign(4, 2, (r, c) => {
      calls.push([r, c]);
      return Math.abs(r - 2 * c - 1) * 0.25; // row 1 -> col 0, row 3 -> col 1 at cost 0
    }, 0.3);
    expect(result.matches).toEqual([
      [1, 0],
      [3, 1],
    ]);
    expect(result.unmatchedRows).toEqual([0, 2]);
    expect(calls).toHaveLength(8); // each pair asked once
  });

  it('splits far-apart pairs into independent groups: 2000 isolated pairs solve quickly and exactly', () => {
    const n = 2000;
    const result = assign(n, n, (r, c) => (r === n - 1 - c ? 0.1 : Infinity), 0.5);
    expect(result.matches).toHaveLength(n);
    expect(result.matches.every(([r, c]) => r === n - 1 - c)).toBe(true);
  });
});

describe('nearbyPairs', () => {
  it('finds exactly the pairs within reach on both axes (against checking every pair), sorted', () => {
    const rnd = random(7);
    const boxes = (n: number): Rect[] => Array.from({ length: n }, () => ({ x: rnd() * 1000, y: rnd() * 600, width: 5 + rnd() * 80, height: 5 + rnd() * 80 }));
    for (const reach of [0, 25]) {
      const a = boxes(150);
      const b = boxes(170);
      const within = (p: Rect, q: Rect) => q.x <= p.x + p.width + reach && q.x + q.width >= p.x - reach && q.y <= p.y + p.height + reach && q.y + q.height >= p.y - reach;
      const expected: Array<[number, number]> = [];
      a.forEach((p, i) => b.forEach((q, j) => within(p, q) && expected.push([i, j])));
      expect(nearbyPairs(a, b, () => reach)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(a.length * b.length * 0.2);
    }
  });

  it('gives assign the same answer as the dense problem when the cost needs overlap', () => {
    const rnd = random(9);
    const boxes = (n: number): Rect[] => Array.from({ length: n }, () => ({ x: rnd() * 400, y: rnd() * 300, width: 20 + rnd() * 40, height: 20 + rnd() * 40 }));
    const a = boxes(60);
    const b = boxes(60);
    const overlap = (p: Rect, q: Rect) => Math.max(0, Math.min(p.x + p.width, q.x + q.width) - Math.max(p.x, q.x)) * Math.max(0, Math.min(p.y + p.height, q.y + q.height) - Math.max(p.y, q.y));
    const cost = (i: number, j: number) => (overlap(a[i], b[j]) > 0 ? 1 - overlap(a[i], b[j]) / (a[i].width * a[i].height) : Infinity);
    expect(assign(60, 60, cost, 1, nearbyPairs(a, b))).toEqual(assign(60, 60, cost, 1));
  });
});

describe('hungarian', () => {
  it('assigns every row of a rectangular matrix at the minimum total', () => {
    // 2 x 3: rows prefer column 0, the optimum sends row 0 to column 2.
    const a = Float64Array.from([1, 5, 2, 1, 4, 9]);
    expect([...hungarian(a, 2, 3)]).toEqual([2, 0]);
  });
});
