/** One line naming the machine and the versions a figure was measured with. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { thisCpuPath } from '../../src/os/cpu.ts';

const require = createRequire(import.meta.url);

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  /** ONNX Runtime's int8 kernel path on this CPU, and the flags that decide it (src/os/cpu.ts). */
  readonly cpuPath: string;
  readonly cpuFlags: readonly string[];
  readonly memoryGiB: number;
  readonly node: string;
  readonly onnxruntimeNode: string;
}

/** The CPU model from /proc/cpuinfo (Linux), else from os.cpus(). */
export function cpuModel(cpuinfo?: string): string {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
  }
  const match = /^model name\s*:\s*(.+)$/m.exec(text);
  return (match?.[1] ?? cpus()[0]?.model ?? 'unknown CPU').trim();
}

export function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'absent';
  }
}

export function machineInfo(): MachineInfo {
  return {
    cores: availableParallelism(),
    cpuModel: cpuModel(),
    cpuPath: thisCpuPath().label,
    cpuFlags: thisCpuPath().flags,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntimeNode: packageVersion('onnxruntime-node'),
  };
}

export function machineLine(m: MachineInfo, peers?: { tfjs: string; faceApi: string; human: string; wasmThreads: number; wasmSimd: boolean }): string {
  const base = `machine: ${m.cores} cores, ${m.cpuModel} (${m.cpuPath}; flags ${m.cpuFlags.join(' ')}), ${m.memoryGiB} GiB; node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}`;
  if (!peers) return base;
  return `${base}; tfjs ${peers.tfjs} (wasm, ${peers.wasmThreads} thread${peers.wasmThreads === 1 ? '' : 's'}${peers.wasmSimd ? ', SIMD' : ''}), face-api ${peers.faceApi}, human ${peers.human}`;
}
