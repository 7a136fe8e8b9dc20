/** The pure parts of the bench: statistics, options, ffmpeg arguments, /proc parsing, the report text. */
import { describe, expect, it } from 'vitest';
import { quantileSorted, speedup, summarize } from '../../scripts/bench/stats.ts';
import { parseBenchArgs } from '../../scripts/bench/options.ts';
import { cameraArgs, processCpuSeconds } from '../../scripts/bench/pipeline.ts';
import { cpuModel, machineLine } from '../../scripts/bench/machine.ts';
import { latencyTable } from '../../scripts/bench/report.ts';
import { spreadPick } from '../../scripts/bench/images.ts';
import { missingModels } from '../../scripts/bench/command.ts';

describe('stats', () => {
  it('takes median and p95 with linear interpolation', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    const s = summarize([5, 1, 4, 2, 3, 100, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(s.n).toBe(20);
    expect(s.median).toBe(10.5);
    expect(s.p95).toBeCloseTo(19 + 0.05 * 81, 9);
    expect(s.min).toBe(1);
    expect(s.max).toBe(100);
    expect(Number.isNaN(summarize([]).median)).toBe(true);
  });

  it('gives the speed-up as peer median over ours, NaN when a side is missing', () => {
    expect(speedup(300, 100)).toBe(3);
    expect(Number.isNaN(speedup(300, 0))).toBe(true);
    expect(Number.isNaN(speedup(Number.NaN, 100))).toBe(true);
  });
});

describe('bench options', () => {
  it('defaults to every part, 5 iterations, 4 cameras at 5 fps 1280x720', () => {
    const o = parseBenchArgs([]);
    expect(o.parts).toEqual(['face', 'objects', 'pipeline']);
    expect([o.iterations, o.warmup, o.cameras, o.fps, o.width, o.height, o.seconds]).toEqual([5, 3, 4, 5, 1280, 720, 20]);
    expect(o.peers && o.int8).toBe(true);
  });

  it('makes --quick small, lets explicit values win, and takes --only lists', () => {
    const o = parseBenchArgs(['--quick', '--iterations', '2', '--only', 'face,pipeline', '--size', '640x360', '--no-peers']);
    expect(o.quick).toBe(true);
    expect(o.iterations).toBe(2);
    expect(o.samples).toBe(1);
    expect(o.cameras).toBe(1);
    expect(o.parts).toEqual(['face', 'pipeline']);
    expect([o.width, o.height]).toEqual([640, 360]);
    expect(o.peers).toBe(false);
    expect(parseBenchArgs(['--only', 'objects', '--only', 'face']).parts).toEqual(['objects', 'face']);
    expect(parseBenchArgs(['--models', 'nanodet, centernet']).models).toEqual(['nanodet', 'centernet']);
  });

  it('rejects bad values with a coded error', () => {
    expect(() => parseBenchArgs(['--only', 'gpu'])).toThrow(/--only takes face, objects, pipeline or tuning/);
    expect(() => parseBenchArgs(['--iterations', 'many'])).toThrow(/--iterations must be a whole number/);
    expect(() => parseBenchArgs(['--size', '1280'])).toThrow(/--size must look like 1280x720/);
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/frobnicate/);
  });
});

describe('--models check', () => {
  it('names unknown ids (and the known ones) instead of silently benchmarking fewer models', () => {
    // nanodet and its int8 copy are built at install (npm ci), so only the unknown ids are reported.
    expect(missingModels(['nanodet', 'nanodet.int8', 'ssd-mobilenetv1-face.int8'])).toEqual([]);
    const problems = missingModels(['nanodet', 'yolo', 'centernet.int9']);
    expect(problems.slice(0, 2)).toEqual(["--models: no model 'yolo'", "--models: no model 'centernet.int9'"]);
    expect(problems[2]).toMatch(/^known models: .*centernet.*nanodet/);
  });
});

describe('pipeline helpers', () => {
  it('reads a video in real time, looped, as scaled raw RGB on stdout', () => {
    const args = cameraArgs({ kind: 'video', file: '/data/a.mkv' }, 5, 1280, 720);
    expect(args.join(' ')).toBe(
      '-hide_banner -loglevel error -nostdin -re -stream_loop -1 -i /data/a.mkv -an -vf fps=5,scale=1280:720 -pix_fmt rgb24 -f rawvideo pipe:1',
    );
    expect(cameraArgs({ kind: 'photo', file: '/p.jpg' }, 2, 320, 240).join(' ')).toContain('-re -loop 1 -framerate 2 -i /p.jpg');
  });

  it('reads CPU seconds of a live process from /proc, 0 for a missing one', () => {
    expect(processCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(processCpuSeconds(undefined)).toBe(0);
    expect(processCpuSeconds(2 ** 22 + 12345)).toBe(0);
  });
});

describe('machine line and report', () => {
  it('takes the CPU model from /proc/cpuinfo text', () => {
    expect(cpuModel('processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: avx2\n')).toBe('AMD EPYC 7B13');
    const line = machineLine(
      { cores: 2, cpuModel: 'AMD EPYC', cpuPath: 'x86-64 AVX2 (no AVX-512, no VNNI)', cpuFlags: ['avx2', 'fma'], memoryGiB: 24, node: 'v20.20.2', onnxruntimeNode: '1.30.0' },
      { tfjs: '4.22.0', faceApi: '1.7.15', human: '3.3.6', wasmThreads: 1, wasmSimd: true },
    );
    expect(line).toBe(
      'machine: 2 cores, AMD EPYC (x86-64 AVX2 (no AVX-512, no VNNI); flags avx2 fma), 24 GiB; node v20.20.2, onnxruntime-node 1.30.0; tfjs 4.22.0 (wasm, 1 thread, SIMD), face-api 1.7.15, human 3.3.6',
    );
  });

  it('prints medians, p95 and the pair-by-pair speed-ups', () => {
    const s = (median: number) => summarize([median, median, median]);
    const lines = latencyTable([
      {
        task: 'face',
        imageSet: 'samples',
        images: 1,
        contenders: [
          { id: 'ssd', label: 'ssd (onnxruntime)', kind: 'ours', detect: s(100), total: s(150), decode: s(50), meanDetections: 3 },
          { id: 'face-api-ssd', label: 'face-api', kind: 'peer', detect: s(300), total: s(350), decode: s(50), meanDetections: 3 },
        ],
        ratios: [{ peer: 'face-api-ssd', ours: 'ssd', detect: 3, total: 350 / 150 }],
      },
    ]);
    const text = lines.join('\n');
    expect(text).toMatch(/ours ssd \(onnxruntime\)\s+100\.0\s+100\.0\s+150\.0\s+150\.0\s+50\.0\s+3\.0/);
    expect(text).toContain('ssd vs face-api-ssd: 3.00x from RGB, 2.33x with JPEG decode');
  });

  it('spreads picks over a folder and returns nothing for a missing one', () => {
    expect(spreadPick('/nonexistent-folder', 3)).toEqual([]);
  });
});
