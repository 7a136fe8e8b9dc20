/**
 * Cut ffmpeg's rawvideo stdout into frames of exactly `frameBytes`. A pipe delivers ~64 KiB chunks, so a frame
 * spans many chunks: each byte is copied once, straight into a buffer taken from the camera's FramePool (reused
 * once every holder released it, see frame-pool.ts). When a chunk happens to hold a whole frame at a frame
 * boundary, that slice is handed on without copying (Node allocates every pipe chunk afresh, so the view stays
 * valid for as long as anyone holds it).
 *
 * Each frame handed to `onFrame` carries one reference that now belongs to the callee: it keeps it or releases it.
 */
import { FrameBuffer, FramePool } from './frame-pool.ts';

export class FrameSplitter {
  readonly frameBytes: number;
  readonly pool: FramePool;
  private current: FrameBuffer | undefined;
  private filled = 0;
  private readonly onFrame: (frame: FrameBuffer) => void;

  /** Without `pool`, the splitter makes its own with the default capacity. */
  constructor(frameBytes: number, onFrame: (frame: FrameBuffer) => void, pool?: FramePool) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new Error(`frameBytes must be a positive integer, got ${frameBytes}`);
    if (pool && pool.frameBytes !== frameBytes) throw new Error(`the frame pool holds ${pool.frameBytes}-byte buffers, frames have ${frameBytes}`);
    this.frameBytes = frameBytes;
    this.pool = pool ?? new FramePool(frameBytes);
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.filled === 0 && chunk.length - offset >= this.frameBytes) {
        this.onFrame(new FrameBuffer(chunk.subarray(offset, offset + this.frameBytes)));
        offset += this.frameBytes;
        continue;
      }
      this.current ??= this.pool.acquire();
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      chunk.copy(this.current.data, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        const frame = this.current;
        this.current = undefined;
        this.filled = 0;
        this.onFrame(frame);
      }
    }
  }

  /** Bytes of an incomplete frame (discarded when ffmpeg restarts). */
  get pendingBytes(): number {
    return this.filled;
  }

  /** Forget an incomplete frame (ffmpeg restarted or stopped); its buffer goes back to the pool. */
  reset(): void {
    this.current?.release();
    this.current = undefined;
    this.filled = 0;
  }
}
