/**
 * One supervised ffmpeg per camera: spawn, cut stdout into frames (written into the camera's FramePool buffers,
 * reused once nobody holds them: see frame-pool.ts and RawFrame), restart on exit with backoff, and a watchdog
 * that SIGKILLs an ffmpeg which has delivered no frame for `stallTimeoutMs` (a camera that hangs without closing
 * the socket). While a restart is pending the camera is probed cheaply (reachability.ts) and ffmpeg restarts at
 * once when the camera is back, however long the backoff had grown. stderr goes to a ring buffer with credentials
 * removed and is logged only when ffmpeg fails. Timers, the clock and the probe are injectable so the state
 * machine can be driven by fake time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.ts';
import { terminate } from '../os/terminate.ts';
import { Backoff, type BackoffPolicy } from './backoff.ts';
import { FramePool, type FrameBuffer, type FramePoolStats } from './frame-pool.ts';
import { FrameSplitter } from './frame-splitter.ts';
import { probeReachable, probeTargetFromArgs, type ProbeTarget } from './reachability.ts';
import { StderrRing } from './stderr-ring.ts';

export type CameraState = 'connecting' | 'streaming' | 'stalled' | 'backoff' | 'stopped';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * A frame as listeners get it: borrowed for the duration of the call. A listener that keeps the pixels longer
 * (the camera hands them to the scheduler) takes a reference of its own with `ref.retain()` and releases it when
 * done; after the call the source releases its own reference and the buffer may be refilled by a later frame.
 */
export interface RawFrame {
  /** `ref.data`: the pixels, tightly packed RGB. */
  readonly data: Buffer;
  readonly ref: FrameBuffer;
  readonly width: number;
  readonly height: number;
  /** Per-camera sequence number, counting from 1 since the daemon started. */
  readonly seq: number;
  /** Wall-clock ms when the frame arrived. */
  readonly time: number;
}

export interface CameraSourceStatus {
  readonly state: CameraState;
  readonly fps: number;
  readonly framesReceived: number;
  readonly starts: number;
  readonly stalls: number;
  readonly lastFrameAt?: number;
  readonly nextRestartInMs?: number;
  readonly lastError?: string;
}

export interface CameraSourceOptions {
  readonly id: string;
  readonly ffmpegPath: string;
  readonly args: readonly string[];
  readonly width: number;
  readonly height: number;
  readonly stallTimeoutMs: number;
  /** Watchdog before the first frame of a run (probing a stream on a busy device takes a while). Default: stallTimeoutMs. */
  readonly connectTimeoutMs?: number;
  readonly backoff: BackoffPolicy;
  readonly log: Logger;
  /** Strings to blank out of stderr (passwords from the camera URL). */
  readonly secrets?: readonly string[];
  readonly clock?: Clock;
  /** Milliseconds between SIGTERM and SIGKILL when stopping. */
  readonly killGraceMs?: number;
  /** Free frame buffers kept for reuse (see FramePool); default 4. */
  readonly framePoolCapacity?: number;
  /**
   * Probing while a restart is pending: the target (default: the network input of `args`; files and lavfi have
   * none), every `intervalMs` (default 2 s, +-25 % jitter so cameras that went down together are not probed and
   * restarted in step), each given `timeoutMs` (default 2 s). `false`: never probe.
   */
  readonly probe?: false | ProbeOptions;
  /** Random numbers in [0, 1) for the jitter (tests fix them). */
  readonly random?: () => number;
}

export interface ProbeOptions {
  readonly target?: ProbeTarget;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** The probe itself (default probeReachable); tests inject faults here. */
  readonly check?: (target: ProbeTarget, timeoutMs: number) => Promise<boolean>;
}

export class CameraSource {
  readonly id: string;
  private readonly options: CameraSourceOptions;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly stderr: StderrRing;
  private readonly splitter: FrameSplitter;
  private readonly frameListeners = new Set<(frame: RawFrame) => void>();
  private readonly stateListeners = new Set<(state: CameraState) => void>();
  private child: ChildProcess | undefined;
  private childExited: Promise<void> = Promise.resolve();
  private state: CameraState = 'stopped';
  private stopping = false;
  private watchdog: unknown;
  private restartTimer: unknown;
  private probeTimer: unknown;
  /** Bumped whenever a probing round must stop (restart, stop): a probe answering late is ignored. */
  private probeGeneration = 0;
  /** A probe found the camera down since it last streamed: the next probe that finds it up restarts ffmpeg. */
  private seenDown = false;
  private readonly probeConfig: Required<ProbeOptions> | undefined;
  private restartAt: number | undefined;
  private firstFrameAt: number | undefined;
  private lastFrameAt: number | undefined;
  private stalledThisRun = false;
  private seq = 0;
  private starts = 0;
  private stalls = 0;
  private lastError: string | undefined;
  /** Arrival times of recent frames, for the measured fps. */
  private readonly recent: number[] = [];

