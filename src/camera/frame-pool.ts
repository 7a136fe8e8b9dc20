/**
 * Reusable frame buffers for one camera. A 1280x720 RGB frame is 2.76 MB; a fresh buffer per frame made 4 cameras
 * at 5 fps produce ~55 MB/s of garbage that waited for the GC (22-82 MiB seen). A pool keeps a few buffers of the
 * camera's fixed frame size and hands them out again once nobody reads them any more.
 *
 * Ownership is explicit reference counting, so a buffer can never be rewritten while someone still reads it:
 * - `acquire()` returns a frame with one reference, owned by the caller;
 * - whoever keeps the frame beyond the current call (the scheduler for a waiting or running frame, the camera
 *   for its latest analysed frame, a snapshot render in progress) holds a reference of its own: `retain()`;
 * - each holder calls `release()` exactly once when it is done; the last release hands the buffer back.
 * A forgotten release costs only reuse (the buffer is left to the GC, the pool allocates another); an extra
 * release would hand out a buffer still in use, so it throws instead of corrupting a frame.
 * The pool never blocks: when no free buffer is left it allocates one, and it keeps at most `capacity` free
 * buffers, so a burst cannot grow its memory for good.
 */

/** What a holder needs to give its reference back (the scheduler knows frames only by this). */
export interface Releasable {
  release(): void;
}

export class FrameBuffer implements Releasable {
  readonly data: Buffer;
  private refs = 1;
  private readonly pool: FramePool | undefined;

  /** `pool` undefined: a buffer that is not reused (e.g. a view of a pipe chunk); counting still guards misuse. */
  constructor(data: Buffer, pool?: FramePool) {
    this.data = data;
    this.pool = pool;
  }

  /** Number of holders right now; 0 once the buffer went back. */
  get references(): number {
    return this.refs;
  }

  /** Take a reference of one's own; returns this frame for `x = frame.retain()`. */
  retain(): this {
    if (this.refs <= 0) throw new Error('frame buffer retained after its last release (its bytes may already belong to another frame)');
    this.refs += 1;
    return this;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('frame buffer released more often than it was retained');
    this.refs -= 1;
    if (this.refs === 0) this.pool?.giveBack(this.data);
  }
}

export interface FramePoolStats {
  readonly frameBytes: number;
  readonly capacity: number;
  /** Buffers allocated since the pool was made (the first few, then only when all were in use). */
  readonly allocated: number;
  /** Frames served from a free buffer. */
  readonly reused: number;
  /** Buffers handed out and not yet back. */
  readonly inUse: number;
  /** Free buffers kept for reuse (at most `capacity`). */
  readonly free: number;
  /** Buffers that came back while `capacity` were already free, left to the GC. */
  readonly discarded: number;
}

export class FramePool {
  readonly frameBytes: number;
  readonly capacity: number;
  private readonly freeList: Buffer[] = [];
  private allocated = 0;
  private reused = 0;
  private inUse = 0;
  private discarded = 0;

  /**
   * `capacity`: free buffers kept. Per camera at most ~4 are out at once (one being filled by ffmpeg, one waiting
   * in the scheduler, one being analysed, the latest analysed one for snapshots), and they come back one by one.
   */
  constructor(frameBytes: number, capacity = 4) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new Error(`frameBytes must be a positive integer, got ${frameBytes}`);
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`capacity must be a non-negative integer, got ${capacity}`);
    this.frameBytes = frameBytes;
    this.capacity = capacity;
  }

  /** A frame buffer with one reference, owned by the caller. Its bytes are stale: the caller overwrites all of them. */
  acquire(): FrameBuffer {
    let data = this.freeList.pop();
    if (data) this.reused += 1;
    else {
      // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared 8 KiB pool (it would pin the slab).
      data = Buffer.allocUnsafeSlow(this.frameBytes);
      this.allocated += 1;
    }
    this.inUse += 1;
    return new FrameBuffer(data, this);
  }

  /** Drop the free buffers (camera stopped); buffers still in use come back later as usual. */
  drain(): void {
    this.freeList.length = 0;
  }

  stats(): FramePoolStats {
    return {
      frameBytes: this.frameBytes,
      capacity: this.capacity,
      allocated: this.allocated,
      reused: this.reused,
      inUse: this.inUse,
      free: this.freeList.length,
      discarded: this.discarded,
    };
  }

  /** Called by FrameBuffer's last release only. */
  giveBack(data: Buffer): void {
    this.inUse -= 1;
    if (data.length !== this.frameBytes || this.freeList.length >= this.capacity) {
      this.discarded += 1;
      return;
    }
    this.freeList.push(data);
  }
}
