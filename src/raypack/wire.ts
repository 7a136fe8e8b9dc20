/**
 * The RAYPACK wire format, in one place: the face result of `/raypackfacev3` and the Raypack_AI_Filecontainer of
 * `/recog` (and of the MQTT messages that reuse them). Pure builders from detections; no IO, no clock.
 */
import type { Detection, Task } from '../detect/types.ts';
import { translateCoco, type Lang } from '../detect/labels.ts';

export interface FaceBox {
  readonly xpos: number;
  readonly ypos: number;
  readonly width: number;
  readonly height: number;
  readonly score: number;
}

export interface FaceResult {
  readonly totalfaces: number;
  /** Processing time in seconds. */
  readonly time: number;
  readonly faces: FaceBox[];
}

/** `facemode=jsonimage`: the face result plus the anonymised picture. */
export interface FaceResultWithImage extends FaceResult {
  /** Base64 of a JPEG in which every face is pixelated. */
  readonly image: string;
  readonly imagetype: 'image/jpeg';
}

/** Integer pixel boxes of the original image, clipped to it, best score first. */
export function faceBoxes(detections: readonly Detection[], imageWidth: number, imageHeight: number): FaceBox[] {
  return [...detections]
    .sort((a, b) => b.score - a.score)
    .map((d) => {
      const [x, y, w, h] = d.box;
      const x0 = clamp(Math.round(x), 0, imageWidth);
      const y0 = clamp(Math.round(y), 0, imageHeight);
      const x1 = clamp(Math.round(x + w), 0, imageWidth);
      const y1 = clamp(Math.round(y + h), 0, imageHeight);
      return { xpos: x0, ypos: y0, width: x1 - x0, height: y1 - y0, score: d.score };
    })
    .filter((b) => b.width > 0 && b.height > 0);
}

export function buildFaceResult(faces: readonly FaceBox[], seconds: number): FaceResult {
  return { totalfaces: faces.length, time: seconds, faces: [...faces] };
}

export interface RecogModel {
  readonly id: '1' | '2';
  readonly task: Extract<Task, 'objects' | 'food'>;
  readonly modelname: 'Raypack_Objects' | 'Raypack_Food';
}

/** `/recog`'s `model` parameter. */
export const RECOG_MODELS: Readonly<Record<string, RecogModel>> = {
  '1': { id: '1', task: 'objects', modelname: 'Raypack_Objects' },
  '2': { id: '2', task: 'food', modelname: 'Raypack_Food' },
};

export interface RecogTag {
  readonly name: string;
  /** The score as a string with 8 decimals, as RAYPACK has always sent it. */
  readonly value: string;
}

export interface FileContainer {
  readonly name: 'Raypack_AI_Filecontainer';
  readonly version: '1.0';
  readonly license: string;
  readonly results: {
    readonly stats: {
      readonly modelname: string;
      readonly modelid: string;
      readonly originalfile: string;
      readonly starttime: number;
      readonly endtime: number;
      readonly duration: number;
    };
    readonly tags: RecogTag[];
  };
}

/** One tag per label at or above `threshold`, carrying that label's best score, highest first. */
export function recogTags(detections: readonly Detection[], threshold: number, lang: Lang): RecogTag[] {
  const best = new Map<string, number>();
  for (const d of detections) {
    if (!(d.score >= threshold)) continue;
    const previous = best.get(d.label);
    if (previous === undefined || d.score > previous) best.set(d.label, d.score);
  }
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([label, score]) => ({ name: translateCoco(label, lang), value: clamp(score, 0, 1).toFixed(8) }));
}

export interface FileContainerInput {
  readonly model: RecogModel;
  readonly originalfile: string;
  /** Epoch milliseconds. */
  readonly starttime: number;
  readonly endtime: number;
  readonly tags: RecogTag[];
  readonly license?: string;
}

export function buildFileContainer(input: FileContainerInput): FileContainer {
  return {
    name: 'Raypack_AI_Filecontainer',
    version: '1.0',
    license: input.license ?? 'commercial',
    results: {
      stats: {
        modelname: input.model.modelname,
        modelid: input.model.id,
        originalfile: input.originalfile,
        starttime: input.starttime,
        endtime: input.endtime,
        duration: Math.round(input.endtime - input.starttime) / 1000,
      },
      tags: input.tags,
    },
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
