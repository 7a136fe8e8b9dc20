/**
 * One camera at run time: its supervised ffmpeg, privacy mask, the latest analysed result (for snapshots and
 * MJPEG), and what it publishes: results when they change (PublishGate) and a retained status. The analysis
 * itself runs in the shared scheduler/queue; this class only receives frames and results.
 */
import type { CameraConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { applyMask, rasterisePolygons, type MaskSpans } from '../image/privacy-mask.ts';
import type { MqttPublisher } from '../mqtt/client.ts';
import { encodePayload, type CameraStatusPayload, type Topics } from '../mqtt/topics.ts';
import type { FrameScheduler, SchedulerStats } from '../pipeline/scheduler.ts';
import { PublishGate } from '../tracking/change.ts';
import { FaceHold } from '../tracking/face-hold.ts';
import { containerMessage, faceMessage, type AnalysedFrame, type AnalysisResult } from './analyse.ts';
import { SnapshotCache } from './snapshot.ts';
import type { CameraSource, CameraState } from './supervisor.ts';

export interface CameraDeps {
  readonly config: CameraConfig;
  readonly source: CameraSource;
  readonly scheduler: FrameScheduler<AnalysedFrame>;
  readonly publisher?: MqttPublisher;
  readonly topics: Topics;
  readonly publish: { minIou: number; minIntervalMs: number; heartbeatMs: number; license: string };
  readonly log: Logger;
}

export interface CameraStatus extends CameraStatusPayload {
  readonly width: number;
  readonly height: number;
  readonly tasks: readonly string[];
  readonly facemode: string;
  readonly lastAnalysedAt?: number;
  readonly faces?: number;
  /** Why frames were dropped: a newer frame replaced it, the shared queue was full, or it got too old. */
  readonly dropReasons: { readonly replaced: number; readonly queueFull: number; readonly stale: number; readonly failed: number };
  /** Face detection time of the latest analysed frame. */
  readonly analysisMs?: number;
}

export class Camera {
  readonly id: string;
  readonly config: CameraConfig;
  readonly snapshots = new SnapshotCache();
  private readonly deps: CameraDeps;
  private readonly mask: MaskSpans | undefined;
  private readonly gates: Record<'face' | 'objects' | 'food', PublishGate>;
  /** Faces stay anonymised for a moment after the detector last saw them (one missed frame must not reveal a face). */
  private readonly hold: FaceHold;
  private latest: AnalysisResult | undefined;
  private readonly resultListeners = new Set<(result: AnalysisResult) => void>();
  private statusTimer: NodeJS.Timeout | undefined;
  private unsubscribe: Array<() => void> = [];

  constructor(deps: CameraDeps) {
    this.deps = deps;
    this.id = deps.config.id;
    this.config = deps.config;
    const { width, height, privacy_masks: polygons } = deps.config;
    this.mask = polygons.length > 0 ? rasterisePolygons(polygons, width, height) : undefined;
    const gate = (): PublishGate => new PublishGate(deps.publish);
    this.gates = { face: gate(), objects: gate(), food: gate() };
    this.hold = new FaceHold({ holdMs: Math.max(1000, 2500 / deps.config.fps) });
  }

  start(): void {
    const { source, scheduler } = this.deps;
    this.unsubscribe.push(
      source.onFrame((raw) => {
        // Masked pixels are gone before any detector, snapshot or stream sees the frame.
        if (this.mask) applyMask(raw.data, this.mask);
        // The scheduler holds its own reference until it drops the frame or its analysis ends.
        scheduler.submit(this.id, { data: raw.data, width: raw.width, height: raw.height, seq: raw.seq, time: raw.time, ref: raw.ref.retain() });
      }),
      source.onState((state) => this.onState(state)),
    );
    if (this.mask) this.deps.log.info('privacy masks active', { polygons: this.config.privacy_masks.length, pixels: this.mask.pixels });
    source.start();
    this.statusTimer = setInterval(() => this.publishStatus(), this.deps.publish.heartbeatMs);
    this.statusTimer.unref();
    this.publishStatus();
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.unsubscribe.forEach((u) => u());
    this.unsubscribe = [];
    this.deps.scheduler.clear(this.id);
    await this.deps.source.stop();
    this.publishStatus();
  }

  /**
   * Called by the scheduler's analyse step with the finished result (the scheduler still holds the frame then).
   * The latest result keeps a reference to its frame for snapshots and MJPEG; the one it replaces gives its back.
   */
  accept(analysed: AnalysisResult): void {
    const now = analysed.frame.time;
    const boxes = analysed.faces.map((f) => ({ x: f.xpos, y: f.ypos, width: f.width, height: f.height }));
    const result: AnalysisResult = { ...analysed, privacyBoxes: this.hold.update(boxes, now) };
    result.frame.ref?.retain();
    this.latest?.frame.ref?.release();
    this.latest = result;
    const { publisher, topics, config } = this.deps;
    if (publisher) {
      if (config.tasks.includes('face')) {
        if (this.gates.face.offer({ kind: 'boxes', boxes }, now)) {
          publisher.publish(topics.result(this.id, 'face'), encodePayload('face', faceMessage(result)));
        }
      }
      for (const kind of ['objects', 'food'] as const) {
        const message = config.tasks.includes(kind) ? containerMessage(result, kind, this.deps.publish.license) : undefined;
        if (message && this.gates[kind].offer({ kind: 'tags', tags: result[kind]!.tags.map((t) => t.name) }, now)) {
          publisher.publish(topics.result(this.id, kind), encodePayload(kind, message));
        }
      }
    }
    for (const listener of this.resultListeners) listener(result);
  }

  /**
   * The latest analysed frame with its faces; undefined until the first analysis finished. Its pixels stay valid
   * while it is the latest; a caller that reads them across an await (a render) retains `frame.ref` first, as
   * SnapshotCache.get does.
   */
  latestResult(): AnalysisResult | undefined {
    return this.latest;
  }

  /** The pid of this camera's ffmpeg, while one runs. */
  sourcePid(): number | undefined {
    return this.deps.source.pid;
  }

  /** Listeners borrow the result's frame for the call; to read its pixels later, `result.frame.ref?.retain()` first. */
  onResult(listener: (result: AnalysisResult) => void): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  status(): CameraStatus {
    const source = this.deps.source.status();
    const frames: SchedulerStats = this.deps.scheduler.stats(this.id);
    return {
      camera: this.id,
      state: source.state,
      fps: source.fps,
      frames: { received: source.framesReceived, analysed: frames.analysed, dropped: frames.dropped },
      restarts: Math.max(0, source.starts - 1),
      stalls: source.stalls,
      lasterror: source.lastError,
      time: Date.now(),
      width: this.config.width,
      height: this.config.height,
      tasks: this.config.tasks,
      facemode: this.config.facemode,
      lastAnalysedAt: this.latest?.frame.time,
      faces: this.latest?.faces.length,
      dropReasons: { replaced: frames.droppedReplaced, queueFull: frames.droppedQueueFull, stale: frames.droppedStale, failed: frames.failed },
      analysisMs: this.latest ? Math.round(this.latest.faceSeconds * 1000) : undefined,
    };
  }

  private onState(state: CameraState): void {
    this.deps.log.debug('state', { state });
    this.publishStatus();
  }

  private publishStatus(): void {
    const { publisher, topics } = this.deps;
    if (!publisher) return;
    const s = this.status();
    const payload: CameraStatusPayload = {
      camera: s.camera,
      state: s.state,
      fps: s.fps,
      frames: s.frames,
      restarts: s.restarts,
      stalls: s.stalls,
      lasterror: s.lasterror,
      time: s.time,
    };
    publisher.publish(topics.cameraStatus(this.id), encodePayload('cameraStatus', payload), { retain: true });
  }
}
