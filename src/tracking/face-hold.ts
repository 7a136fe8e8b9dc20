/**
 * Anonymisation must not flicker: a face the detector misses in one frame would appear unblurred in that
 * snapshot / MJPEG frame. This keeps each face box for `holdMs` after its last detection and adds the boxes not
 * matched by a current detection to what is anonymised. Published results stay the detector's own. Pure.
 */
import { iou, type Rect as Box } from '../core/geometry.ts';

interface Track {
  box: Box;
  lastSeen: number;
}

export class FaceHold {
  private tracks: Track[] = [];
  private readonly holdMs: number;
  private readonly minIou: number;

  constructor(options: { holdMs: number; minIou?: number }) {
    this.holdMs = options.holdMs;
    this.minIou = options.minIou ?? 0.2;
  }

  /** The boxes to anonymise at `now`: the current detections plus recently seen faces not detected now. */
  update(detected: readonly Box[], now: number): Box[] {
    const held: Track[] = [];
    for (const track of this.tracks) {
      if (now - track.lastSeen > this.holdMs) continue;
      if (!detected.some((d) => iou(d, track.box) >= this.minIou)) held.push(track);
    }
    this.tracks = [...detected.map((box) => ({ box, lastSeen: now })), ...held];
    return [...detected, ...held.map((t) => t.box)];
  }
}
