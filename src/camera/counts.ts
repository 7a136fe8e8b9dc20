/**
 * A camera's zone and line counts on the output side: the retained MQTT counters (published when a zone's or a
 * line's numbers change, so a subscriber that arrives late reads the day's counts), and their view for `/cameras`,
 * `/metrics` and the dashboard: the configured geometry with the latest counts. The analysis produces the counts
 * (analysis/object-tracking.ts); this only reads them.
 */
import type { CountsSnapshot } from '../counting/counter.ts';
import type { CameraConfig, LineConfig, Point } from '../config/types.ts';
import type { MqttPublisher } from '../mqtt/client.ts';
import { encodePayload, type LineCountPayload, type Topics, type ZoneCountPayload } from '../mqtt/topics.ts';

export interface ZoneStatus {
  readonly name: string;
  readonly points: readonly Point[];
  readonly occupancy: number;
  readonly entered: number;
  readonly exited: number;
  readonly meanDwellSeconds?: number;
}

export interface LineStatus {
  readonly name: string;
  readonly a: Point;
  readonly b: Point;
  readonly in: LineConfig['in'];
  readonly counts: { readonly in: number; readonly out: number };
}

/** In `/cameras`: the camera's zones and lines with their counts since `since` (absent: nothing counted yet). */
export interface CountingStatus {
  readonly since?: number;
  readonly zones: readonly ZoneStatus[];
  readonly lines: readonly LineStatus[];
}

export function countingStatus(config: CameraConfig, counts: CountsSnapshot | undefined): CountingStatus {
  const zone = (name: string) => counts?.zones.find((z) => z.name === name);
  const line = (name: string) => counts?.lines.find((l) => l.name === name);
  return {
    ...(counts ? { since: counts.since } : {}),
    zones: config.zones.map((z) => {
      const c = zone(z.name);
      return { name: z.name, points: z.points, occupancy: c?.occupancy ?? 0, entered: c?.entered ?? 0, exited: c?.exited ?? 0, ...(c?.meanDwellSeconds !== undefined ? { meanDwellSeconds: c.meanDwellSeconds } : {}) };
    }),
    lines: config.lines.map((l) => ({ name: l.name, a: l.a, b: l.b, in: l.in, counts: { in: line(l.name)?.in ?? 0, out: line(l.name)?.out ?? 0 } })),
  };
}

/** Publishes the retained counters of one camera whenever their numbers change. */
export class CountsPublisher {
  private readonly camera: string;
  private readonly topics: Topics;
  /** What was last published per topic, without its time. */
  private readonly last = new Map<string, string>();
  private revision = -1;

  constructor(camera: string, topics: Topics) {
    this.camera = camera;
    this.topics = topics;
  }

  offer(publisher: MqttPublisher, counts: CountsSnapshot | undefined, now: number): void {
    if (!counts || counts.revision === this.revision) return;
    this.revision = counts.revision;
    for (const z of counts.zones) {
      const body = { camera: this.camera, zone: z.name, occupancy: z.occupancy, entered: z.entered, exited: z.exited, ...(z.meanDwellSeconds !== undefined ? { mean_dwell_seconds: z.meanDwellSeconds } : {}), tracks: z.tracks, since: counts.since };
      this.send(publisher, this.topics.zone(this.camera, z.name), body, (b) => encodePayload('zone', { ...b, time: now } as ZoneCountPayload));
    }
    for (const l of counts.lines) {
      const body = { camera: this.camera, line: l.name, in: l.in, out: l.out, since: counts.since };
      this.send(publisher, this.topics.line(this.camera, l.name), body, (b) => encodePayload('line', { ...b, time: now } as LineCountPayload));
    }
  }

  private send<T>(publisher: MqttPublisher, topic: string, body: T, encode: (body: T) => Buffer): void {
    const key = JSON.stringify(body);
    if (this.last.get(topic) === key) return;
    this.last.set(topic, key);
    publisher.publish(topic, encode(body), { retain: true });
  }
}
