/**
 * Anonymised JPEGs of a camera's latest track events, one per track: taken from the frame of its `new` event and
 * taken again when an `update` reports a better score (a clearer view of the same person, still anonymised).
 * At most `capacity` tracks are kept, the least recently taken evicted first, so memory stays bounded
 * (capacity x one JPEG). The JPEG is rendered by the camera's SnapshotCache in its facemode, the same render as
 * snapshot.jpg and MJPEG: faces hidden, fail closed (a render that fails keeps nothing).
 */
import type { TrackEvent } from '../tracking/events.ts';

interface Entry {
  readonly jpeg: Promise<Buffer>;
  readonly score: number;
}

export class EventSnapshots {
  private readonly capacity: number;
  private readonly entries = new Map<number, Entry>();

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
  }

  /** Path of a track's snapshot below the camera's routes. */
  static path(camera: string, track: number): string {
    return `/cameras/${camera}/events/${track}.jpg`;
  }

  /**
   * Takes the event's snapshot when it is worth one (`render` is called then, synchronously, with the event's
   * frame still held) and tells whether the track has one now.
   */
  record(event: TrackEvent, render: () => Promise<Buffer>): boolean {
    if (this.capacity === 0) return false;
    const held = this.entries.get(event.id);
    const take = event.type === 'new' ? !held : event.type === 'update' && held !== undefined && event.bestScore > held.score;
    if (take) {
      const jpeg = render();
      // A failed render keeps nothing: the route answers 404 rather than a picture it cannot vouch for.
      jpeg.catch(() => {
        if (this.entries.get(event.id)?.jpeg === jpeg) this.entries.delete(event.id);
      });
      this.entries.delete(event.id);
      this.entries.set(event.id, { jpeg, score: event.bestScore });
      while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    return this.entries.has(event.id);
  }

  /** The JPEG of a track, undefined once evicted (or never taken). */
  get(track: number): Promise<Buffer> | undefined {
    return this.entries.get(track)?.jpeg;
  }

  get size(): number {
    return this.entries.size;
  }
}
