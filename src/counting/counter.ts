/**
 * Zone occupancy, zone entries and exits, dwell per track and line crossings per direction, from the object
 * tracker's updates (tracking/tracker.ts). Pure: no clock, no timers; times are the frames' (epoch ms on cameras).
 *
 * - A track's reference point is the bottom centre of its box for persons (where the feet are: a zone drawn on the
 *   floor is entered when the person stands in it, whatever their height in the picture) and the box centre for
 *   other labels. Only a track's SEEN boxes move it: a prediction through a miss never crosses anything.
 * - Tentative tracks (seen once) are not counted, and what a track counts is held back until it has been followed
 *   for `minTrackMs` (then applied with its times): a duplicate box of one person or a false detection that lives
 *   shorter counts nothing, and is not in any occupancy meanwhile.
 * - Hysteresis: a point counts as on one side of a line, or inside / outside a zone, only when it is at least
 *   `hysteresis` x the track's box height away from the line or the zone's edge (in the band it keeps the side it
 *   had). Jitter of the feet on a line never counts; the band scales with the person's size in the picture. A zone
 *   edge on the frame's border is left out (nothing stands beyond it).
 * - A crossing is counted when a track's definite side of a line changes and its move from the last definite point
 *   passes between the line's two ends. `left_to_right` is from the left of a->b to its right as seen on the
 *   screen (walking from a to b, the right hand side); a line's `in` names one of the two.
 * - Track breaks: a track that vanishes (missed, or ended by the tracker) is remembered for `rejoinMs` after it
 *   was last seen. A new track of the same label that is confirmed within that time, with its reference point within
 *   `rejoinDistance` x the vanished track's box height of where that one was last seen, CONTINUES it: it takes its
 *   line sides, the zones it was in and its dwell, so a person whose track breaks is neither counted twice nor
 *   missed when the break was on the line. The vanished track is retired (ignored if the tracker sees it again).
 *   Zone exits of a track that ended are counted only once nothing continued it within `rejoinMs`, at the time it
 *   was last seen.
 */
import type { EndedTrack, TrackInfo } from '../tracking/tracker.ts';
import { crossesSegment, depthInside, sideDistance, type Point } from './geometry.ts';

export type NormalisedPoint = readonly [number, number];

export interface ZoneSpec {
  readonly name: string;
  /** Polygon corners in 0-1 frame coordinates ([0, 0] top left, [1, 1] bottom right). */
  readonly points: readonly NormalisedPoint[];
  /** Labels counted here; absent: every tracked label. */
  readonly labels?: readonly string[];
}

export type CrossingDirection = 'left_to_right' | 'right_to_left';

export interface LineSpec {
  readonly name: string;
  readonly a: NormalisedPoint;
  readonly b: NormalisedPoint;
  /** Which crossing is `in` (the other is `out`). */
  readonly in: CrossingDirection;
  readonly labels?: readonly string[];
}

export interface CountingSettings {
  readonly zones: readonly ZoneSpec[];
  readonly lines: readonly LineSpec[];
  /** Share of the track's box height a point must be past a line or a zone edge to change side. */
  readonly hysteresis: number;
  readonly rejoinMs: number;
  /** In box heights of the vanished track. */
  readonly rejoinDistance: number;
  /** A track's entries, exits and crossings count once it has been followed this long (ms since its first sighting). */
  readonly minTrackMs: number;
}

/** The counting defaults (the configuration schema's `counting:` defaults are these, in seconds). */
export const DEFAULT_COUNTING = { hysteresis: 0.1, rejoinMs: 3000, rejoinDistance: 1, minTrackMs: 1000 } as const;

/** The totals a restart must not lose, by zone and line name (counting/persist.ts writes and reads them). */
export interface SavedCounts {
  readonly since: number;
  readonly zones: Readonly<Record<string, { readonly entered: number; readonly exited: number; readonly dwellMs: number }>>;
  readonly lines: Readonly<Record<string, { readonly in: number; readonly out: number }>>;
}

export interface ZoneCount {
  readonly name: string;
  /** Tracks in the zone now. */
  readonly occupancy: number;
  readonly entered: number;
  readonly exited: number;
  /** Mean stay of the exits counted since the reset, seconds (absent before the first). */
  readonly meanDwellSeconds?: number;
  /** Total stay of those exits, ms (what the mean is made of; kept across restarts). */
  readonly dwellMs: number;
  /** Ids of the tracks in the zone now. */
  readonly tracks: readonly number[];
}

export interface LineCount {
  readonly name: string;
  readonly in: number;
  readonly out: number;
}

