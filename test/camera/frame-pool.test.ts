/**
 * The per-camera frame pool and the splitter writing into it: a frame somebody holds is never rewritten, however
 * many frames follow; released buffers are reused; the pool stays bounded and never blocks.
 */
import { describe, expect, it } from 'vitest';
import { FrameBuffer, FramePool } from '../../src/camera/frame-pool.ts';
import { FrameSplitter } from '../../src/camera/frame-splitter.ts';

/** Frame n of a synthetic stream: every byte depends on n and its position, so any overwrite shows. */
function frameBytes(n: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 1) b[i] = (n * 31 + i * 7) & 0xff;
  return b;
}

/** Push `frames` through the splitter in uneven chunks (as a pipe delivers them), never frame-aligned. */
function pushStream(splitter: FrameSplitter, frames: Buffer[], chunkSizes = [97, 1000, 13, 4096, 555]): void {
  const stream = Buffer.concat(frames);
  let offset = 0;
  for (let i = 0; offset < stream.length; i += 1) {
    const n = chunkSizes[i % chunkSizes.length];
    splitter.push(stream.subarray(offset, offset + n));
    offset += n;
  }
}

describe('FramePool', () => {
  it('reuses a buffer only after its last holder released it, and allocates when none is free', () => {
    const pool = new FramePool(16, 2);
    const a = pool.acquire();
    a.retain(); // a second holder
    a.release();
    expect(a.references).toBe(1);
    const b = pool.acquire(); // a is still held: a fresh buffer
    expect(b.data).not.toBe(a.data);
    expect(pool.stats()).toMatchObject({ allocated: 2, reused: 0, inUse: 2, free: 0 });
    a.release();
    expect(a.references).toBe(0);
    const c = pool.acquire();
    expect(c.data).toBe(a.data); // reused
    expect(pool.stats()).toMatchObject({ allocated: 2, reused: 1, inUse: 2, free: 0 });
    b.release();
    c.release();
    expect(pool.stats()).toMatchObject({ inUse: 0, free: 2 });
  });

  it('keeps at most `capacity` free buffers; a burst beyond it is left to the GC', () => {
    const pool = new FramePool(8, 3);
    const burst = Array.from({ length: 10 }, () => pool.acquire());
    expect(pool.stats()).toMatchObject({ allocated: 10, inUse: 10, free: 0 });
    for (const f of burst) f.release();
    expect(pool.stats()).toMatchObject({ inUse: 0, free: 3, discarded: 7 });
    // Steady use after the burst needs no new allocation.
    for (let i = 0; i < 50; i += 1) pool.acquire().release();
    expect(pool.stats()).toMatchObject({ allocated: 10, reused: 50, free: 3 });
    pool.drain();
    expect(pool.stats().free).toBe(0);
  });

  it('refuses an extra release or a retain after the last release instead of handing out a buffer in use', () => {
    const pool = new FramePool(4);
    const f = pool.acquire();
    f.release();
    expect(() => f.release()).toThrow(/released more often/);
    expect(() => f.retain()).toThrow(/after its last release/);
    expect(pool.stats()).toMatchObject({ inUse: 0, free: 1 });
    // A buffer that is not pooled counts references the same way.
    const loose = new FrameBuffer(Buffer.alloc(4));
    loose.release();
    expect(() => loose.release()).toThrow();
    expect(() => new FramePool(0)).toThrow(/positive integer/);
    expect(() => new FrameSplitter(4, () => undefined, new FramePool(5))).toThrow(/5-byte buffers/);
  });
});

describe('FrameSplitter with a frame pool', () => {
  // Larger than every chunk, as a real frame (2.76 MB) is larger than a pipe chunk (64 KiB): no aligned views.
  const SIZE = 5000;

  it('never rewrites a held frame while many more frames pass, and reuses the released buffers', () => {
    const pool = new FramePool(SIZE, 4);
    let held: FrameBuffer | undefined;
    let count = 0;
    const splitter = new FrameSplitter(
      SIZE,
      (frame) => {
        count += 1;
        if (count === 3) held = frame; // keep frame 3 (its reference is ours)
        else frame.release();
      },
      pool,
    );
    const frames = Array.from({ length: 103 }, (_, n) => frameBytes(n + 1, SIZE));
    pushStream(splitter, frames);
    expect(count).toBe(103);
    expect(held!.data.equals(frames[2])).toBe(true);
    // One buffer held, one cycling through the splitter: two allocations for 103 frames.
    expect(pool.stats()).toMatchObject({ allocated: 2, reused: 101, inUse: 1 });

    // The control: once released, the held buffer is the next one refilled, so the check above can fail.
    const heldData = held!.data;
    held!.release();
    pushStream(splitter, [frameBytes(500, SIZE)]);
    expect(heldData.equals(frames[2])).toBe(false);
    expect(pool.stats().inUse).toBe(0);
  });

  it('hands the incomplete frame back on reset (ffmpeg restarted or stopped)', () => {
    const pool = new FramePool(SIZE, 4);
    const got: Buffer[] = [];
    const splitter = new FrameSplitter(
      SIZE,
      (frame) => {
        got.push(Buffer.from(frame.data)); // a test-side copy
        frame.release();
      },
      pool,
    );
    splitter.push(frameBytes(1, SIZE).subarray(0, 1234));
    expect(splitter.pendingBytes).toBe(1234);
    expect(pool.stats().inUse).toBe(1);
    splitter.reset();
    expect(pool.stats()).toMatchObject({ inUse: 0, free: 1 });
    // The next run starts at a frame boundary; no bytes of the torn frame leak into it.
    pushStream(splitter, [frameBytes(2, SIZE), frameBytes(3, SIZE)]);
    expect(got.map((g) => g.equals(frameBytes(2, SIZE)) || g.equals(frameBytes(3, SIZE)))).toEqual([true, true]);
    expect(pool.stats()).toMatchObject({ allocated: 1, inUse: 0 });
  });

  it('hands frame-aligned chunks on as views, outside the pool', () => {
    const pool = new FramePool(4);
    const views: FrameBuffer[] = [];
    const splitter = new FrameSplitter(4, (f) => views.push(f), pool);
    const chunk = Buffer.from([1, 1, 1, 1, 2, 2, 2, 2]);
    splitter.push(chunk);
    expect(views.map((v) => v.data.buffer === chunk.buffer)).toEqual([true, true]);
    for (const v of views) v.release();
    expect(pool.stats()).toMatchObject({ allocated: 0, inUse: 0, free: 0 });
  });
});
