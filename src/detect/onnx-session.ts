/**
 * The one module that talks to ONNX Runtime. Sessions are created with tuned options (all graph optimisations,
 * intra-op threads = the cores we have unless told otherwise, sequential execution: our graphs are chains) and
 * the requested execution providers with a CPU fallback. A missing or unreadable model file becomes a
 * `model_unavailable` error that names the file and the command that builds it.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { RaypackError } from '../errors.ts';
import { logger } from '../log.ts';
import type { OutputTensor } from './decoders/common.ts';

const log = logger('detect:onnx');

export interface SessionOptions {
  /** Intra-op threads (default: os.availableParallelism()). */
  readonly threads?: number;
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']; 'cpu' is always tried last. */
  readonly executionProviders?: readonly string[];
  /**
   * Let idle intra-op threads busy-wait for work (ONNX Runtime's default). Off by default: on a small box shared
   * with ffmpeg and other sessions, spinning threads steal the cores the work needs. Measured on this 2-core
   * machine under load, SSD int8 at 2 threads: median 143 ms spinning vs 62 ms not.
   */
  readonly spinning?: boolean;
  /**
   * ONNX Runtime's memory pattern (pre-planned activation blocks per input shape). Off by default: with the CPU
   * arena on, it only kept extra memory around. Measured on this 2-core machine, fp32 SSD face at 1280x720, 1 thread:
   * 20 detections, two interleaved pairs, RSS minus V8 external buffers 217 vs 258 MiB, detect median 47 vs 44-57 ms;
   * `bench --only pipeline`, two pairs, RSS max 294/299 vs 332/328 MiB, detect median 53/52 vs 54/62 ms.
   */
  readonly memoryPattern?: boolean;
}

export interface ModelSession {
  readonly path: string;
  readonly inputName: string;
  readonly outputNames: readonly string[];
  /** Providers the session was created with (after any fallback). */
  readonly executionProviders: readonly string[];
  /** Run on one NCHW float32 tensor; outputs come back in the order of `outputs` (default: the model's order). */
  run(input: Float32Array, dims: readonly number[], outputs?: readonly string[]): Promise<OutputTensor[]>;
  close(): Promise<void>;
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

interface Tuning {
  readonly spinning: boolean;
  readonly memoryPattern: boolean;
}

function sessionOptions(threads: number, providers: readonly string[], tuning: Tuning): ort.InferenceSession.SessionOptions {
  const spinning = tuning.spinning;
  return {
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' }, inter_op: { allow_spinning: spinning ? '1' : '0' } } },
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // The arena stays on: without it every run allocates and frees its activations (measured: detect median
    // 158 vs 28 ms on the fp32 SSD face model at 2 threads), for ~50 MiB less RSS.
    enableCpuMemArena: true,
    enableMemPattern: tuning.memoryPattern,
  };
}

export async function createSession(path: string, options: SessionOptions = {}): Promise<ModelSession> {
  const hint = 'run `npm run models` to build the ONNX models';
  if (!existsSync(path) || statSync(path).size === 0) {
    throw new RaypackError('model_unavailable', `model file ${path} is missing or empty: ${hint}`, { path });
  }
  const threads = options.threads ?? defaultThreads();
  const requested = [...(options.executionProviders ?? ['cpu'])];
  let providers = requested.includes('cpu') ? requested : [...requested, 'cpu'];
  const tuning: Tuning = { spinning: options.spinning ?? false, memoryPattern: options.memoryPattern ?? false };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, sessionOptions(threads, providers, tuning));
  } catch (error) {
    if (providers.length > 1) {
      // A GPU provider that this build or machine lacks: say so once and run on the CPU.
      log.warn('execution providers unavailable, falling back to cpu', { providers, reason: firstLine(error) });
      providers = ['cpu'];
      try {
        session = await ort.InferenceSession.create(path, sessionOptions(threads, providers, tuning));
      } catch (again) {
        throw unreadable(path, again, hint);
      }
    } else {
      throw unreadable(path, error, hint);
    }
  }
  const inputName = session.inputNames[0];
  const outputNames = session.outputNames;
  log.debug('session created', { path, threads, providers, inputName, outputNames });
  return {
    path,
    inputName,
    outputNames,
    executionProviders: providers,
    async run(input, dims, outputs = outputNames) {
      const feeds = { [inputName]: new ort.Tensor('float32', input, dims as number[]) };
      const result = await session.run(feeds, outputs as string[]);
      return outputs.map((name) => {
        const t = result[name];
        if (!t || t.type !== 'float32') throw new RaypackError('internal', `model ${path} gave no float32 output ${name}`);
        return { data: t.data as Float32Array, dims: t.dims };
      });
    },
    async close() {
      await session.release();
    },
  };
}

function unreadable(path: string, error: unknown, hint: string): RaypackError {
  return new RaypackError('model_unavailable', `model file ${path} cannot be loaded (${firstLine(error)}): ${hint}`, { path }, { cause: error });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 200);
}
