/**
 * Per-image latency of our detectors and the peers, measured in the same run, interleaved: every image goes to
 * every contender in turn (the order rotating each round), so a burst of load from other processes on a shared
 * machine hits all contenders alike instead of skewing one of them.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../../src/image/decode.ts';
import { AnalysisStage } from '../../src/analysis/stage.ts';
import { reportedFor } from '../../src/analysis/types.ts';
import { logger } from '../../src/log.ts';
import type { Detector } from '../../src/detect/types.ts';
import type { RgbImage } from '../../src/core/image.ts';
import type { ImageSet } from './images.ts';
import type { PeerClient } from './peers/client.ts';
import type { PeerId } from './peers/protocol.ts';
import { summarize, speedup, type LatencySummary } from './stats.ts';

const log = logger('bench:latency');

export interface Sample {
  /** Decoding as the contender's JPEG path does it (ours: only as many pixels as detection needs). */
  readonly decodeMs: number;
  /** From the full-resolution decoded RGB frame to detections. */
  readonly detectMs: number;
  /** JPEG bytes to detections in the original pixels; absent = decodeMs + detectMs (the peers decode in full). */
  readonly endToEndMs?: number;
  readonly detections: number;
}

export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly kind: 'ours' | 'peer';
  run(file: string): Promise<Sample>;
  close(): Promise<void>;
}

export function ourContender(id: string, label: string, detector: Detector): Contender {
  // Each photo is read and fully decoded once: the RGB->det figure starts from pixels in memory.
  const inputs = new Map<string, { encoded: Uint8Array; image: RgbImage }>();
  // Through the analysis stage, as the API, `detect` and the cameras run it (reporting only: what the peers do).
  const stage = new AnalysisStage({ detectors: async () => detector });
  const task = detector.task === 'face' ? 'face' : 'objects';
  return {
    id,
    label,
    kind: 'ours',
    async run(file) {
      let input = inputs.get(file);
      if (!input) {
        const encoded = new Uint8Array(await readFile(file));
        input = { encoded, image: await decodeImage(encoded) };
        inputs.set(file, input);
      }
      const { encoded, image } = input;
      const t0 = performance.now();
      const fromPixels = await stage.analyse({ image }, { report: { [task]: {} } });
      const t1 = performance.now();
      // JPEG->det: what `raypack-edge detect` and the API's JSON answers do: decode only the pixels detection needs.
      const fromBytes = await stage.analyse({ bytes: encoded }, { report: { [task]: {} } });
      const t2 = performance.now();
      return { decodeMs: fromBytes.timings.decode ?? 0, detectMs: t1 - t0, endToEndMs: t2 - t1, detections: reportedFor(fromPixels, task).length };
    },
    close: () => detector.close(),
  };
}

export function peerContender(client: PeerClient, peer: PeerId, label: string): Contender {
  return { id: peer, label, kind: 'peer', run: (file) => client.run(peer, file), close: async () => undefined };
}

export interface ContenderResult {
  readonly id: string;
  readonly label: string;
  readonly kind: 'ours' | 'peer';
  /** From the decoded RGB frame to detections. */
  readonly detect: LatencySummary;
  /** JPEG bytes in memory to detections (decode + detect). */
  readonly total: LatencySummary;
  readonly decode: LatencySummary;
  readonly meanDetections: number;
}

export interface SetResult {
  readonly task: string;
  readonly imageSet: string;
  readonly images: number;
  readonly contenders: readonly ContenderResult[];
  /** peer median / our median, for every (peer, ours) pair: > 1 means ours is faster. */
  readonly ratios: readonly { peer: string; ours: string; detect: number; total: number }[];
}

export async function measureLatency(
  task: string,
  sets: readonly ImageSet[],
  contenders: readonly Contender[],
  options: { iterations: number; warmup: number },
): Promise<SetResult[]> {
  const first = sets[0]?.files[0];
  if (first) {
    for (const c of contenders) for (let i = 0; i < options.warmup; i++) await c.run(first);
  }
  const samples = new Map<string, Sample[]>();
  const key = (set: string, id: string): string => `${set}\u0000${id}`;
  for (let round = 0; round < options.iterations; round++) {
    for (const set of sets) {
      for (const file of set.files) {
        for (let k = 0; k < contenders.length; k++) {
          const c = contenders[(k + round) % contenders.length];
          const sample = await c.run(file);
          const list = samples.get(key(set.name, c.id)) ?? [];
          list.push(sample);
          samples.set(key(set.name, c.id), list);
        }
      }
    }
    log.debug('round done', { task, round: round + 1, of: options.iterations });
  }
  return sets.map((set) => {
    const results = contenders.map((c): ContenderResult => {
      const list = samples.get(key(set.name, c.id)) ?? [];
      return {
        id: c.id,
        label: c.label,
        kind: c.kind,
        detect: summarize(list.map((s) => s.detectMs)),
        total: summarize(list.map((s) => s.endToEndMs ?? s.detectMs + s.decodeMs)),
        decode: summarize(list.map((s) => s.decodeMs)),
        meanDetections: list.length === 0 ? 0 : list.reduce((sum, s) => sum + s.detections, 0) / list.length,
      };
    });
    const ratios = results
      .filter((p) => p.kind === 'peer')
      .flatMap((p) =>
        results
          .filter((o) => o.kind === 'ours')
          .map((o) => ({ peer: p.id, ours: o.id, detect: speedup(p.detect.median, o.detect.median), total: speedup(p.total.median, o.total.median) })),
      );
    return { task, imageSet: set.name, images: set.files.length, contenders: results, ratios };
  });
}
