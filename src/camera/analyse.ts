/**
 * One camera frame through the detectors, and the RAYPACK messages built from the result. Faces are always
 * detected (anonymised snapshots need them even when faces are not published); objects and food share one
 * detector run when both are wanted (food is the objects model restricted to COCO's food classes).
 */
import type { Detection, Detector, Task } from '../detect/types.ts';
import type { RgbImage } from '../core/image.ts';
import { FOOD_CLASS_IDS, type Lang } from '../detect/labels.ts';
import { buildFaceResult, buildFileContainer, faceBoxes, recogTags, RECOG_MODELS, type FaceBox, type RecogTag } from '../raypack/wire.ts';
import type { FaceMessage, FileContainerMessage } from '../mqtt/topics.ts';
import type { FrameBuffer } from './frame-pool.ts';

export interface AnalysedFrame extends RgbImage {
  readonly seq: number;
  readonly time: number;
  /**
   * The pooled buffer behind `data` (frame-pool.ts), absent for frames that are not pooled. analyseFrame reads the
   * pixels only while its caller holds a reference (the scheduler does until the returned promise settles).
   */
  readonly ref?: FrameBuffer;
}

export interface TagResult {
  readonly tags: RecogTag[];
  readonly starttime: number;
  readonly endtime: number;
}

export interface AnalysisResult {
  readonly camera: string;
  readonly frame: AnalysedFrame;
  readonly faces: FaceBox[];
  /** What snapshots anonymise: `faces` plus faces seen moments ago (see tracking/face-hold.ts). Default: faces. */
  readonly privacyBoxes?: ReadonlyArray<{ x: number; y: number; width: number; height: number }>;
  readonly faceSeconds: number;
  readonly objects?: TagResult;
  readonly food?: TagResult;
}

export interface AnalyseSettings {
  readonly camera: string;
  readonly tasks: readonly Task[];
  readonly thresholds: Partial<Record<Task, number>>;
  readonly lang: Lang;
}

export type DetectorSource = (task: Task) => Promise<Detector>;

export async function analyseFrame(frame: AnalysedFrame, settings: AnalyseSettings, detectors: DetectorSource, now: () => number = Date.now): Promise<AnalysisResult> {
  const faceStart = performance.now();
  const faceDetector = await detectors('face');
  const faceDetections = await faceDetector.detect(frame, { threshold: settings.thresholds.face });
  const faceSeconds = (performance.now() - faceStart) / 1000;
  const faces = faceBoxes(faceDetections, frame.width, frame.height);

  const wantsObjects = settings.tasks.includes('objects');
  const wantsFood = settings.tasks.includes('food');
  let objects: TagResult | undefined;
  let food: TagResult | undefined;
  if (wantsObjects || wantsFood) {
    const starttime = now();
    const detector = await detectors(wantsObjects ? 'objects' : 'food');
    const threshold = Math.min(settings.thresholds.objects ?? detector.defaultThreshold, settings.thresholds.food ?? detector.defaultThreshold);
    const detections = await detector.detect(frame, { threshold });
    const endtime = now();
    const tags = (list: readonly Detection[], t: number): RecogTag[] => recogTags(list, t, settings.lang);
    if (wantsObjects) objects = { tags: tags(detections, settings.thresholds.objects ?? detector.defaultThreshold), starttime, endtime };
    if (wantsFood) {
      const foodOnly = detections.filter((d) => d.classId !== undefined && FOOD_CLASS_IDS.has(d.classId));
      food = { tags: tags(foodOnly, settings.thresholds.food ?? detector.defaultThreshold), starttime, endtime };
    }
  }
  return { camera: settings.camera, frame, faces, faceSeconds, objects, food };
}

export function faceMessage(result: AnalysisResult): FaceMessage {
  return {
    ...buildFaceResult(result.faces, Math.round(result.faceSeconds * 1e6) / 1e6),
    camera: result.camera,
    frametime: result.frame.time,
    sequence: result.frame.seq,
  };
}

export function containerMessage(result: AnalysisResult, kind: 'objects' | 'food', license: string): FileContainerMessage | undefined {
  const tags = result[kind];
  if (!tags) return undefined;
  const model = kind === 'objects' ? RECOG_MODELS['1'] : RECOG_MODELS['2'];
  const container = buildFileContainer({
    model,
    originalfile: `camera:${result.camera}#${result.frame.seq}`,
    starttime: tags.starttime,
    endtime: tags.endtime,
    tags: tags.tags,
    license,
  });
  return { ...container, camera: result.camera, frametime: result.frame.time, sequence: result.frame.seq };
}
