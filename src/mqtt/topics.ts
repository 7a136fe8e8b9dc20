/**
 * Every MQTT topic the daemon publishes and the type of its payload, in ONE place. Consumers subscribe to
 * `raypack/<device>/#`. Result payloads are RAYPACK JSON (the same shapes as the HTTP API) plus where and when
 * the frame came from.
 */
import type { CameraState } from '../camera/supervisor.ts';

/** `raypack/<device>/status`: retained; `offline` is also the last will, so a crash shows up too. */
export type DeviceStatusPayload = 'online' | 'offline';

/** Where a result came from; added to each RAYPACK result published for a camera. */
export interface FrameOrigin {
  readonly camera: string;
  /** Wall-clock ms when the analysed frame arrived from ffmpeg. */
  readonly frametime: number;
  /** Per-camera frame sequence number. */
  readonly sequence: number;
}

/** `raypack/<device>/<camera>/status`: retained JSON. */
export interface CameraStatusPayload {
  readonly camera: string;
  readonly state: CameraState;
  readonly fps: number;
  readonly frames: { readonly received: number; readonly analysed: number; readonly dropped: number };
  readonly restarts: number;
  readonly stalls: number;
  readonly lasterror?: string;
  readonly time: number;
}

/** RAYPACK face result (`/raypackfacev3` JSON) + origin. */
export interface FaceMessage extends FrameOrigin {
  readonly totalfaces: number;
  readonly time: number;
  readonly faces: ReadonlyArray<{ xpos: number; ypos: number; width: number; height: number; score: number }>;
}

/** RAYPACK `Raypack_AI_Filecontainer` + origin, for objects and food. */
export interface FileContainerMessage extends FrameOrigin {
  readonly name: 'Raypack_AI_Filecontainer';
  readonly version: string;
  readonly results: unknown;
  readonly [key: string]: unknown;
}

export type ResultKind = 'face' | 'objects' | 'food';

/**
 * `raypack/<device>/<camera>/view`: retained JSON, what the camera sees now in numbers and words (for Home
 * Assistant's entities and other dashboards). Published when it changes and at the heartbeat.
 */
export interface CameraViewPayload {
  readonly camera: string;
  readonly state: CameraState;
  /** True while the camera streams and its latest analysis is recent; the numbers below mean "now" only then. */
  readonly fresh: boolean;
  readonly faces: number;
  /** Persons the object detector sees: 1 when at least one is seen (the analysis reports labels, not counts yet), 0 otherwise. */
  readonly people: number;
  /** `ON` when a face or a person is seen (Home Assistant's binary_sensor payload), else `OFF`. */
  readonly occupancy: 'ON' | 'OFF';
  /** Object tags of the latest analysis, comma-separated, best first (at most 255 characters, Home Assistant's state limit). */
  readonly objects: string;
  readonly food: string;
  /** ms epoch of the analysed frame, absent before the first analysis. */
  readonly frametime?: number;
}

/**
 * `raypack/<device>/<camera>/events`: one message per track event (not retained). Two kinds of track share one id
 * space: `privacy`, the hidden regions (label `face`, `head` or `person`; `end` once unseen for
 * privacy.max_missed_seconds), and `object`, the object detections of tracking.labels on a camera with the objects
 * task (`end` once unseen for tracking.max_missed_seconds). `new` once a track is confirmed (seen in two frames),
 * `update` while it is seen (at most one per 5 s), `end`. Times are epoch ms of the frames.
 */
export interface TrackEventPayload {
  readonly camera: string;
  readonly type: 'new' | 'update' | 'end';
  readonly id: number;
  readonly label: string;
  readonly first_seen: number;
  readonly last_seen: number;
  readonly best_score: number;
  /** When the event was published (epoch ms). */
  readonly time: number;
  readonly kind?: 'privacy' | 'object';
  /** Object tracks on a camera with zones: the zones the track is in now. */
  readonly zones?: readonly string[];
  /** Object tracks on a camera with zones: seconds spent in each zone visited (on `end`: the whole stay). */
  readonly dwell?: Readonly<Record<string, number>>;
  /** The id of the broken-off track this one continues (docs/COUNTING.md). */
  readonly continues?: number;
  /**
   * Path (below the daemon's HTTP address) of the track's anonymised JPEG, from the frame of its `new` event or a
   * later better-scored one; absent when none is kept (camera event_snapshots: 0, or evicted). 404 once evicted.
   */
  readonly snapshot?: string;
}

