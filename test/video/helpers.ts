/**
 * Real-video helpers for the video tests: short clips cut from the shared videos with ffmpeg (in a temp folder,
 * never in the repository), ffprobe's view of a file, frames read back, and the faces the reference detectors
 * (YuNet, UltraFace from ../shared/data/models) and our own face model find in them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { referenceModelsDir, resolveDataDir } from '../../scripts/eval/data-dir.ts';
import { loadUltraface } from '../../scripts/eval/reference/ultraface.ts';
import { loadYunet } from '../../scripts/eval/reference/yunet.ts';
import { iou, type Rect } from '../../src/core/geometry.ts';
import type { RgbImage } from '../../src/core/image.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';

export const DATA = resolveDataDir();
export const VIDEO = resolve(DATA, 'video');
export const MODELS = referenceModelsDir(DATA);
export const HAVE_VIDEO = existsSync(join(VIDEO, 'asl_gestures/bird.mkv')) && existsSync(join(MODELS, 'yunet/yunet_s_640_640.onnx'));

/** `bird.mkv` (640x480, 30 fps, 63 frames, a frontal face) with a 440 Hz AAC track as long as the video. */
export function clipWithAudio(dir: string, name = 'clip.mp4'): string {
  const out = join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-i', join(VIDEO, 'asl_gestures/bird.mkv'), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-shortest', '-y', out]);
  return out;
}

export interface Probed {
  readonly frames: number;
  readonly fps: string;
  readonly duration: number;
  readonly width: number;
  readonly height: number;
  readonly videoCodec: string;
  readonly audio?: { readonly codec: string; readonly packets: number; readonly duration: number };
}

/** ffprobe with every frame counted. */
export function probe(file: string): Probed {
  const json = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-count_packets', '-show_entries', 'stream=codec_type,codec_name,width,height,r_frame_rate,nb_read_frames,nb_read_packets,duration:format=duration', '-of', 'json', file], { encoding: 'utf8' }),
  ) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const v = json.streams.find((s) => s.codec_type === 'video')!;
  const a = json.streams.find((s) => s.codec_type === 'audio');
  return {
    frames: Number(v.nb_read_frames),
    fps: String(v.r_frame_rate),
    duration: Number(json.format.duration),
    width: Number(v.width),
    height: Number(v.height),
    videoCodec: String(v.codec_name),
    ...(a ? { audio: { codec: String(a.codec_name), packets: Number(a.nb_read_packets), duration: Number(a.duration) } } : {}),
  };
}

/** Frames `indices` of a video as RGB (every frame decoded as stored, then selected). */
export function framesAt(file: string, indices: readonly number[], width: number, height: number): RgbImage[] {
  const select = indices.map((i) => `eq(n\\,${i})`).join('+');
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-vf', `select=${select}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
  const size = width * height * 3;
  if (raw.length !== size * indices.length) throw new Error(`got ${raw.length / size} frames of ${indices.length}`);
  return indices.map((_, k) => ({ data: new Uint8Array(raw.subarray(k * size, (k + 1) * size)), width, height }));
}

export interface FaceJudges {
  readonly detectors: readonly Detector[];
  close(): Promise<void>;
}

/** YuNet-s, UltraFace RFB-640 (the references) and our default face model, each at its default threshold. */
export async function faceJudges(): Promise<FaceJudges> {
  const detectors = [await loadYunet(MODELS, 'yunet-s-640', 1), await loadUltraface(MODELS, 'ultraface-rfb-640', 1), await loadDetector('face', { threads: 1 })];
  return { detectors, close: async () => void (await Promise.all(detectors.map((d) => d.close()))) };
}

export interface FaceCheck {
  /** Faces found in the input frames (all judges). */
  readonly inputFaces: number;
  /** Of those, the ones some judge still finds at the same place (IoU >= 0.3) in the output frame. */
  readonly stillFound: Array<{ frame: number; judge: string; box: Rect; score: number }>;
}

/** The faces the judges find in each input frame, looked for again in the output frame. */
export async function facesLeft(judges: FaceJudges, input: readonly RgbImage[], output: readonly RgbImage[], indices: readonly number[]): Promise<FaceCheck> {
  let inputFaces = 0;
  const stillFound: FaceCheck['stillFound'] = [];
  for (const [k, frame] of input.entries()) {
    for (const judge of judges.detectors) {
      const before = (await judge.detect(frame)).map(toRect);
      inputFaces += before.length;
      if (before.length === 0) continue;
      for (const d of await judge.detect(output[k])) {
        const box = toRect(d);
        if (before.some((b) => iou(b, box) >= 0.3)) stillFound.push({ frame: indices[k], judge: judge.modelId, box, score: d.score });
      }
    }
  }
  return { inputFaces, stillFound };
}

function toRect(d: { box: readonly [number, number, number, number] }): Rect {
  return { x: d.box[0], y: d.box[1], width: d.box[2], height: d.box[3] };
}
