/**
 * Track events from the tracker's updates (pure, no clock): `new` when a track is confirmed (seen twice: a
 * one-frame false detection makes no event), `update` while it is seen, at most one per `updateIntervalMs`,
 * and `end` once it has been unseen past the tracker's limit (or the tracker was cleared). Each track that had a
 * `new` gets exactly one `end`. Times are the tracker's (the frames' capture time, epoch ms for cameras).
 */
import type { EndedTrack, TrackerUpdate, TrackInfo } from './tracker.ts';

export interface TrackEvent {
  readonly type: 'new' | 'update' | 'end';
  readonly id: number;
  readonly label: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly bestScore: number;
  /** `privacy`: a hidden region's track (face, head, person body); `object`: a tracked object detection (analysis/object-tracking.ts). */
  readonly kind?: 'privacy' | 'object';
  /** Object tracks on a camera with zones: the zones the track is in now. */
  readonly zones?: readonly string[];
  /** Object tracks on a camera with zones: seconds the track has spent in each zone it visited. */
  readonly dwell?: Readonly<Record<string, number>>;
  /** The id of the broken-off track this one continues (counting's rejoin rule), when it does. */
  readonly continues?: number;
}

export const DEFAULT_EVENT_UPDATE_MS = 5000;

export class TrackEvents {
  private readonly updateIntervalMs: number;
  /** Announced tracks: when their last event was sent. */
  private readonly announced = new Map<number, number>();

  constructor(options: { updateIntervalMs?: number } = {}) {
    this.updateIntervalMs = options.updateIntervalMs ?? DEFAULT_EVENT_UPDATE_MS;
  }

  /** The events of one tracker update at `now`. */
  next(update: Pick<TrackerUpdate, 'boxes' | 'ended'>, now: number): TrackEvent[] {
    const events: TrackEvent[] = [];
    for (const track of update.ended) {
      if (this.announced.delete(track.id)) events.push(event('end', track));
    }
    for (const track of update.boxes) {
      const last = this.announced.get(track.id);
      if (last === undefined) {
        if (!track.confirmed) continue;
        this.announced.set(track.id, now);
        events.push(event('new', track));
      } else if (track.state === 'seen' && now - last >= this.updateIntervalMs) {
        this.announced.set(track.id, now);
        events.push(event('update', track));
      }
    }
    return events;
  }

  /** `end` for every announced track among `ended` (a camera that stops: Tracker.clear()). */
  endAll(ended: readonly EndedTrack[]): TrackEvent[] {
    return this.next({ boxes: [], ended }, Number.NaN);
  }
}

function event(type: TrackEvent['type'], track: TrackInfo): TrackEvent {
  return { type, id: track.id, label: track.label ?? 'face', firstSeen: track.firstSeenMs, lastSeen: track.lastSeenMs, bestScore: track.bestScore };
}