/**
 * `raypack/<device>/<camera>/zones/<zone>`: retained JSON, published when it changes. Entries and exits count
 * from `since` (the last daily reset, counting.reset_time); occupancy is now.
 */
export interface ZoneCountPayload {
  readonly camera: string;
  readonly zone: string;
  readonly occupancy: number;
  readonly entered: number;
  readonly exited: number;
  /** Mean stay of the exits since the reset, seconds; absent before the first exit. */
  readonly mean_dwell_seconds?: number;
  /** Ids of the object tracks in the zone now (the ids of their events). */
  readonly tracks: readonly number[];
  /** Epoch ms of the last reset. */
  readonly since: number;
  readonly time: number;
}

/** `raypack/<device>/<camera>/lines/<line>`: retained JSON, published when it changes; crossings since `since`. */
export interface LineCountPayload {
  readonly camera: string;
  readonly line: string;
  readonly in: number;
  readonly out: number;
  readonly since: number;
  readonly time: number;
}

export interface TopicPayloads {
  readonly deviceStatus: DeviceStatusPayload;
  readonly cameraStatus: CameraStatusPayload;
  readonly face: FaceMessage;
  readonly objects: FileContainerMessage;
  readonly food: FileContainerMessage;
  readonly view: CameraViewPayload;
  readonly events: TrackEventPayload;
  readonly zone: ZoneCountPayload;
  readonly line: LineCountPayload;
  /** `raypack/<device>/<camera>/snapshot`: the anonymised JPEG (camera facemode), for Home Assistant's image entity. Not retained. */
  readonly snapshot: Buffer;
  /** `<prefix>/<component>/<node>/<object>/config`: Home Assistant discovery (retained; empty removes the entity). */
  readonly haConfig: Record<string, unknown>;
}

export class Topics {
  readonly base: string;
  readonly device: string;

  constructor(base: string, device: string) {
    this.base = base.replace(/\/+$/, '');
    this.device = device;
  }

  deviceStatus(): string {
    return `${this.base}/${this.device}/status`;
  }

  cameraStatus(camera: string): string {
    return `${this.base}/${this.device}/${camera}/status`;
  }

  result(camera: string, kind: ResultKind): string {
    return `${this.base}/${this.device}/${camera}/${kind}`;
  }

  view(camera: string): string {
    return `${this.base}/${this.device}/${camera}/view`;
  }

  events(camera: string): string {
    return `${this.base}/${this.device}/${camera}/events`;
  }

  zone(camera: string, zone: string): string {
    return `${this.base}/${this.device}/${camera}/zones/${zone}`;
  }

  line(camera: string, line: string): string {
    return `${this.base}/${this.device}/${camera}/lines/${line}`;
  }

  snapshot(camera: string): string {
    return `${this.base}/${this.device}/${camera}/snapshot`;
  }

  /** Subscription covering everything this device publishes. */
  all(): string {
    return `${this.base}/${this.device}/#`;
  }
}

/** Home Assistant discovery topics: `<prefix>/<component>/<node_id>/<object_id>/config`. */
export function haConfigTopic(prefix: string, component: string, nodeId: string, objectId: string): string {
  return `${prefix.replace(/\/+$/, '')}/${component}/${nodeId}/${objectId}/config`;
}

/** The wire form: plain text for the device status, bytes for images, JSON for the rest. */
export function encodePayload<K extends keyof TopicPayloads>(_kind: K, payload: TopicPayloads[K]): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

/** Whether `topic` matches the subscription `filter` (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