export interface CountsSnapshot {
  /** Epoch ms of the last reset (or of the first frame). */
  readonly since: number;
  /** Grows by one whenever a count or an occupancy changes: publish when it moved. */
  readonly revision: number;
  readonly zones: readonly ZoneCount[];
  readonly lines: readonly LineCount[];
}

/** What the counter knows of one track, for its events. */
export interface TrackZones {
  /** Zones the track is in now. */
  readonly zones: readonly string[];
  /** Time spent in each zone by the track (and the tracks it continues), ms, the current stay up to its last sighting included. */
  readonly dwellMs: Readonly<Record<string, number>>;
  /** The id of the vanished track this one continues, when it does. */
  readonly continues?: number;
}

interface Followed {
  readonly id: number;
  readonly label: string;
  readonly firstSeenMs: number;
  /** What the track counted while younger than minTrackMs, applied once it is that old; undefined once counted. */
  pending: Array<() => void> | undefined;
  point: Point;
  height: number;
  /** The tracker's velocity at the last sighting, px/s. */
  velocity: Point;
  lastSeenMs: number;
  /** Per line: the definite side (-1 left, +1 right) and where it was last seen on it. */
  sides: Map<string, { side: -1 | 1; at: Point }>;
  /** Zones it is in, with the time it entered. */
  inside: Map<string, number>;
  /** Completed stays per zone, ms. */
  dwell: Map<string, number>;
  continues?: number;
}

interface Geometry {
  readonly width: number;
  readonly height: number;
  readonly zones: ReadonlyArray<{ readonly polygon: Point[]; readonly onBorder: boolean[] }>;
  readonly lines: ReadonlyArray<readonly [Point, Point]>;
}

interface ZoneState {
  readonly spec: ZoneSpec;
  entered: number;
  exited: number;
  dwellMs: number;
}

interface LineState {
  readonly spec: LineSpec;
  in: number;
  out: number;
}

export class ZoneCounter {
  private readonly settings: CountingSettings;
  private readonly zones: ZoneState[];
  private readonly lines: LineState[];
  private readonly followed = new Map<number, Followed>();
  /** Tracks the tracker ended, kept for rejoinMs after their last sighting. */
  private gone: Followed[] = [];
  /** Vanished tracks another one continued: ignored if seen again, forgotten when the tracker ends them. */
  private readonly retired = new Set<number>();
  private since: number | undefined;
  private revision = 0;

  constructor(settings: CountingSettings) {
    this.settings = settings;
    this.zones = settings.zones.map((spec) => ({ spec, entered: 0, exited: 0, dwellMs: 0 }));
    this.lines = settings.lines.map((spec) => ({ spec, in: 0, out: 0 }));
  }

  /** One tracker update (its live tracks and the ones it ended) for a frame of width x height px at `now`. */
  update(update: { readonly boxes: readonly TrackInfo[]; readonly ended: readonly EndedTrack[] }, width: number, height: number, now: number): void {
    this.since ??= now;
    const scale = (p: NormalisedPoint): Point => ({ x: p[0] * width, y: p[1] * height });
    const geometry: Geometry = {
      width,
      height,
      zones: this.zones.map((z) => ({ polygon: z.spec.points.map(scale), onBorder: borderEdges(z.spec.points) })),
      lines: this.lines.map((l) => [scale(l.spec.a), scale(l.spec.b)] as const),
    };
    for (const track of update.ended) this.vanish(track.id);
    this.expire(now);
    const seen = update.boxes.filter((t) => !this.retired.has(t.id) && t.state === 'seen' && t.confirmed && t.label !== undefined);
    const seenIds = new Set(seen.map((t) => t.id));
    // Tracks followed already move first; then the new ones, which may continue a followed track not seen now.
    const known = seen.filter((t) => this.followed.has(t.id));
    for (const track of known) this.move(this.followed.get(track.id)!, track, now, geometry);
    for (const track of seen.filter((t) => !this.followed.has(t.id))) {
      const point = insideFrame(referencePoint(track), geometry);
      const f = this.rejoin(track, point, now, seenIds) ?? {
        id: track.id,
        label: track.label!,
        firstSeenMs: track.firstSeenMs,
        pending: [],
        point,
        height: track.box.height,
        velocity: track.velocity,
        lastSeenMs: now,
        sides: new Map(),
        inside: new Map(),
        dwell: new Map(),
      };
      this.followed.set(track.id, f);
      this.move(f, track, now, geometry);
    }
  }

