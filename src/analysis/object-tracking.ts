/**
 * A camera's object tracks and what they count: the reported object detections of the labels the camera tracks
 * (default `person`) through a tracker of their own (tracking/tracker.ts, sharing the camera's TrackIds with the
 * privacy tracker, so an id names one track of either kind), their events (new / update / end, `kind: object`, with
 * the zones each is in and its dwell), and the zone and line counts (counting/counter.ts), reset once a day.
 * Pure: the frames' times drive everything (tests run it on fake time).
 */
import { ZoneCounter, type CountingSettings, type CountsSnapshot, type SavedCounts } from '../counting/counter.ts';
import { DailyReset } from '../counting/reset.ts';
import type { Detection } from '../detect/types.ts';
import { TrackEvents, type TrackEvent } from '../tracking/events.ts';
import { Tracker, type TrackIds, type TrackInfo } from '../tracking/tracker.ts';

export interface ObjectTrackingSettings {
  /** COCO labels to track (`person`, `car`...). */
  readonly labels: readonly string[];
  /** A track ends once unseen for this long. */
  readonly maxMissedMs: number;
  /** Least time between two `update` events of one track. */
  readonly eventUpdateMs: number;
  readonly counting: CountingSettings;
  /** Local time of day the counts reset ("HH:MM"). */
  readonly resetAt: string;
  /** Counts saved before a restart, of the current counting day (counting/persist.ts): counting carries on from them. */
  readonly restored?: SavedCounts;
}

/** An object track in a frame, for renderers (the dashboard) and the API: where it is and what it is. */
export interface ObjectTrack {
  readonly id: number;
  readonly label: string;
  /** Frame px: the detection when seen, the tracker's grown prediction when missed. */
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  readonly state: 'seen' | 'predicted';
}

export interface ObjectTrackingStep {
  readonly tracks: readonly ObjectTrack[];
  readonly events: readonly TrackEvent[];
  readonly counts: CountsSnapshot;
}

/**
 * The least objects score that continues an object track (ByteTrack's low threshold, 0.1). Why: a person the
 * objects model scores under the report threshold for a few frames (turned away, half behind a shelf) would end
 * the track and start another, counted again or never counted. On our counting video (docs/COUNTING.md) NanoDet at
 * its default 0.35 counted 1 of 6 line crossings with the reported detections alone.
 */
export const OBJECT_CANDIDATE_SCORE = 0.1;

export class ObjectTracking {
  private readonly settings: ObjectTrackingSettings;
  private readonly ids: TrackIds;
  private tracker: Tracker | undefined;
  private readonly events: TrackEvents;
  private readonly counter: ZoneCounter;
  private readonly reset: DailyReset;
  private readonly labels: ReadonlySet<string>;

  constructor(settings: ObjectTrackingSettings, ids: TrackIds) {
    this.settings = settings;
    this.labels = new Set(settings.labels);
    this.ids = ids;
    this.events = new TrackEvents({ updateIntervalMs: settings.eventUpdateMs });
    this.counter = new ZoneCounter(settings.counting);
    if (settings.restored) this.counter.restore(settings.restored);
    this.reset = new DailyReset(settings.resetAt);
  }

  /**
   * One analysed frame's objects (frame px) at `time` (the frame's epoch ms). `reportThreshold` is the camera's
   * objects threshold: detections from it up start and continue tracks; those below it (down to
   * OBJECT_CANDIDATE_SCORE, when the caller passes them) only continue a track where one already is, ByteTrack's
   * second stage. 0 (default): every detection given may start a track.
   */
  step(objects: readonly Detection[], width: number, height: number, time: number, reportThreshold = 0): ObjectTrackingStep {
    if (this.reset.due(time)) this.counter.reset(time);
    const detections = objects
      .filter((d) => this.labels.has(d.label))
      .map((d) => ({ box: { x: d.box[0], y: d.box[1], width: d.box[2], height: d.box[3] }, score: d.score, label: d.label }));
    this.tracker ??= new Tracker(
      {
        highScore: reportThreshold,
        lowScore: Math.min(OBJECT_CANDIDATE_SCORE, reportThreshold),
        maxMissedMs: this.settings.maxMissedMs,
        tentativeMaxMissedMs: Math.min(600, this.settings.maxMissedMs),
      },
      this.ids,
    );
    const update = this.tracker.update(detections, time);
    this.counter.update(update, width, height, time);
    const events = this.events.next(update, time).map((e) => this.decorate(e));
    return { tracks: update.boxes.map(toObjectTrack), events, counts: this.counter.snapshot() };
  }

  private decorate(e: TrackEvent): TrackEvent {
    const zones = this.settings.counting.zones.length > 0 ? this.counter.zonesOf(e.id) : undefined;
    if (!zones) return { ...e, kind: 'object' };
    const dwell = Object.fromEntries(Object.entries(zones.dwellMs).map(([zone, ms]) => [zone, Math.round(ms / 100) / 10]));
    return { ...e, kind: 'object', zones: zones.zones, dwell, ...(zones.continues !== undefined ? { continues: zones.continues } : {}) };
  }
}

function toObjectTrack(t: TrackInfo): ObjectTrack {
  return { id: t.id, label: t.label ?? 'object', box: t.box, state: t.state };
}
