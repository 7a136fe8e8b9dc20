/**
 * Snapshots of a camera's latest ANALYSED frame, rendered with that same frame's face boxes, so the anonymisation
 * always matches the picture. Privacy masks were applied when the frame arrived. Renders are cached by
 * (frame, mode, colour): several MJPEG viewers of one camera cost one encode per frame.
 */
import type { FaceBox } from '../raypack/wire.ts';
import { parseHexColour, renderFaces, renderFacesRaw, type FaceRender, type Rgb } from '../image/anonymize.ts';
import type { CameraFaceMode } from '../config/types.ts';
import type { Rect } from '../core/geometry.ts';
import { encodeJpeg } from '../image/encode.ts';
import type { AnalysisResult } from '../analysis/camera.ts';

/**
 * pixel/fill/black anonymise; `body` fills every region whole (persons too, on a camera analysed in body mode);
 * `default` (RAYPACK: boxes outlined, faces visible) and `raw` show faces.
 */
export const SNAPSHOT_MODES = ['pixel', 'fill', 'black', 'body', 'default', 'raw'] as const;
export type SnapshotMode = (typeof SNAPSHOT_MODES)[number];

export function showsFaces(mode: SnapshotMode): boolean {
  return mode === 'default' || mode === 'raw';
}

export function toRects(faces: readonly FaceBox[]): Rect[] {
  return faces.map((f) => ({ x: f.xpos, y: f.ypos, width: f.width, height: f.height }));
}

/** The camera's fill and outline colour (`hex`; green when it cannot be read). */
const colourOf = (hex: string): Rgb => parseHexColour(hex) ?? [0, 255, 0];
/** How a camera mode draws the privacy regions: `body` fills them (persons among them). */
const renderOf = (mode: CameraFaceMode): Exclude<FaceRender, 'outline'> => (mode === 'body' ? 'fill' : mode);

/** Reads `result.frame`'s pixels until the promise settles: the caller must hold the frame that long. */
export async function renderSnapshot(result: AnalysisResult, mode: SnapshotMode, hex: string, quality = 80): Promise<Buffer> {
  if (mode === 'raw') return encodeJpeg(result.frame, quality);
  if (mode === 'default') return renderFaces(result.frame, toRects(result.faces), 'outline', { colour: colourOf(hex), quality, mask: result.mask });
  return renderFaces(result.frame, result.privacy, renderOf(mode), { colour: colourOf(hex), quality, mask: result.mask });
}

/**
 * The same anonymisation as packed RGB of the frame's size, for encoders (HLS): only the modes a camera may use by
 * default, so faces are always hidden. Reads `result.frame`'s pixels until the promise settles.
 */
export async function renderAnonymisedRaw(result: AnalysisResult, mode: CameraFaceMode, hex: string): Promise<Buffer> {
  return renderFacesRaw(result.frame, result.privacy, renderOf(mode), { colour: colourOf(hex), mask: result.mask });
}

export class SnapshotCache {
  /** A few renders of the newest frames (different modes for different viewers), oldest evicted first. */
  private readonly entries = new Map<string, Promise<Buffer>>();
  private readonly capacity: number;

  constructor(capacity = 4) {
    this.capacity = capacity;
  }

  /** The JPEG for this result and mode (computed once per frame, mode and colour). */
  get(result: AnalysisResult, mode: SnapshotMode, hex: string): Promise<Buffer> {
    const key = `${result.frame.seq}:${mode}:${hex}`;
    let value = this.entries.get(key);
    if (!value) {
      // libvips reads the frame's pixels in place while it renders: hold the frame until the JPEG is done, so a
      // newer result replacing this one cannot hand the buffer to ffmpeg mid-render. The cached JPEG needs no frame.
      const ref = result.frame.ref?.retain();
      value = renderSnapshot(result, mode, hex);
      const done = (): void => ref?.release();
      value.then(done, done);
      this.entries.set(key, value);
      // A failed render must not stick.
      value.catch(() => this.entries.delete(key));
      while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }
}
