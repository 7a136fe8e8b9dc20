/** Pure helpers of the soak: the RSS slope by least squares, and the machine a figure was measured on. */
import { readFileSync } from 'node:fs';

export interface Sample {
  /** Seconds since the soak started. */
  readonly t: number;
  readonly rssMiB: number;
}

/** Least-squares slope of RSS over time, in MiB per hour (0 with fewer than two distinct times). */
export function slopeMiBPerHour(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mt = samples.reduce((s, x) => s + x.t, 0) / n;
  const mr = samples.reduce((s, x) => s + x.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of samples) {
    num += (x.t - mt) * (x.rssMiB - mr);
    den += (x.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

export function rssMiBOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The CPU model and its AVX2/AVX-512 flags, from /proc/cpuinfo. */
export function cpuDescription(): string {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown CPU';
  const flags = (/^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? '').split(/\s+/);
  const simd = flags.filter((f) => f === 'avx2' || f.startsWith('avx512')).sort();
  const cores = (info.match(/^processor\s*:/gm) ?? []).length;
  return `${model}, ${cores} logical cores, flags: ${simd.length > 0 ? simd.join(' ') : 'no avx2/avx512'}`;
}
