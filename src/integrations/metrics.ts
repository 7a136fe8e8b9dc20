/**
 * Prometheus metrics (prom-client), as an extension: start() builds a registry of its own (never the global one,
 * so two daemons in one process, e.g. tests, do not share series) whose camera, queue and MQTT series are read
 * from the running parts at scrape time; analysis latency is observed from each camera's results; HTTP requests
 * are counted by the /metrics plugin (src/http/metrics-plugin.ts). stop() detaches the listeners.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Camera } from '../camera/camera.ts';
import type { PublisherStats } from '../mqtt/client.ts';
import type { InferenceQueue } from '../pipeline/inference-queue.ts';

export interface MetricsDeps {
  readonly cameras: () => ReadonlyMap<string, Camera>;
  readonly queue: () => InferenceQueue | undefined;
  readonly mqtt: () => PublisherStats | undefined;
}

/** Analysis stages timed per camera frame: face detection, objects/food detection, and arrival to result. */
export const ANALYSIS_STAGES = ['face', 'objects', 'total'] as const;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  private readonly deps: MetricsDeps;
  private registryValue: Registry | undefined;
  private httpRequests: Counter<'method' | 'route' | 'status'> | undefined;
  private httpDuration: Histogram<'method' | 'route'> | undefined;
  private unsubscribe: Array<() => void> = [];

  constructor(deps: MetricsDeps) {
    this.deps = deps;
  }

  get registry(): Registry {
    if (!this.registryValue) throw new Error('metrics are not started');
    return this.registryValue;
  }

  start(): void {
    const registry = new Registry();
    this.registryValue = registry;
    collectDefaultMetrics({ register: registry });
    // prom-client names these three gauges *_total, which Prometheus reserves for counters (promtool check metrics
    // flags them); the counts by type stay in nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
    const { cameras, queue, mqtt } = this.deps;
    const registers = [registry];
    const statuses = () => [...cameras().values()].map((c) => c.status());

    /** A counter or gauge whose values are read from a running part at scrape time (the part owns the count). */
    type Read<L extends string> = () => Array<[Partial<Record<L, string>>, number]>;
    const collectFrom = <L extends string>(read: Read<L>) =>
      function collect(this: { reset(): void; inc(labels: Partial<Record<L, string>>, value: number): void }): void {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      };
    const readCounter = <L extends string>(name: string, help: string, labelNames: readonly L[], read: Read<L>): void => {
      new Counter<L>({ name, help, labelNames, registers, collect: collectFrom(read) });
    };
    const readGauge = <L extends string>(name: string, help: string, labelNames: readonly L[], read: Read<L>): void => {
      new Gauge<L>({ name, help, labelNames, registers, collect: collectFrom(read) });
    };

    readCounter('raypack_camera_frames_received_total', 'Frames received from ffmpeg.', ['camera'], () =>
      statuses().map((s) => [{ camera: s.camera }, s.frames.received]),
    );
    readCounter('raypack_camera_frames_analysed_total', 'Frames analysed.', ['camera'], () => statuses().map((s) => [{ camera: s.camera }, s.frames.analysed]));
    readCounter('raypack_camera_frames_dropped_total', 'Frames not analysed, by cause: replaced by a newer frame, queue full, too old, analysis failed.', ['camera', 'reason'], () =>
      statuses().flatMap((s) => [
        [{ camera: s.camera, reason: 'replaced' }, s.dropReasons.replaced],
        [{ camera: s.camera, reason: 'queue_full' }, s.dropReasons.queueFull],
        [{ camera: s.camera, reason: 'stale' }, s.dropReasons.stale],
        [{ camera: s.camera, reason: 'failed' }, s.dropReasons.failed],
      ] as Array<[Partial<Record<'camera' | 'reason', string>>, number]>),
    );
    readCounter('raypack_camera_ffmpeg_restarts_total', 'ffmpeg restarts (exits and watchdog kills).', ['camera'], () => statuses().map((s) => [{ camera: s.camera }, s.restarts]));
    readCounter('raypack_camera_ffmpeg_stalls_total', 'Watchdog kills of an ffmpeg that delivered no frame in time.', ['camera'], () =>
      statuses().map((s) => [{ camera: s.camera }, s.stalls]),
    );
    readGauge('raypack_camera_fps', 'Measured frames per second from ffmpeg.', ['camera'], () => statuses().map((s) => [{ camera: s.camera }, s.fps]));
    readGauge('raypack_camera_streaming', '1 while the camera is streaming, 0 otherwise.', ['camera'], () =>
      statuses().map((s) => [{ camera: s.camera }, s.state === 'streaming' ? 1 : 0]),
    );
    readGauge('raypack_camera_faces', 'Faces in the latest analysed frame.', ['camera'], () => statuses().map((s) => [{ camera: s.camera }, s.faces ?? 0]));

    // Zone and line counts (docs/COUNTING.md): the counters fall to 0 at the daily reset (counting.reset_time),
    // which Prometheus' rate() and increase() take as a counter reset.
    const zones = () => statuses().flatMap((s) => s.counting.zones.map((z) => ({ camera: s.camera, zone: z.name, z })));
    readGauge('raypack_zone_occupancy', 'Object tracks in the zone now.', ['camera', 'zone'], () => zones().map(({ camera, zone, z }) => [{ camera, zone }, z.occupancy]));
    readCounter('raypack_zone_entries_total', 'Object tracks that entered the zone since the daily reset.', ['camera', 'zone'], () =>
      zones().map(({ camera, zone, z }) => [{ camera, zone }, z.entered]),
    );
    readCounter('raypack_zone_exits_total', 'Object tracks that left the zone since the daily reset.', ['camera', 'zone'], () =>
      zones().map(({ camera, zone, z }) => [{ camera, zone }, z.exited]),
    );
    readCounter('raypack_line_crossings_total', 'Object tracks that crossed the line since the daily reset, by direction (in, out).', ['camera', 'line', 'direction'], () =>
      statuses().flatMap((s) =>
        s.counting.lines.flatMap((l) => [
          [{ camera: s.camera, line: l.name, direction: 'in' }, l.counts.in],
          [{ camera: s.camera, line: l.name, direction: 'out' }, l.counts.out],
        ] as Array<[Partial<Record<'camera' | 'line' | 'direction', string>>, number]>),
      ),
    );

    const queueStats = () => {
      const q = queue();
      return q ? { ...q.stats(), capacity: q.capacity, concurrency: q.concurrency } : undefined;
    };
    readGauge('raypack_inference_queue_waiting', 'Inference jobs waiting.', [], () => [[{}, queueStats()?.waiting ?? 0]]);
    readGauge('raypack_inference_queue_running', 'Inference jobs running.', [], () => [[{}, queueStats()?.running ?? 0]]);
    readGauge('raypack_inference_queue_capacity', 'Most inference jobs that may wait.', [], () => [[{}, queueStats()?.capacity ?? 0]]);
    readCounter('raypack_inference_queue_rejected_total', 'Inference jobs refused because the queue was full (API 503s and dropped camera frames).', [], () => [
      [{}, queueStats()?.rejected ?? 0],
    ]);
    readCounter('raypack_inference_jobs_total', 'Inference jobs finished, by outcome.', ['outcome'], () => {
      const s = queueStats();
      return [
        [{ outcome: 'completed' }, s?.completed ?? 0],
        [{ outcome: 'failed' }, s?.failed ?? 0],
      ];
    });

    readGauge('raypack_mqtt_connected', '1 while connected to the MQTT broker.', [], () => [[{}, mqtt()?.connected ? 1 : 0]]);
    readGauge('raypack_mqtt_buffered_messages', 'Messages waiting in the offline buffer.', [], () => [[{}, mqtt()?.buffered ?? 0]]);
    readGauge('raypack_mqtt_buffered_bytes', 'Payload bytes waiting in the offline buffer.', [], () => [[{}, mqtt()?.bufferedBytes ?? 0]]);
    readCounter('raypack_mqtt_dropped_total', 'Messages dropped from the full offline buffer.', [], () => [[{}, mqtt()?.dropped ?? 0]]);
    readCounter('raypack_mqtt_published_total', 'Messages handed to the broker.', [], () => [[{}, mqtt()?.published ?? 0]]);
    readCounter('raypack_mqtt_connects_total', 'Successful connections to the broker.', [], () => [[{}, mqtt()?.connects ?? 0]]);

    const analysis = new Histogram<'camera' | 'stage'>({
      name: 'raypack_analysis_seconds',
      help: 'Analysis latency of camera frames by stage: face detection, objects/food detection, total (frame arrival to result).',
      labelNames: ['camera', 'stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    for (const camera of cameras().values()) {
      this.unsubscribe.push(
        camera.onResult((result) => {
          analysis.observe({ camera: camera.id, stage: 'face' }, result.faceSeconds);
          const tags = result.objects ?? result.food;
          if (tags) analysis.observe({ camera: camera.id, stage: 'objects' }, Math.max(0, tags.endtime - tags.starttime) / 1000);
          analysis.observe({ camera: camera.id, stage: 'total' }, Math.max(0, Date.now() - result.frame.time) / 1000);
        }),
      );
    }

    this.httpRequests = new Counter({
      name: 'raypack_http_requests_total',
      help: 'HTTP requests by method, route (the route pattern; unmatched for 404s) and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'raypack_http_request_duration_seconds',
      help: 'HTTP request duration by method and route (MJPEG streams count until they end).',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** Count one answered HTTP request. `route` must be the route pattern (bounded), never the raw URL. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests?.inc({ method, route, status: String(status) });
    this.httpDuration?.observe({ method, route }, seconds);
  }

  stop(): void {
    this.unsubscribe.forEach((u) => u());
    this.unsubscribe = [];
  }
}