  /** Zero the counts (entries, exits, crossings, dwell means) at `now`; occupancy is "now" and stays. */
  reset(now: number): void {
    for (const z of this.zones) Object.assign(z, { entered: 0, exited: 0, dwellMs: 0 });
    for (const l of this.lines) Object.assign(l, { in: 0, out: 0 });
    this.since = now;
    this.revision += 1;
  }

  /**
   * Carries on from counts saved before a restart (counting/persist.ts): each zone's and line's totals by name
   * (zones and lines no longer configured are dropped, new ones start at 0) and their `since`. Occupancy is not
   * restored: who is in a zone now is for the tracks to tell.
   */
  restore(saved: SavedCounts): void {
    for (const z of this.zones) {
      const c = saved.zones[z.spec.name];
      if (c) Object.assign(z, { entered: c.entered, exited: c.exited, dwellMs: c.dwellMs });
    }
    for (const l of this.lines) {
      const c = saved.lines[l.spec.name];
      if (c) Object.assign(l, { in: c.in, out: c.out });
    }
    this.since = saved.since;
    this.revision += 1;
  }

  snapshot(): CountsSnapshot {
    const live = [...this.followed.values()].filter((f) => f.pending === undefined);
    return {
      since: this.since ?? 0,
      revision: this.revision,
      zones: this.zones.map((z) => {
        const tracks = live.filter((f) => f.inside.has(z.spec.name)).map((f) => f.id);
        return {
          name: z.spec.name,
          occupancy: tracks.length,
          entered: z.entered,
          exited: z.exited,
          dwellMs: z.dwellMs,
          ...(z.exited > 0 ? { meanDwellSeconds: Math.round(z.dwellMs / z.exited / 100) / 10 } : {}),
          tracks,
        };
      }),
      lines: this.lines.map((l) => ({ name: l.spec.name, in: l.in, out: l.out })),
    };
  }

  /** The zones of a followed track and its dwell (for its events); undefined for a track not counted. */
  zonesOf(id: number): TrackZones | undefined {
    const f = this.followed.get(id) ?? this.gone.find((g) => g.id === id);
    if (!f) return undefined;
    const dwellMs: Record<string, number> = Object.fromEntries(f.dwell);
    for (const [zone, since] of f.inside) dwellMs[zone] = (dwellMs[zone] ?? 0) + (f.lastSeenMs - since);
    return { zones: [...f.inside.keys()], dwellMs, ...(f.continues !== undefined ? { continues: f.continues } : {}) };
  }

  private move(f: Followed, track: TrackInfo, now: number, geometry: Geometry): void {
    const point = insideFrame(referencePoint(track), geometry);
    const boxHeight = track.box.height;
    const margin = this.settings.hysteresis * boxHeight;
    this.lines.forEach((line, i) => {
      if (!counts(line.spec.labels, f.label)) return;
      const [a, b] = geometry.lines[i];
      const d = sideDistance(a, b, point);
      if (Math.abs(d) < margin) return;
      const side = d > 0 ? 1 : -1;
      const before = f.sides.get(line.spec.name);
      if (before && before.side !== side && crossesSegment(a, b, before.at, point)) {
        const direction: CrossingDirection = side === 1 ? 'left_to_right' : 'right_to_left';
        this.tally(f, () => (direction === line.spec.in ? (line.in += 1) : (line.out += 1)));
      }
      f.sides.set(line.spec.name, { side, at: point });
    });
    this.zones.forEach((zone, i) => {
      if (!counts(zone.spec.labels, f.label)) return;
      const { polygon, onBorder } = geometry.zones[i];
      const depth = depthInside(polygon, point, (edge) => onBorder[edge]);
      const name = zone.spec.name;
      if (!f.inside.has(name) && depth >= margin) {
        f.inside.set(name, now);
        this.tally(f, () => (zone.entered += 1));
      } else if (f.inside.has(name) && depth <= -margin) {
        this.leave(f, zone, now);
      }
    });
    f.point = point;
    f.height = boxHeight;
    f.velocity = track.velocity;
    f.lastSeenMs = now;
    if (f.pending && now - f.firstSeenMs >= this.settings.minTrackMs) {
      for (const apply of f.pending) apply();
      f.pending = undefined;
      this.revision += 1;
    }
  }

  /** A count of track f: now, or once the track is old enough (a duplicate or false detection that dies young counts nothing). */
  private tally(f: Followed, apply: () => void): void {
    if (f.pending) {
      f.pending.push(apply);
      return;
    }
    apply();
    this.revision += 1;
  }

