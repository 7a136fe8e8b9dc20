/**
 * One camera's anonymised HLS stream: an ffmpeg child (argument list, no shell) fed raw RGB on stdin, writing a
 * rolling fMP4 playlist into its own temp folder (mkdtemp, removed on stop).
 *
 * Fail closed: the only pixels that reach ffmpeg are those of an analysed result rendered in the camera's
 * facemode (the result listener gives nothing else). Analysed frames come irregularly, so a fixed-rate pacer
 * repeats the newest rendered frame; when no analysed frame came for `staleMs` (camera down, analysis failing)
 * a black frame replaces it, and before the first one nothing is written. While stdin does not drain nothing more
 * is written (at most one frame waits in Node's buffer); frames more than a second overdue are dropped and counted. A dying ffmpeg is restarted with backoff.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalysisResult } from '../analysis/camera.ts';
import type { CameraFaceMode, HlsConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { isRunning, terminate } from '../os/terminate.ts';
import { Backoff, type BackoffPolicy } from './backoff.ts';
import { buildHlsArgs, HLS_INIT, HLS_PLAYLIST, HLS_SEGMENT_PATTERN } from './hls-args.ts';
import { renderAnonymisedRaw } from './snapshot.ts';
import { StderrRing } from './stderr-ring.ts';

export interface HlsWriterDeps {
  readonly camera: string;
  readonly width: number;
  readonly height: number;
  readonly facemode: CameraFaceMode;
  readonly hex: string;
  readonly config: HlsConfig;
  /** The camera's analysis rate: the output rate when config.fps is not set. */
  readonly cameraFps: number;
  /** Subscribes to the camera's analysed results (Camera.onResult); returns the unsubscribe. */
  readonly onResult: (listener: (result: AnalysisResult) => void) => () => void;
  readonly ffmpegPath: string;
  readonly backoff?: BackoffPolicy;
  /** After this long without an analysed frame, a black frame is sent instead of the last one (default 5 s). */
  readonly staleMs?: number;
  readonly log: Logger;
}

export interface HlsStatus {
  readonly url: string;
  /** A playlist with at least one segment exists. */
  readonly ready: boolean;
  readonly fps: number;
  readonly segmentSeconds: number;
  readonly segments: number;
  readonly framesWritten: number;
  /** Frames the pacer did not write because ffmpeg was not reading (backpressure) or was restarting. */
  readonly framesDropped: number;
  readonly restarts: number;
  readonly lastError?: string;
}

export class HlsWriter {
  readonly fps: number;
  private readonly deps: HlsWriterDeps;
  private readonly backoff: Backoff;
  private readonly frameBytes: number;
  private readonly staleMs: number;
  private dirValue: string | undefined;
  private child: ChildProcess | undefined;
  private childStarted = 0;
  private stderr = new StderrRing(30);
  private restartTimer: NodeJS.Timeout | undefined;
  private pacer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopping = false;
  /** The newest anonymised frame (packed RGB) and when its analysed frame was captured. */
  private rendered: { data: Buffer; at: number } | undefined;
  private black: Buffer | undefined;
  private pending: AnalysisResult | undefined;
  private rendering = false;
  private paceStart = 0;
  private paced = 0;
  private written = 0;
  private dropped = 0;
  private starts = 0;
  private lastError: string | undefined;

  constructor(deps: HlsWriterDeps) {
    this.deps = deps;
    this.fps = deps.config.fps ?? deps.cameraFps;
    this.frameBytes = deps.width * deps.height * 3;
    this.staleMs = deps.staleMs ?? 5000;
    this.backoff = new Backoff(deps.backoff ?? { initialMs: 1000, maxMs: 30_000 });
  }

  /** The folder holding the playlist and segments (exists between start and stop). */
  get dir(): string | undefined {
    return this.dirValue;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.stopping = false;
    this.dirValue = mkdtempSync(join(tmpdir(), `raypack-hls-${this.deps.camera}-`));
    this.unsubscribe = this.deps.onResult((result) => this.offer(result));
    this.spawn();
    this.paceStart = Date.now();
    this.pacer = setInterval(() => this.pace(), Math.max(10, Math.floor(1000 / this.fps / 2)));
    this.pacer.unref();
    this.deps.log.info('hls started', { dir: this.dirValue, fps: this.fps, segmentSeconds: this.deps.config.segment_seconds, segments: this.deps.config.segments });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    if (this.pacer) clearInterval(this.pacer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && isRunning(child)) {
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.stdin?.destroy();
      await terminate(child, closed);
    }
    this.child = undefined;
    if (this.dirValue) rmSync(this.dirValue, { recursive: true, force: true });
    this.dirValue = undefined;
    this.rendered = undefined;
  }

