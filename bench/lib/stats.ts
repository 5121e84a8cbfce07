// Summary statistics of benchmark samples (milliseconds or rates): count, median, p95
// (nearest-rank, as most load tools report it), mean, min and max.

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentile (p in 0..100) of already sorted values. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n,
    median: n === 0 ? Number.NaN : n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2,
    p95: percentileSorted(sorted, 95),
    mean: n === 0 ? Number.NaN : sum / n,
    min: n === 0 ? Number.NaN : sorted[0]!,
    max: n === 0 ? Number.NaN : sorted[n - 1]!,
  };
}

/** Round for reports: 1 decimal under 100, integers above. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  return Math.abs(v) < 100 ? Math.round(v * 10) / 10 : Math.round(v);
}
