/**
 * One camera at run time, on the output side of its frames: its supervised ffmpeg (started and stopped here; its
 * frames go straight to the scheduler and the analysis, wired by the daemon), the latest analysed result (for
 * snapshots and MJPEG), and what it publishes: results when they change (PublishGate) and a retained status.
 */
import type { CameraConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { AnalysisResult } from '../analysis/camera.ts';
import type { MqttPublisher } from '../mqtt/client.ts';
import { encodePayload, type CameraStatusPayload, type Topics, type TrackEventPayload } from '../mqtt/topics.ts';
import type { SchedulerStats } from '../pipeline/scheduler.ts';
import { PublishGate } from '../tracking/change.ts';
import { containerMessage, faceMessage } from './messages.ts';
import { countingStatus, CountsPublisher, type CountingStatus } from './counts.ts';
import type { CountsStore } from '../counting/persist.ts';
import type { TrackEvent } from '../tracking/events.ts';
import { EventSnapshots } from './event-snapshots.ts';
import { SnapshotCache } from './snapshot.ts';
import type { CameraSource, CameraState } from './supervisor.ts';

export interface CameraDeps {
  readonly config: CameraConfig;
  readonly source: CameraSource;
  /** The scheduler's counts for this camera (analysed, dropped by cause). */
  readonly frames: () => SchedulerStats;
  /** Frames whose analysis failed or timed out, none of them served (fail closed). */
  readonly failedClosed?: () => number;
  readonly publisher?: MqttPublisher;
  readonly topics: Topics;
  readonly publish: { minIou: number; minIntervalMs: number; heartbeatMs: number; license: string };
  readonly log: Logger;
  /** Keeps the zone and line counts across restarts (counting/persist.ts); absent: not kept. */
  readonly countsStore?: CountsStore;
  /** Zones and lines of an earlier run the camera no longer has: their retained counters are cleared at start. */
  readonly retiredCounters?: { readonly zones: readonly string[]; readonly lines: readonly string[] };
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
  /** Frames whose analysis failed or timed out: none of them left the device; snapshots kept the last good frame. */
  readonly failedClosed: number;
  /** Face detection time of the latest analysed frame. */
  readonly analysisMs?: number;
  /** The camera's zones and lines with their counts (docs/COUNTING.md). */
  readonly counting: CountingStatus;
}

export class Camera {
  readonly id: string;
  readonly config: CameraConfig;
  readonly snapshots = new SnapshotCache();
  /** Anonymised JPEGs of the latest track events (config event_snapshots), linked from the event messages. */
  readonly eventSnapshots: EventSnapshots;
  private readonly deps: CameraDeps;
  private readonly gates: Record<'face' | 'objects' | 'food', PublishGate>;
  private latest: AnalysisResult | undefined;
  private readonly resultListeners = new Set<(result: AnalysisResult) => void>();
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly counts: CountsPublisher;
  private unsubscribe: Array<() => void> = [];
  private saveError: string | undefined;

  constructor(deps: CameraDeps) {
    this.deps = deps;
    this.id = deps.config.id;
    this.config = deps.config;
    this.eventSnapshots = new EventSnapshots(deps.config.event_snapshots ?? 0);
    const gate = (): PublishGate => new PublishGate(deps.publish);
    this.gates = { face: gate(), objects: gate(), food: gate() };
    this.counts = new CountsPublisher(this.id, deps.topics);
  }

  /** An empty retained message removes a retained counter from the broker (MQTT 3.1.1, 3.3.1.3). */
  private clearRetiredCounters(): void {
    const { publisher, topics, retiredCounters: retired, log } = this.deps;
    if (!publisher || !retired || retired.zones.length + retired.lines.length === 0) return;
    for (const zone of retired.zones) publisher.publish(topics.zone(this.id, zone), '', { retain: true });
    for (const line of retired.lines) publisher.publish(topics.line(this.id, line), '', { retain: true });
    log.info('cleared the retained counters of zones and lines no longer configured', { zones: retired.zones, lines: retired.lines });
  }

  /** A failed save is logged once per failure kind and never stops the camera (counting goes on in memory). */
  private saveCounts(save: () => void): void {
    try {
      save();
      this.saveError = undefined;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.saveError) this.deps.log.warn('cannot save the counts (they go on in memory)', { error: message });
      this.saveError = message;
    }
  }

  start(): void {
    const { source } = this.deps;
    this.unsubscribe.push(source.onState((state) => this.onState(state)));
    source.start();
    this.clearRetiredCounters();
    this.statusTimer = setInterval(() => this.publishStatus(), this.deps.publish.heartbeatMs);
    this.statusTimer.unref();
    this.publishStatus();
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.unsubscribe.forEach((u) => u());
    this.unsubscribe = [];
    await this.deps.source.stop();
    this.publishStatus();
  }

  /** Writes the counts not saved yet: the daemon calls it at stop once no frame is left in analysis. */
  flushCounts(): void {
    this.saveCounts(() => this.deps.countsStore?.flush());
  }

  /**
   * Called by the camera's analysis with the finished result (the scheduler still holds the frame then). The
   * latest result keeps a reference to its frame for snapshots and MJPEG; the one it replaces gives its back.
   */
  accept(result: AnalysisResult): void {
    const now = result.frame.time;
    const boxes = result.faces.map((f) => ({ x: f.xpos, y: f.ypos, width: f.width, height: f.height }));
    result.frame.ref?.retain();
    this.latest?.frame.ref?.release();
    this.latest = result;
    this.saveCounts(() => this.deps.countsStore?.offer(result.counts, Date.now()));
    const { publisher, topics, config } = this.deps;
    if (publisher) {
      if (config.tasks.includes('face')) {
        if (this.gates.face.offer({ kind: 'boxes', boxes }, now)) {
          publisher.publish(topics.result(this.id, 'face'), encodePayload('face', faceMessage(result)));
        }
      }
      for (const e of result.events ?? []) {
        const snapped = this.eventSnapshots.record(e, () => this.snapshots.get(result, config.facemode, config.hex));
        const snapshot = snapped ? { snapshot: EventSnapshots.path(this.id, e.id) } : {};
        const payload = { camera: this.id, type: e.type, id: e.id, label: e.label, first_seen: e.firstSeen, last_seen: e.lastSeen, best_score: Math.round(e.bestScore * 10_000) / 10_000, time: Date.now(), ...trackExtras(e), ...snapshot };
        publisher.publish(topics.events(this.id), encodePayload('events', payload));
      }
      this.counts.offer(publisher, result.counts, Date.now());
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
    const frames: SchedulerStats = this.deps.frames();
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
      failedClosed: this.deps.failedClosed?.() ?? frames.failed,
      analysisMs: this.latest ? Math.round(this.latest.faceSeconds * 1000) : undefined,
      counting: countingStatus(this.config, this.latest?.counts),
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

/** The event payload's fields beyond the track itself: its kind, and for object tracks their zones. */
function trackExtras(e: TrackEvent): Pick<TrackEventPayload, 'kind' | 'zones' | 'dwell' | 'continues'> {
  return { kind: e.kind, zones: e.zones, dwell: e.dwell, continues: e.continues };
}