  constructor(options: CameraSourceOptions) {
    this.id = options.id;
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.backoff = new Backoff(options.backoff);
    this.stderr = new StderrRing(100, options.secrets ?? []);
    const frameBytes = options.width * options.height * 3;
    this.splitter = new FrameSplitter(frameBytes, (frame) => this.onFrameBytes(frame), new FramePool(frameBytes, options.framePoolCapacity));
    const target = options.probe === false ? undefined : (options.probe?.target ?? probeTargetFromArgs(options.args));
    this.probeConfig =
      options.probe === false || target === undefined
        ? undefined
        : { target, intervalMs: options.probe?.intervalMs ?? 2000, timeoutMs: options.probe?.timeoutMs ?? 2000, check: options.probe?.check ?? probeReachable };
  }

  onFrame(listener: (frame: RawFrame) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  onState(listener: (state: CameraState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.stopping = false;
    this.spawnFfmpeg();
  }

  /** Stop ffmpeg (SIGTERM, then SIGKILL after the grace time) and wait until it has exited: no zombies. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.clearTimer('watchdog');
    this.clearTimer('restartTimer');
    this.stopProbing();
    const child = this.child;
    if (child) await terminate(child, this.childExited, this.options.killGraceMs);
    // 'close' has drained stdout: no more bytes come, the incomplete frame goes back and the idle buffers are freed.
    this.splitter.reset();
    this.splitter.pool.drain();
    this.setState('stopped');
  }

  /** How the frame buffers are reused (tests and diagnostics). */
  framePoolStats(): FramePoolStats {
    return this.splitter.pool.stats();
  }

  status(): CameraSourceStatus {
    const now = this.clock.now();
    return {
      state: this.state,
      fps: this.measuredFps(now),
      framesReceived: this.seq,
      starts: this.starts,
      stalls: this.stalls,
      lastFrameAt: this.lastFrameAt,
      nextRestartInMs: this.state === 'backoff' && this.restartAt !== undefined ? Math.max(0, this.restartAt - now) : undefined,
      lastError: this.lastError,
    };
  }

  /** The pid of the running ffmpeg (tests check that none is left behind). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private spawnFfmpeg(): void {
    this.stopProbing();
    this.starts += 1;
    this.firstFrameAt = undefined;
    this.stalledThisRun = false;
    this.splitter.reset();
    this.stderr.clear();
    this.setState('connecting');
    const child = spawn(this.options.ffmpegPath, [...this.options.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let resolveExit!: () => void;
    this.childExited = new Promise((resolve) => (resolveExit = resolve));
    child.stdout!.on('data', (chunk: Buffer) => this.splitter.push(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.stderr.push(text));
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    // 'close' (not 'exit'): stdout is drained, so no frame of this run arrives after we decide what comes next.
    child.on('close', (code, signal) => {
      this.child = undefined;
      resolveExit();
      this.onExit(code, signal, spawnError);
    });
    this.armWatchdog();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): void {
    this.clearTimer('watchdog');
    if (this.stopping) return;
    const now = this.clock.now();
    const healthyMs = this.firstFrameAt === undefined ? 0 : (this.lastFrameAt ?? now) - this.firstFrameAt;
    const delay = this.backoff.next(healthyMs);
    const how = spawnError
      ? `could not start ${this.options.ffmpegPath}: ${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}`
      : this.stalledThisRun
        ? this.firstFrameAt === undefined
          ? `no first frame within ${this.connectTimeoutMs} ms, killed`
          : `no frame for ${this.options.stallTimeoutMs} ms, killed`
        : signal
          ? `ffmpeg killed by ${signal}`
          : `ffmpeg exited with code ${code}`;
    this.lastError = summarise(how, this.stderr.snapshot());
    this.options.log.warn('ffmpeg ended; restarting after backoff', {
      reason: how,
      restartInMs: delay,
      streamedMs: healthyMs,
      stderr: this.stderr.snapshot(),
    });
    this.restartAt = now + delay;
    this.setState('backoff');
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.spawnFfmpeg();
    }, delay);
    this.startProbing();
  }

  /**
   * While the restart is pending: probe now, and again every interval while the camera is down. A camera that is
   * reachable and still fails (a wrong path, a refused login) is left to the backoff: one probe per restart. One
   * that a probe found down and a later probe finds up gets ffmpeg at once, with the backoff started over (it may
   * need a few quick tries while its stream comes up).
   */
  private startProbing(): void {
    const probe = this.probeConfig;
    if (!probe) return;
    const generation = ++this.probeGeneration;
    const current = (): boolean => generation === this.probeGeneration && this.state === 'backoff' && !this.stopping;
    const round = async (): Promise<void> => {
      this.probeTimer = undefined;
      if (!current()) return;
      const up = await probe.check(probe.target, probe.timeoutMs).catch(() => false);
      if (!current()) return;
      if (!up) {
        this.seenDown = true;
        const jitter = 0.75 + 0.5 * (this.options.random ?? Math.random)();
        this.probeTimer = this.clock.setTimeout(() => void round(), Math.round(probe.intervalMs * jitter));
        return;
      }
      if (!this.seenDown) return;
      this.seenDown = false;
      this.options.log.info('camera reachable again; restarting ffmpeg now', { restartWasInMs: this.status().nextRestartInMs });
      this.clearTimer('restartTimer');
      this.backoff.reset();
      this.spawnFfmpeg();
    };
    void round();
  }

  private stopProbing(): void {
    this.probeGeneration += 1;
    this.clearTimer('probeTimer');
  }

  private onFrameBytes(ref: FrameBuffer): void {
    try {
      this.emitFrame(ref);
    } finally {
      // Listeners that keep the frame hold their own reference by now.
      ref.release();
    }
  }

  private emitFrame(ref: FrameBuffer): void {
    const now = this.clock.now();
    this.seq += 1;
    this.lastFrameAt = now;
    this.firstFrameAt ??= now;
    this.recent.push(now);
    if (this.recent.length > 64) this.recent.shift();
    if (this.state !== 'streaming') {
      this.seenDown = false;
      this.setState('streaming');
      this.options.log.info('streaming', { starts: this.starts });
    }
    this.armWatchdog();
    const frame: RawFrame = { data: ref.data, ref, width: this.options.width, height: this.options.height, seq: this.seq, time: now };
    for (const listener of this.frameListeners) listener(frame);
  }

  private get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? this.options.stallTimeoutMs;
  }

  private armWatchdog(): void {
    this.clearTimer('watchdog');
    const timeoutMs = this.firstFrameAt === undefined ? this.connectTimeoutMs : this.options.stallTimeoutMs;
    this.watchdog = this.clock.setTimeout(() => {
      this.watchdog = undefined;
      const child = this.child;
      if (!child || this.stopping) return;
      this.stalls += 1;
      this.stalledThisRun = true;
      this.setState('stalled');
      this.options.log.warn('no frame within the timeout; killing ffmpeg', { timeoutMs, connecting: this.firstFrameAt === undefined, pid: child.pid });
      child.kill('SIGKILL');
    }, timeoutMs);
  }

  private clearTimer(which: 'watchdog' | 'restartTimer' | 'probeTimer'): void {
    if (this[which] !== undefined) this.clock.clearTimeout(this[which]);
    this[which] = undefined;
  }

  private setState(next: CameraState): void {
    if (this.state === next) return;
    this.state = next;
    for (const listener of this.stateListeners) listener(next);
  }

  /** Frames per second over the last 10 seconds of arrivals (0 when none arrived lately); smooths bursts after CPU starvation. */
  private measuredFps(now: number): number {
    const window = this.recent.filter((t) => now - t <= 10_000);
    if (window.length < 2) return 0;
    const span = (window[window.length - 1] - window[0]) / 1000;
    return span > 0 ? Math.round(((window.length - 1) / span) * 100) / 100 : 0;
  }
}

/** The reason plus the last meaningful stderr line (often the actual cause, e.g. `Connection refused`). */
function summarise(how: string, lines: readonly string[]): string {
  const last = [...lines].reverse().find((l) => !/^\s*(Stream|Input|Output|Duration|Metadata|encoder|major_brand|compatible|minor)/i.test(l));
  return last ? `${how}: ${last.trim().slice(0, 300)}` : how;
}
