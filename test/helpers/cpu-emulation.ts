/**
 * Run a Node script as if on another x86-64 CPU: qemu's user-mode emulator (Debian's qemu-user) with a CPU model
 * that reports fewer instruction sets. ONNX Runtime picks its kernels from CPUID at start, so under
 * `x86-64-avx2` it takes the AVX2 int8 kernels (VPMADDUBSW, no VNNI) whatever this machine has. Seconds, not
 * milliseconds: for checking what a CPU computes, never how fast.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const QEMU_X86_64 = '/usr/bin/qemu-x86_64';

/** CPU models qemu's TCG emulates fully (no "doesn't support requested feature" warnings on qemu 7.2). */
export const EMULATED_CPUS = {
  /** An AVX2 machine without AVX-512 or VNNI (Haswell to Zen 3): u8s8 GEMMs through VPMADDUBSW. */
  'x86-64-avx2': 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+avx,+avx2,+fma,+f16c,+xsave,+bmi1,+bmi2,+movbe',
  /** No AVX at all: ONNX Runtime's SSE kernels (PMADDUBSW for u8s8). */
  'x86-64-sse4.2': 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt',
} as const;

export type EmulatedCpu = keyof typeof EMULATED_CPUS;

export function emulationAvailable(): boolean {
  return process.arch === 'x64' && existsSync(QEMU_X86_64);
}

/** Run `node args...` (this Node) under the emulated CPU, or natively when `cpu` is undefined; resolves with stdout. */
export function runNode(args: readonly string[], cpu?: EmulatedCpu, timeoutMs = 240_000): Promise<string> {
  const [command, argv] = cpu ? [QEMU_X86_64, ['-cpu', EMULATED_CPUS[cpu], process.execPath, ...args]] : [process.execPath, [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${cpu ?? 'native'} node ${args.join(' ')} exited ${code ?? signal}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`));
    });
  });
}
