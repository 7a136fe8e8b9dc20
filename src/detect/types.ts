/** What a detector is and returns (the image type lives in src/core/image.ts). */

import type { RgbImage } from '../core/image.ts';
import type { PlannedRegion } from './tiling.ts';

/** One detection, in the pixel space of the image that was passed to the detector. */
export interface Detection {
  /** `face` for faces; the English COCO name for objects and food. */
  readonly label: string;
  /** COCO class id (0-79) for objects and food; absent for faces. */
  readonly classId?: number;
  readonly score: number;
  /** [x, y, width, height] in the input image's own pixels (floats; round when serialising). */
  readonly box: readonly [number, number, number, number];
}

export type Task = 'face' | 'objects' | 'food';

export interface DetectOptions {
  /** Minimum score kept; each detector has its own default. */
  readonly threshold?: number;
  /**
   * Run exactly these regions of the image (each resized to the model input, so a region smaller than the input
   * is seen enlarged), instead of the detector's own plan (the whole image, plus tiles where configured). Boxes
   * come back in the image's pixels, cut-off boxes at inner tile edges dropped, merged by the detector's NMS.
   */
  readonly regions?: readonly PlannedRegion[];
}

/** A loaded detector. Implementations own their ONNX Runtime session(s). */
export interface Detector {
  readonly task: Task;
  /** Model id from the manifest, e.g. `ssd-mobilenetv1-face`. */
  readonly modelId: string;
  readonly defaultThreshold: number;
  /** The model input's longer side in pixels (what a region is resized to). */
  readonly inputSize?: number;
  /**
   * Longest image side worth decoding for this detector (larger images only cost decode time, the detector
   * shrinks them anyway); undefined = use the full resolution. See detectionDecodeSide in registry.ts.
   */
  readonly preferredDecodeSide?: number;
  /**
   * The exact size the detector resizes an image of width x height to when it runs one whole-image pass (its model
   * input for a stretch model, the fitted size for a letterbox one); undefined when it tiles such an image. A JPEG
   * decoded straight to this size is resampled once instead of twice. See detectionDecodeOptions in registry.ts.
   */
  decodeSizeFor?(width: number, height: number): { width: number; height: number } | undefined;
  detect(image: RgbImage, options?: DetectOptions): Promise<Detection[]>;
  /** One inference, what detect() gives at each threshold (optional: callers fall back to one detect() per threshold). */
  detectAt?(image: RgbImage, thresholds: readonly number[], options?: Omit<DetectOptions, 'threshold'>): Promise<Detection[][]>;
  close(): Promise<void>;
}
