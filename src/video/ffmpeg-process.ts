/**
 * The two ffmpeg processes of a video job: a decoder whose stdout is read as raw RGB frames (pulled: ffmpeg waits
 * while we analyse), and an encoder fed raw RGB frames on stdin (written with backpressure). Both are spawned with
 * argument lists (no shell), keep the tail of their stderr for the error they raise, and are killed by `abort()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { RaypackError } from '../errors.ts';
import { StderrRing } from '../camera/stderr-ring.ts';
import { isRunning } from '../os/terminate.ts';

/** One ffmpeg with its stderr tail and exit. */
class FfmpegChild {
  readonly child: ChildProcess;
  private readonly stderr = new StderrRing(20);
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private spawnError: Error | undefined;

  constructor(ffmpegPath: string, args: readonly string[], stdio: ['pipe' | 'ignore', 'pipe' | 'ignore']) {
    this.child = spawn(ffmpegPath, [...args], { stdio: [stdio[0], stdio[1], 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => this.stderr.push(chunk));
    this.exit = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.spawnError = error;
        resolve({ code: null, signal: null });
      });
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves when ffmpeg exits 0; otherwise rejects with what it said. */
  async done(code: 'undecodable_image' | 'internal', what: string): Promise<void> {
    const result = await this.exit;
    if (result.code === 0) return;
    const said = this.stderr.snapshot().slice(-3).join(' | ');
    const reason = this.spawnError ? `cannot run ffmpeg (${this.spawnError.message})` : said || `ffmpeg exited with ${result.code ?? result.signal}`;
    throw new RaypackError(code, `${what}: ${reason.slice(0, 300)}`);
  }

  kill(): void {
    if (isRunning(this.child)) this.child.kill('SIGKILL');
  }

  async exited(): Promise<void> {
    await this.exit;
  }
}

/** Frames of exactly width*height*3 bytes from a decoder's stdout; a short last frame is an error (a cut file). */
export class FrameDecoder {
  private readonly process: FfmpegChild;
  readonly frameBytes: number;

  constructor(ffmpegPath: string, args: readonly string[], width: number, height: number) {
    this.frameBytes = width * height * 3;
    this.process = new FfmpegChild(ffmpegPath, args, ['ignore', 'pipe']);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  async *frames(): AsyncGenerator<Buffer> {
    const size = this.frameBytes;
    let current = Buffer.allocUnsafe(size);
    let filled = 0;
    for await (const chunk of this.process.child.stdout! as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(size - filled, chunk.length - offset);
        chunk.copy(current, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === size) {
          yield current;
          current = Buffer.allocUnsafe(size);
          filled = 0;
        }
      }
    }
    await this.process.done('undecodable_image', 'the video could not be decoded');
    if (filled !== 0) throw new RaypackError('undecodable_image', 'the video could not be decoded: its last frame is incomplete');
  }

  abort(): void {
    this.process.kill();
  }

  exited(): Promise<void> {
    return this.process.exited();
  }
}

export class FrameEncoder {
  private readonly process: FfmpegChild;
  private failed: Error | undefined;

  constructor(ffmpegPath: string, args: readonly string[]) {
    this.process = new FfmpegChild(ffmpegPath, args, ['pipe', 'ignore']);
    // An encoder that died shows as EPIPE on the next write: keep it, the exit status says why.
    this.process.child.stdin!.on('error', (error) => (this.failed ??= error));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  async write(frame: Uint8Array): Promise<void> {
    const stdin = this.process.child.stdin!;
    if (this.failed || stdin.destroyed) return this.fail();
    if (!stdin.write(frame)) {
      await Promise.race([once(stdin, 'drain'), this.process.exited()]);
      if (this.failed || stdin.destroyed) return this.fail();
    }
  }

  /** Close stdin and wait until the file is complete. */
  async finish(): Promise<void> {
    this.process.child.stdin!.end();
    await this.process.done('internal', 'the video could not be encoded');
  }

  abort(): void {
    this.process.kill();
  }

  exited(): Promise<void> {
    return this.process.exited();
  }

  private async fail(): Promise<never> {
    await this.process.done('internal', 'the video could not be encoded');
    throw new RaypackError('internal', 'the video could not be encoded: the encoder stopped reading');
  }
}
