/**
 * Camera frames → the shared inference queue. Per camera, latest frame wins: at most one frame is being analysed
 * and at most one waits; a newer frame replaces the waiting one. A frame is dropped (and counted) when it is
 * replaced, when the shared queue has no room, or when it became too old before its turn came. Capture never
 * waits for inference.
 *
 * Frames may carry a reference to a pooled buffer (`ref`, see camera/frame-pool.ts). submit() takes over the
 * caller's reference; the scheduler gives it back exactly once: when the frame is dropped (replaced, stale, no
 * room, camera cleared) or when its analysis has settled, never while `analyse` may still read the pixels.
 */
import { isRaypackError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { InferenceQueue } from './inference-queue.ts';

export interface ScheduledFrame {
  /** Wall-clock ms of arrival. */
  readonly time: number;
  /** The reference the scheduler holds on the frame's buffer, released when it is done with the frame. */
  readonly ref?: { release(): void };
}

export interface SchedulerStats {
  readonly received: number;
  readonly analysed: number;
  readonly dropped: number;
  readonly droppedReplaced: number;
  readonly droppedQueueFull: number;
  readonly droppedStale: number;
  readonly failed: number;
}

interface Lane<F> {
  busy: boolean;
  pending: F | undefined;
  received: number;
  analysed: number;
  replaced: number;
  queueFull: number;
  stale: number;
  failed: number;
}

export interface SchedulerOptions<F> {
  readonly queue: InferenceQueue;
  /** Runs inside the queue slot. */
  readonly analyse: (camera: string, frame: F) => Promise<void>;
  /** A frame older than this when its analysis would start is dropped. */
  readonly maxAgeMs: (camera: string) => number;
  readonly log: Logger;
  readonly now?: () => number;
}

export class FrameScheduler<F extends ScheduledFrame> {
  private readonly lanes = new Map<string, Lane<F>>();
  private readonly options: SchedulerOptions<F>;
  private readonly now: () => number;

  constructor(options: SchedulerOptions<F>) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  submit(camera: string, frame: F): void {
    const lane = this.lane(camera);
    lane.received += 1;
    if (lane.busy) {
      if (lane.pending) {
        lane.replaced += 1;
        this.release(camera, lane.pending);
      }
      lane.pending = frame;
      return;
    }
    this.dispatch(camera, lane, frame);
  }

  stats(camera: string): SchedulerStats {
    const l = this.lane(camera);
    return {
      received: l.received,
      analysed: l.analysed,
      dropped: l.replaced + l.queueFull + l.stale,
      droppedReplaced: l.replaced,
      droppedQueueFull: l.queueFull,
      droppedStale: l.stale,
      failed: l.failed,
    };
  }

  /** Forget a waiting frame (camera stopping); a frame being analysed is released when its analysis ends. */
  clear(camera: string): void {
    const lane = this.lanes.get(camera);
    if (!lane) return;
    if (lane.pending) this.release(camera, lane.pending);
    lane.pending = undefined;
  }

  private lane(camera: string): Lane<F> {
    let lane = this.lanes.get(camera);
    if (!lane) {
      lane = { busy: false, pending: undefined, received: 0, analysed: 0, replaced: 0, queueFull: 0, stale: 0, failed: 0 };
      this.lanes.set(camera, lane);
    }
    return lane;
  }

  private dispatch(camera: string, lane: Lane<F>, frame: F): void {
    if (this.isStale(camera, frame)) {
      lane.stale += 1;
      this.release(camera, frame);
      return;
    }
    if (!this.options.queue.hasRoom()) {
      lane.queueFull += 1;
      this.release(camera, frame);
      return;
    }
    lane.busy = true;
    let ran = false;
    this.options.queue
      .run(async () => {
        // The job may have waited behind API requests: check the age again when our turn comes.
        if (this.isStale(camera, frame)) {
          lane.stale += 1;
          return;
        }
        ran = true;
        await this.options.analyse(camera, frame);
      })
      .then(
        () => {
          if (ran) lane.analysed += 1;
        },
        (error: unknown) => {
          if (isRaypackError(error) && error.code === 'busy') lane.queueFull += 1;
          else {
            lane.failed += 1;
            this.options.log.warn('frame analysis failed', { camera, error: error instanceof Error ? error.message : String(error) });
          }
        },
      )
      .finally(() => {
        // The job has settled (or never ran): nobody reads this frame any more.
        this.release(camera, frame);
        lane.busy = false;
        const next = lane.pending;
        lane.pending = undefined;
        if (next) this.dispatch(camera, lane, next);
      });
  }

  /** Give back the scheduler's reference; a release bug is logged, it must not stall the camera's lane. */
  private release(camera: string, frame: F): void {
    try {
      frame.ref?.release();
    } catch (error) {
      this.options.log.error('frame buffer release failed', { camera, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private isStale(camera: string, frame: F): boolean {
    return this.now() - frame.time > this.options.maxAgeMs(camera);
  }
}