  /** The files ffmpeg wrote, for the routes and tests: segment names in the folder now. */
  segmentFiles(): string[] {
    if (!this.dirValue) return [];
    try {
      return readdirSync(this.dirValue).filter((n) => HLS_SEGMENT_PATTERN.test(n));
    } catch {
      return [];
    }
  }

  /** Path of a servable file (the playlist, the init segment or a segment), or undefined for any other name. */
  file(name: string): string | undefined {
    if (!this.dirValue) return undefined;
    if (name !== HLS_PLAYLIST && name !== HLS_INIT && !HLS_SEGMENT_PATTERN.test(name)) return undefined;
    return join(this.dirValue, name);
  }

  status(url: string): HlsStatus {
    return {
      url,
      ready: this.segmentFiles().length > 0,
      fps: this.fps,
      segmentSeconds: this.deps.config.segment_seconds,
      segments: this.deps.config.segments,
      framesWritten: this.written,
      framesDropped: this.dropped,
      restarts: Math.max(0, this.starts - 1),
      lastError: this.lastError,
    };
  }

  /** A new analysed result: render it (one render at a time, the newest waiting result next). */
  private offer(result: AnalysisResult): void {
    if (this.stopping) return;
    if (result.frame.width !== this.deps.width || result.frame.height !== this.deps.height) return;
    if (this.pending) this.pending.frame.ref?.release();
    // Hold the frame's pixels until it is rendered (or replaced by a newer one).
    result.frame.ref?.retain();
    this.pending = result;
    if (!this.rendering) void this.renderPending();
  }

  private async renderPending(): Promise<void> {
    this.rendering = true;
    while (this.pending && !this.stopping) {
      const result = this.pending;
      this.pending = undefined;
      try {
        const data = await renderAnonymisedRaw(result, this.deps.facemode, this.deps.hex);
        if (data.length === this.frameBytes) this.rendered = { data, at: Date.now() };
      } catch (error) {
        // Fail closed: the previous anonymised frame (or the black one) stays; the raw frame is never sent.
        this.deps.log.warn('hls frame render failed', { error: (error as Error).message });
      } finally {
        result.frame.ref?.release();
      }
    }
    if (this.pending && this.stopping) {
      this.pending.frame.ref?.release();
      this.pending = undefined;
    }
    this.rendering = false;
  }

  /** Write the frames due since the last tick (constant rate); drop when ffmpeg is not keeping up. */
  private pace(): void {
    const now = Date.now();
    const due = Math.floor(((now - this.paceStart) * this.fps) / 1000) + 1;
    let missing = due - this.paced;
    if (missing <= 0) return;
    // Far behind (event loop blocked, ffmpeg slow or restarting): count them as dropped and go on from now. The
    // stream's clock then falls behind the wall clock by the frames lost.
    if (missing > this.fps) {
      this.dropped += missing - 1;
      this.paced = due - 1;
      missing = 1;
    }
    const frame = this.currentFrame(now);
    const stdin = this.child?.stdin;
    for (; missing > 0; missing -= 1) {
      if (!frame) {
        this.paced += 1;
        continue;
      }
      if (!stdin || stdin.destroyed || !stdin.writable) {
        this.paced += 1;
        this.dropped += 1;
        continue;
      }
      // ffmpeg is behind: the frames stay due and are written once it drained (at most one frame waits in
      // Node's buffer), so a short hiccup costs no stream time; a long one is dropped above.
      if (stdin.writableNeedDrain) break;
      stdin.write(frame);
      this.paced += 1;
      this.written += 1;
    }
  }

  private currentFrame(now: number): Buffer | undefined {
    if (!this.rendered) return undefined;
    if (now - this.rendered.at <= this.staleMs) return this.rendered.data;
    return (this.black ??= Buffer.alloc(this.frameBytes));
  }

  private spawn(): void {
    const dir = this.dirValue!;
    // A restarted encoder starts a new playlist: the old run's segments would never be deleted.
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true, recursive: true });
    const { config, width, height } = this.deps;
    const args = buildHlsArgs({ width, height, fps: this.fps, segmentSeconds: config.segment_seconds, segments: config.segments, crf: config.crf, maxKbps: config.max_kbps, dir });
    this.stderr = new StderrRing(30);
    const child = spawn(this.deps.ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    this.starts += 1;
    this.childStarted = Date.now();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.stderr.push(chunk));
    // EPIPE when ffmpeg died: the close handler below reports and restarts.
    child.stdin!.on('error', () => undefined);
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    child.once('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      const tail = this.stderr.snapshot().slice(-5);
      this.lastError = spawnError ? `cannot run ffmpeg (${spawnError.message})` : tail.join(' | ').slice(0, 500) || `ffmpeg exited with ${code ?? signal}`;
      const delay = this.backoff.next(Date.now() - this.childStarted);
      this.deps.log.error('hls encoder stopped; restarting', { code, signal, restartInMs: delay, stderr: tail });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopping) this.spawn();
      }, delay);
      this.restartTimer.unref();
    });
  }
}