  private leave(f: Followed, zone: ZoneState, at: number): void {
    const name = zone.spec.name;
    const stay = Math.max(0, at - f.inside.get(name)!);
    f.inside.delete(name);
    f.dwell.set(name, (f.dwell.get(name) ?? 0) + stay);
    this.tally(f, () => {
      zone.exited += 1;
      zone.dwellMs += stay;
    });
  }

  /** A tracker-ended track: kept as a candidate for rejoinMs (its zone exits wait until then). */
  private vanish(id: number): void {
    if (this.retired.delete(id)) return;
    const f = this.followed.get(id);
    if (!f) return;
    this.followed.delete(id);
    // A track that ended younger than minTrackMs counted nothing and continues into nothing.
    if (f.pending) return;
    this.gone.push(f);
    if (f.inside.size > 0) this.revision += 1;
  }

  /** Ended tracks nothing continued within rejoinMs leave their zones at their last sighting. */
  private expire(now: number): void {
    const keep: Followed[] = [];
    for (const f of this.gone) {
      if (now - f.lastSeenMs <= this.settings.rejoinMs) {
        keep.push(f);
        continue;
      }
      for (const zone of this.zones) if (f.inside.has(zone.spec.name)) this.leave(f, zone, f.lastSeenMs);
    }
    this.gone = keep;
  }

  /**
   * The vanished track a newly confirmed one continues, if any: same label, last seen within rejoinMs before this
   * one's first sighting, and nearest within rejoinDistance box heights of where it was last seen or of where it
   * would be now had it walked on at its last velocity (a person who walks on through a break, or one who stopped).
   * Candidates are the ended tracks kept and the live ones the tracker is predicting through a miss.
   */
  private rejoin(track: TrackInfo, point: Point, now: number, seenNow: ReadonlySet<number>): Followed | undefined {
    const { rejoinMs, rejoinDistance } = this.settings;
    const missing = [...this.followed.values()].filter((f) => !seenNow.has(f.id) && f.pending === undefined);
    let best: { f: Followed; distance: number } | undefined;
    for (const f of [...this.gone, ...missing]) {
      // Seen together with the new track at some point: two people, not one track broken.
      if (f.label !== track.label || f.lastSeenMs >= track.firstSeenMs || track.firstSeenMs - f.lastSeenMs > rejoinMs) continue;
      const gap = (now - f.lastSeenMs) / 1000;
      const walkedOn = { x: f.point.x + f.velocity.x * gap, y: f.point.y + f.velocity.y * gap };
      const distance = Math.min(Math.hypot(point.x - f.point.x, point.y - f.point.y), Math.hypot(point.x - walkedOn.x, point.y - walkedOn.y));
      if (distance <= rejoinDistance * f.height && (!best || distance < best.distance)) best = { f, distance };
    }
    if (!best) return undefined;
    const old = best.f;
    this.revision += 1;
    if (this.followed.delete(old.id)) this.retired.add(old.id);
    this.gone = this.gone.filter((g) => g !== old);
    return { ...old, id: track.id, firstSeenMs: track.firstSeenMs, continues: old.id, sides: new Map(old.sides), inside: new Map(old.inside), dwell: new Map(old.dwell) };
  }
}

/**
 * Which edges of a zone lie on the frame's border (edge i from corner i - 1 to corner i): nobody can stand
 * beyond them, so they are no edge to be clearly past. Without this, a person whose feet are cut off at the bottom
 * of the picture would never be "clearly inside" a zone drawn down to the bottom.
 */
function borderEdges(points: readonly NormalisedPoint[]): boolean[] {
  return points.map((p, i) => {
    const q = points[(i + points.length - 1) % points.length];
    return [0, 1].some((axis) => [0, 1].some((edge) => p[axis] === edge && q[axis] === edge));
  });
}

/**
 * The point moved half a pixel inside the frame when it lies on or past its border: the feet of a person cut off
 * at the bottom of the picture are on the border, which belongs to a zone drawn down to it.
 */
function insideFrame(p: Point, g: Pick<Geometry, 'width' | 'height'>): Point {
  return { x: Math.min(g.width - 0.5, Math.max(0.5, p.x)), y: Math.min(g.height - 0.5, Math.max(0.5, p.y)) };
}

/** Where a track stands: the bottom centre of a person's box (the feet), the centre of any other box. */
export function referencePoint(track: Pick<TrackInfo, 'box' | 'label'>): Point {
  const b = track.box;
  return { x: b.x + b.width / 2, y: track.label === 'person' ? b.y + b.height : b.y + b.height / 2 };
}

function counts(labels: readonly string[] | undefined, label: string): boolean {
  return labels === undefined || labels.includes(label);
}
