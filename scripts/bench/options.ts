/** `raypack-edge bench` options: parsed and checked here, so the command module only wires things. */
import { parseCommandArgs, wholeNumberOption } from '../../src/cli-args.ts';
import { RaypackError } from '../../src/errors.ts';

export type Part = 'face' | 'objects' | 'pipeline' | 'tuning';

export interface BenchOptions {
  readonly parts: readonly Part[];
  readonly quick: boolean;
  readonly iterations: number;
  readonly warmup: number;
  /** How many of face-api's six 1920 px samples, and how many ../shared/data photos per task. */
  readonly samples: number;
  readonly shared: number;
  /** Our model ids to measure (default: every built model of the task). */
  readonly models?: readonly string[];
  readonly peers: boolean;
  readonly int8: boolean;
  readonly threads?: number;
  readonly json?: string;
  readonly cameras: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly seconds: number;
  /** Pipeline privacy settings: the product's, those before the privacy stage, or both runs one after the other. */
  readonly privacy: 'product' | 'before' | 'both';
}

export const BENCH_USAGE = `usage: raypack-edge bench [options]
  --only face|objects|pipeline|tuning   run some parts (repeat or comma-separate; default face,objects,pipeline;
                                 tuning: ONNX Runtime session settings compared)
  --quick                        smoke run: 1 photo per set, 1 iteration, 1 camera for 3 s
  --iterations N                 rounds over the photos (default 5)
  --warmup N                     untimed runs per contender first (default 3)
  --samples N  --shared N        face-api samples (default 6) and ../shared/data photos per task (default 4)
  --models a,b.int8              our models: id = float file, id.int8 = quantized copy (default: every built
                                 model of the task and its int8 copy)
  --no-peers                     skip face-api and Human
  --no-int8                      skip the int8 copies
  --threads N                    ONNX Runtime intra-op threads (default: all cores)
  --cameras N --fps N --size WxH --seconds N    pipeline (default 4 cameras, 5 fps, 1280x720, 20 s)
  --privacy product|before|both  pipeline: hide with the product's privacy settings (default), with those before
                                 the privacy stage (one whole-image pass from 0.5), or run both
  --json FILE                    also write every figure as JSON
`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  return wholeNumberOption(name, value, 0) ?? fallback;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const parsed = parseCommandArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      only: { type: 'string', multiple: true },
      quick: { type: 'boolean' },
      iterations: { type: 'string' },
      warmup: { type: 'string' },
      samples: { type: 'string' },
      shared: { type: 'string' },
      models: { type: 'string' },
      'no-peers': { type: 'boolean' },
      'no-int8': { type: 'boolean' },
      threads: { type: 'string' },
      json: { type: 'string' },
      cameras: { type: 'string' },
      fps: { type: 'string' },
      size: { type: 'string' },
      seconds: { type: 'string' },
      privacy: { type: 'string' },
    },
  });
  const v = parsed.values;
  const parts = (v.only ?? ['face,objects,pipeline']).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const part of parts) {
    if (!['face', 'objects', 'pipeline', 'tuning'].includes(part)) throw new RaypackError('bad_parameter', `--only takes face, objects, pipeline or tuning, not '${part}'`);
  }
  const quick = v.quick === true;
  const size = /^(\d+)x(\d+)$/.exec(v.size ?? (quick ? '320x240' : '1280x720'));
  if (!size) throw new RaypackError('bad_parameter', `--size must look like 1280x720, not '${v.size}'`);
  const privacy = (v.privacy ?? 'product') as BenchOptions['privacy'];
  if (!['product', 'before', 'both'].includes(privacy)) throw new RaypackError('bad_parameter', `--privacy takes product, before or both, not '${v.privacy}'`);
  const threads = v.threads === undefined ? undefined : positiveInt('threads', v.threads, 0) || undefined;
  return {
    parts: [...new Set(parts as Part[])],
    quick,
    iterations: Math.max(1, positiveInt('iterations', v.iterations, quick ? 1 : 5)),
    warmup: positiveInt('warmup', v.warmup, quick ? 1 : 3),
    samples: Math.min(6, positiveInt('samples', v.samples, quick ? 1 : 6)),
    shared: positiveInt('shared', v.shared, quick ? 0 : 4),
    models: v.models?.split(',').map((s) => s.trim()).filter(Boolean),
    peers: v['no-peers'] !== true,
    int8: v['no-int8'] !== true,
    threads,
    json: v.json,
    cameras: Math.max(1, positiveInt('cameras', v.cameras, quick ? 1 : 4)),
    fps: Math.max(1, positiveInt('fps', v.fps, quick ? 2 : 5)),
    width: Number(size[1]),
    height: Number(size[2]),
    seconds: Math.max(1, positiveInt('seconds', v.seconds, quick ? 3 : 20)),
    privacy,
  };
}
