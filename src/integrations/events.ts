/**
 * Recent events, as an extension: once a second each camera's view (faces, people, objects, food, state) is
 * compared with the last one and every change becomes an event in a bounded ring (newest first for readers).
 * What the dashboard lists until tracked events (issue 12) replace it.
 */
import type { Camera } from '../camera/camera.ts';
import type { Lang } from '../detect/labels.ts';
import type { CameraViewPayload } from '../mqtt/topics.ts';
import { cameraView } from './homeassistant/view.ts';

export interface CameraEvent {
  readonly time: number;
  readonly camera: string;
  readonly kind: 'state' | 'faces' | 'people' | 'objects' | 'food';
  readonly from: string | number;
  readonly to: string | number;
}

export interface RecentEventsDeps {
  readonly cameras: () => ReadonlyMap<string, Camera>;
  readonly lang: Lang;
  /** Events kept (default 100). */
  readonly capacity?: number;
}

const KINDS = ['state', 'faces', 'people', 'objects', 'food'] as const;

/** The changes between two views of one camera, as events. */
export function viewChanges(before: CameraViewPayload | undefined, after: CameraViewPayload, time: number): CameraEvent[] {
  if (!before) return [{ time, camera: after.camera, kind: 'state', from: '', to: after.state }];
  return KINDS.filter((k) => before[k] !== after[k]).map((kind) => ({ time, camera: after.camera, kind, from: before[kind], to: after[kind] }));
}

export class RecentEvents {
  private readonly deps: RecentEventsDeps;
  private readonly events: CameraEvent[] = [];
  private readonly views = new Map<string, CameraViewPayload>();
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: RecentEventsDeps) {
    this.deps = deps;
  }

  start(): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Newest first, at most `limit`. */
  recent(limit = 50): CameraEvent[] {
    return this.events.slice(-limit).reverse();
  }

  private poll(): void {
    const now = Date.now();
    const capacity = this.deps.capacity ?? 100;
    for (const camera of this.deps.cameras().values()) {
      const view = cameraView(camera.status(), camera.latestResult(), camera.config.fps, this.deps.lang, now);
      this.events.push(...viewChanges(this.views.get(camera.id), view, now));
      this.views.set(camera.id, view);
    }
    if (this.events.length > capacity) this.events.splice(0, this.events.length - capacity);
  }
}
