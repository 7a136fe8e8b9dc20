/**
 * Which of ONNX Runtime's int8 kernel families this CPU gets, read from /proc/cpuinfo. ORT picks kernels from CPUID
 * at start: with VNNI one instruction multiplies and adds four uint8 x int8 pairs into int32 (VPDPBUSD); without
 * it (AVX2, AVX-512BW, SSSE3) three do the same with an int16 step in between (VPMADDUBSW, VPMADDWD, VPADDD); on
 * ARM64, UDOT/SDOT with the dot-product extension, UMULL/UADALP without. The int8 copies compute the same
 * integers on all of them (pair-bounded weights); their speed against the float file differs, which is what a
 * figure must name and what chooses the file a detector loads (registry.ts).
 */
import { readFileSync } from 'node:fs';
import { arch } from 'node:os';

export type CpuPathId = 'x86-64-avx512-vnni' | 'x86-64-avx-vnni' | 'x86-64-avx512bw' | 'x86-64-avx2' | 'x86-64-sse4' | 'x86-64' | 'arm64-dotprod' | 'arm64-neon' | 'other';

export interface CpuPath {
  readonly id: CpuPathId;
  /** What a figure's caption says, e.g. `x86-64 AVX-512 VNNI`. */
  readonly label: string;
  /** The instructions ORT's u8s8 GEMM kernels use on this path. */
  readonly int8Kernel: string;
  /** The flags it was read from that matter here (avx2, avx512f, avx512_vnni, avx_vnni, asimddp, i8mm...). */
  readonly flags: readonly string[];
}

const RELEVANT = ['sse4_1', 'ssse3', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_int8', 'asimd', 'asimddp', 'i8mm', 'sve'];

/** The int8 kernel path of the CPU described by `cpuinfo` (the text of /proc/cpuinfo) on `machine`. */
export function cpuPath(cpuinfo: string, machine = arch()): CpuPath {
  const line = /^(flags|Features)\s*:\s*(.*)$/m.exec(cpuinfo)?.[2] ?? '';
  const all = new Set(line.split(/\s+/).filter(Boolean));
  const flags = RELEVANT.filter((f) => all.has(f));
  const path = (id: CpuPathId, label: string, int8Kernel: string): CpuPath => ({ id, label, int8Kernel, flags });
  if (machine === 'x64') {
    if (all.has('avx512_vnni')) return path('x86-64-avx512-vnni', 'x86-64 AVX-512 VNNI', 'VPDPBUSD (AVX-512 VNNI)');
    if (all.has('avx_vnni')) return path('x86-64-avx-vnni', 'x86-64 AVX-VNNI', 'VPDPBUSD (AVX-VNNI, 256-bit)');
    if (all.has('avx512bw')) return path('x86-64-avx512bw', 'x86-64 AVX-512BW (no VNNI)', 'VPMADDUBSW + VPMADDWD (512-bit)');
    if (all.has('avx2')) return path('x86-64-avx2', 'x86-64 AVX2 (no AVX-512, no VNNI)', 'VPMADDUBSW + VPMADDWD (256-bit)');
    if (all.has('ssse3')) return path('x86-64-sse4', 'x86-64 SSE4 (no AVX)', 'PMADDUBSW + PMADDWD (128-bit)');
    return path('x86-64', 'x86-64 (SSE2 only)', 'PMADDWD (128-bit)');
  }
  if (machine === 'arm64') {
    if (all.has('asimddp')) return path('arm64-dotprod', 'arm64 with dot product (e.g. Pi 5, Jetson Orin)', 'UDOT/SDOT');
    return path('arm64-neon', 'arm64 NEON without dot product (e.g. Pi 4)', 'UMULL + UADALP');
  }
  return path('other', machine, 'unknown');
}

let cached: CpuPath | undefined;

/** This machine's path (read once). */
export function thisCpuPath(): CpuPath {
  if (!cached) {
    let text = '';
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      // Not Linux: the path is then 'other' or decided by flags we cannot read.
    }
    cached = cpuPath(text);
  }
  return cached;
}
