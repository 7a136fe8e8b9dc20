/** Pure parts of the camera pipeline: privacy-mask rasterising, the publish gate, the latest-frame-wins scheduler. */
import { describe, expect, it } from 'vitest';
import { applyMask, rasterisePolygons } from '../../src/image/privacy-mask.ts';
import { iou } from '../../src/core/geometry.ts';
import { boxesChanged, PublishGate, tagsChanged } from '../../src/tracking/change.ts';
import { FrameScheduler } from '../../src/pipeline/scheduler.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { logger } from '../../src/log.ts';

describe('privacy masks', () => {
  it('blacks out exactly the pixels whose centres lie inside the polygons', () => {
    const width = 8;
    const height = 6;
    // A 4x3 rectangle at (2,1) and a triangle overlapping nothing else.
    const mask = rasterisePolygons(
      [
        [[2, 1], [6, 1], [6, 4], [2, 4]],
        [[0, 6], [2, 4], [2, 6]],
      ],
      width,
      height,
    );
    const frame = new Uint8Array(width * height * 3).fill(200);
    applyMask(frame, mask);
    const black = (x: number, y: number): boolean => frame[(y * width + x) * 3] === 0 && frame[(y * width + x) * 3 + 2] === 0;
    const rows: string[] = [];
    for (let y = 0; y < height; y += 1) rows.push([...Array(width).keys()].map((x) => (black(x, y) ? '#' : '.')).join(''));
    expect(rows).toEqual(['........', '..####..', '..####..', '..####..', '.#......', '##......']);
    expect(mask.pixels).toBe(15);
    expect(frame.filter((v) => v !== 0 && v !== 200).length).toBe(0);
  });

  it('merges overlapping polygons and clips to the frame', () => {
    const mask = rasterisePolygons(
      [
        [[0, 0], [10, 0], [10, 2], [0, 2]],
        [[5, 0], [20, 0], [20, 2], [5, 2]],
      ],
      12,
      2,
    );
    expect(mask.pixels).toBe(24);
    expect(() => applyMask(new Uint8Array(10), mask)).toThrow(/does not match/);
  });
});

describe('publish gate', () => {
  const box = (x: number, y = 10, size = 50) => ({ x, y, width: size, height: size });

  it('treats jitter as unchanged and real moves, count changes and tag changes as changes', () => {
    expect(iou(box(0), box(0))).toBe(1);
    expect(boxesChanged([box(10)], [box(12)], 0.6)).toBe(false);
    expect(boxesChanged([box(10)], [box(40)], 0.6)).toBe(true);
    expect(boxesChanged([box(10)], [box(10), box(200)], 0.6)).toBe(true);
    expect(boxesChanged([box(10), box(200)], [box(202), box(11)], 0.6)).toBe(false);
    expect(tagsChanged(['person', 'cup'], ['cup', 'person'])).toBe(false);
    expect(tagsChanged(['person'], ['person', 'cup'])).toBe(true);
  });

  it('publishes the first result, changes at most every min interval, and a heartbeat when nothing changes', () => {
    const gate = new PublishGate({ minIou: 0.6, minIntervalMs: 500, heartbeatMs: 10_000 });
    const obs = (x: number) => ({ kind: 'boxes' as const, boxes: [box(x)] });
    expect(gate.offer(obs(10), 0)).toBe(true);
    expect(gate.offer(obs(11), 200)).toBe(false); // jitter
    expect(gate.offer(obs(80), 300)).toBe(false); // moved, but too soon
    expect(gate.offer(obs(80), 600)).toBe(true); // moved, interval passed
    expect(gate.offer(obs(81), 5000)).toBe(false);
    expect(gate.offer(obs(81), 10_600)).toBe(true); // heartbeat
  });
});

describe('FrameScheduler', () => {
  const log = logger('test:scheduler');

  it('keeps only the latest waiting frame per camera, counts replaced and stale frames', async () => {
    const queue = new InferenceQueue({ concurrency: 1, capacity: 4 });
    const analysed: number[] = [];
    let release!: () => void;
    let now = 1000;
    const scheduler = new FrameScheduler<{ time: number; n: number }>({
      queue,
      analyse: async (_camera, frame) => {
        analysed.push(frame.n);
        if (frame.n === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      maxAgeMs: () => 500,
      log,
      now: () => now,
    });
    scheduler.submit('a', { time: now, n: 1 }); // runs, blocks
    await Promise.resolve();
    scheduler.submit('a', { time: now, n: 2 }); // waits
    scheduler.submit('a', { time: now, n: 3 }); // replaces 2
    scheduler.submit('a', { time: now, n: 4 }); // replaces 3
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(analysed).toEqual([1, 4]);
    expect(scheduler.stats('a')).toMatchObject({ received: 4, analysed: 2, dropped: 2, droppedReplaced: 2 });

    now = 5000;
    scheduler.submit('a', { time: 1000, n: 5 }); // 4 s old
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(analysed).toEqual([1, 4]);
    expect(scheduler.stats('a')).toMatchObject({ droppedStale: 1, dropped: 3 });
  });

  it('drops and counts frames when the shared queue is full, without blocking other cameras', async () => {
    const queue = new InferenceQueue({ concurrency: 1, capacity: 0 });
    let release!: () => void;
    const blocker = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
    const seen: string[] = [];
    const scheduler = new FrameScheduler<{ time: number }>({
      queue,
      analyse: async (camera) => {
        seen.push(camera);
      },
      maxAgeMs: () => 10_000,
      log,
    });
    scheduler.submit('a', { time: Date.now() });
    scheduler.submit('b', { time: Date.now() });
    expect(scheduler.stats('a')).toMatchObject({ droppedQueueFull: 1, analysed: 0 });
    expect(scheduler.stats('b')).toMatchObject({ droppedQueueFull: 1 });
    await new Promise((resolve) => setTimeout(resolve, 0)); // the queue starts jobs in a microtask
    release();
    await blocker;
    scheduler.submit('a', { time: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toEqual(['a']);
    expect(scheduler.stats('a')).toMatchObject({ received: 2, analysed: 1, dropped: 1 });
  });
});
