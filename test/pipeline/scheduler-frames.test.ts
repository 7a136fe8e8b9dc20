/**
 * The scheduler's hold on pooled frame buffers: it gives each frame back exactly once, when it drops the frame
 * (replaced, stale, no room in the queue, camera cleared) or when the analysis settled (done or failed), and
 * never while the analysis may still read the pixels.
 */
import { describe, expect, it } from 'vitest';
import { FramePool, type FrameBuffer } from '../../src/camera/frame-pool.ts';
import { logger } from '../../src/log.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { FrameScheduler } from '../../src/pipeline/scheduler.ts';

interface TestFrame {
  readonly time: number;
  readonly n: number;
  readonly ref: FrameBuffer;
}

const log = logger('test:scheduler-frames');
const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A pooled frame whose bytes say which frame it is. */
function frame(pool: FramePool, n: number, time: number): TestFrame {
  const ref = pool.acquire();
  ref.data.fill(n);
  return { time, n, ref };
}

describe('FrameScheduler and pooled frames', () => {
  it('releases replaced frames at once and the analysed ones only after their analysis settled', async () => {
    const pool = new FramePool(64, 4);
    const queue = new InferenceQueue({ concurrency: 1, capacity: 4 });
    const gates = new Map<number, () => void>();
    const seenInside: Array<{ n: number; refs: number; intact: boolean }> = [];
    const scheduler = new FrameScheduler<TestFrame>({
      queue,
      log,
      maxAgeMs: () => 60_000,
      analyse: async (_camera, f) => {
        await new Promise<void>((resolve) => gates.set(f.n, resolve));
        // Still held while the analysis reads it, and no other frame was written into it meanwhile.
        seenInside.push({ n: f.n, refs: f.ref.references, intact: f.ref.data.every((v) => v === f.n) });
        if (f.n === 9) throw new Error('detector failed');
      },
    });
    const now = Date.now();
    const f1 = frame(pool, 1, now);
    scheduler.submit('cam', f1);
    await tick();
    // Many frames arrive while frame 1 is analysed: each replaces the waiting one, whose buffer is reused.
    const later: TestFrame[] = [];
    for (let n = 2; n <= 9; n += 1) {
      const f = frame(pool, n, now);
      later.push(f);
      scheduler.submit('cam', f);
      expect(later[later.length - 2]?.ref.references ?? 0).toBe(0); // the one it replaced went back
    }
    expect(f1.ref.references).toBe(1);
    expect(f1.ref.data.every((v) => v === 1)).toBe(true);
    // Frame 1 held + frame 9 waiting + one buffer cycling: three buffers for nine frames.
    expect(pool.stats()).toMatchObject({ allocated: 3, inUse: 2 });

    gates.get(1)!();
    await tick();
    expect(f1.ref.references).toBe(0); // analysis done: released
    const f9 = later[later.length - 1];
    expect(f9.ref.references).toBe(1); // now running
    gates.get(9)!(); // this one fails
    await tick();
    expect(f9.ref.references).toBe(0);
    expect(seenInside).toEqual([
      { n: 1, refs: 1, intact: true },
      { n: 9, refs: 1, intact: true },
    ]);
    expect(scheduler.stats('cam')).toMatchObject({ received: 9, analysed: 1, droppedReplaced: 7, failed: 1 });
    expect(pool.stats().inUse).toBe(0);
  });

  it('releases stale frames, frames refused by a full queue, and the waiting frame when the camera is cleared', async () => {
    const pool = new FramePool(16, 4);
    let now = 10_000;
    const queue = new InferenceQueue({ concurrency: 1, capacity: 0 });
    let unblock!: () => void;
    const analysed: number[] = [];
    const scheduler = new FrameScheduler<TestFrame>({
      queue,
      log,
      now: () => now,
      maxAgeMs: () => 1000,
      analyse: async (_camera, f) => {
        analysed.push(f.n);
        if (f.n === 1) await new Promise<void>((resolve) => (unblock = resolve));
      },
    });
    const stale = frame(pool, 7, now - 5000);
    scheduler.submit('a', stale);
    expect(stale.ref.references).toBe(0);

    const f1 = frame(pool, 1, now);
    scheduler.submit('a', f1); // runs and blocks the only slot
    await tick();
    const refused = frame(pool, 2, now);
    scheduler.submit('b', refused); // another camera: no room in the queue
    expect(refused.ref.references).toBe(0);

    const waiting = frame(pool, 3, now);
    scheduler.submit('a', waiting);
    expect(waiting.ref.references).toBe(1);
    scheduler.clear('a'); // camera stopping
    expect(waiting.ref.references).toBe(0);
    expect(f1.ref.references).toBe(1); // the running one is kept until its analysis ends

    // A frame that turns stale while it waits is released when its turn comes, without being analysed.
    const aging = frame(pool, 4, now);
    scheduler.submit('a', aging);
    now += 5000;
    unblock();
    await tick();
    expect(aging.ref.references).toBe(0);
    expect(f1.ref.references).toBe(0);
    expect(analysed).toEqual([1]);
    expect(scheduler.stats('a')).toMatchObject({ droppedStale: 2, analysed: 1 });
    expect(scheduler.stats('b')).toMatchObject({ droppedQueueFull: 1 });
    expect(pool.stats()).toMatchObject({ inUse: 0 });
  });
});
