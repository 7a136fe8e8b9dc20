/**
 * Cut ffmpeg's rawvideo stdout into frames of exactly `frameBytes`. A pipe delivers ~64 KiB chunks, so a frame
 * spans many chunks: each byte is copied once, into a buffer allocated for that frame (it then belongs to the
 * consumer: the scheduler and the snapshot cache keep it after we move on). When a chunk happens to hold a whole
 * frame at the start of a frame boundary, that slice is handed on without copying.
 */
export class FrameSplitter {
  readonly frameBytes: number;
  private current: Buffer | undefined;
  private filled = 0;
  private readonly onFrame: (frame: Buffer) => void;

  constructor(frameBytes: number, onFrame: (frame: Buffer) => void) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new Error(`frameBytes must be a positive integer, got ${frameBytes}`);
    this.frameBytes = frameBytes;
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.filled === 0 && chunk.length - offset >= this.frameBytes) {
        this.onFrame(chunk.subarray(offset, offset + this.frameBytes));
        offset += this.frameBytes;
        continue;
      }
      this.current ??= Buffer.allocUnsafeSlow(this.frameBytes);
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      chunk.copy(this.current, this.filled, offset, offset + n);
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

  reset(): void {
    this.current = undefined;
    this.filled = 0;
  }
}
