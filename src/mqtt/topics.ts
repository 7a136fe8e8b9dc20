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

export interface TopicPayloads {
  readonly deviceStatus: DeviceStatusPayload;
  readonly cameraStatus: CameraStatusPayload;
  readonly face: FaceMessage;
  readonly objects: FileContainerMessage;
  readonly food: FileContainerMessage;
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

  /** Subscription covering everything this device publishes. */
  all(): string {
    return `${this.base}/${this.device}/#`;
  }
}

/** The wire form: plain text for the device status, JSON for the rest. */
export function encodePayload<K extends keyof TopicPayloads>(_kind: K, payload: TopicPayloads[K]): Buffer {
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
}
