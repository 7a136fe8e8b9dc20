/** Pure statistics over latency samples (milliseconds). */

export interface LatencySummary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Linear-interpolated quantile (q in 0..1) of an already sorted array, as numpy's default does. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? Number.NaN : sorted.reduce((sum, v) => sum + v, 0) / n;
  return {
    n,
    median: quantileSorted(sorted, 0.5),
    p95: quantileSorted(sorted, 0.95),
    mean,
    min: n === 0 ? Number.NaN : sorted[0],
    max: n === 0 ? Number.NaN : sorted[n - 1],
  };
}

/** How many times faster `ours` is than `peer` (peer median / our median); NaN when either is missing. */
export function speedup(peerMedian: number, oursMedian: number): number {
  if (!(peerMedian > 0) || !(oursMedian > 0)) return Number.NaN;
  return peerMedian / oursMedian;
}
