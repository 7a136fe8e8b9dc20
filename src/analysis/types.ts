/**
 * What the analysis stage takes and gives (src/analysis/stage.ts): one request shape for every caller (routes,
 * CLI, eval, bench, cameras) and one result: the detections to REPORT (precision-first: the caller's thresholds)
 * and the regions to HIDE (recall-first: their own lower threshold, more passes, heads from people, the tracker).
 */
import type { Rect } from '../core/geometry.ts';
import type { RgbImage } from '../core/image.ts';
import type { Detection, Task } from '../detect/types.ts';
import type { ImageFormat } from '../image/decode.ts';

/** What a privacy region covers, which decides how much margin the renderer adds around it. */
export type PrivacyKind = 'face' | 'head' | 'person';

export interface PrivacyRegion extends Rect {
  readonly kind: PrivacyKind;
  /** Best evidence behind it (a detector score; a predicted track keeps its last one). */
  readonly score: number;
  /** Which pass found it: `face`, `face:tiles`, a second model's id, `person-head`, `pose-head`, `person`. */
  readonly sources: readonly string[];
  /** Set by the tracker: the region's track, and whether this frame saw it or it is carried forward. */
  readonly trackId?: number;
  readonly predicted?: boolean;
}

/** A selection of the privacy passes: tiles of the grid (`{ from, count }` in reading order, wrapping), the rest by name. */
export interface PrivacyPasses {
  readonly tiles: { readonly from: number; readonly count: number };
  readonly persons: boolean;
  readonly poses: boolean;
  readonly models: boolean;
  /** The mirrored whole-image passes (privacy.flip). */
  readonly flip: boolean;
  /** The face pass on the image in a mirrored border (privacy.border). */
  readonly border: boolean;
}

/** `faces`: faces and heads hidden; `body`: every detected person hidden whole as well. */
export type PrivacyMode = 'faces' | 'body';

export interface AnalysisRequest {
  /** Detections to report per task, each at its threshold (default: the detector's). Absent task: not reported. */
  readonly report?: Partial<Record<Task, { readonly threshold?: number }>>;
  /**
   * Also return the objects detections from this lower score up (`candidates`), from the same inference: a
   * tracker's second stage (ByteTrack) continues tracks with them but never starts one. Needs `report.objects`.
   */
  readonly objectCandidates?: number;
  /** Compute the regions to hide. Off for answers that show no picture (JSON only). */
  readonly privacy?: PrivacyMode | false;
  /**
   * Which of the privacy passes beyond the whole-image face pass to run this time: every one when absent (uploads);
   * cameras take them in turn, one per frame (camera.ts), and the tracker carries what each found.
   */
  readonly privacyPasses?: PrivacyPasses;
  /** Keep the full-resolution pixels in the result, for callers that render a picture. */
  readonly keepPixels?: boolean;
}

export interface Analysis {
  /** The pixel space of every box below: the image's own (after EXIF rotation). */
  readonly width: number;
  readonly height: number;
  /** The full-resolution pixels when asked for (keepPixels) or when the input was pixels. */
  readonly image?: RgbImage;
  readonly format?: ImageFormat;
  readonly faces?: Detection[];
  readonly objects?: Detection[];
  readonly food?: Detection[];
  /** When asked (objectCandidates): every objects detection from that score up, and the report threshold that `objects` used. */
  readonly objectCandidates?: { readonly detections: Detection[]; readonly reportThreshold: number };
  /** What must be hidden; present when the request asked for privacy. */
  readonly privacy?: PrivacyRegion[];
  /** Milliseconds per step (decode, face, privacy passes, objects...). */
  readonly timings: Readonly<Record<string, number>>;
}

/** The reported detections of one task (`face` reports under `faces`). */
export function reportedFor(analysis: Analysis, task: Task): Detection[] {
  return (task === 'face' ? analysis.faces : analysis[task]) ?? [];
}
