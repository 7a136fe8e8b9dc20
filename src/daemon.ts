/**
 * The composition root: builds every part from the validated configuration and starts/stops them in a visible
 * order. Constructors elsewhere only store their dependencies; all wiring is here.
 *
 * start: files named by the config (the fetch CA) → queue → detectors (face warmed up) → MQTT (embedded broker if
 *        no URL) → cameras → HTTP (API limits and URL-fetch policy from the `api` section)
 * stop:  HTTP (ends MJPEG) → cameras (ffmpeg stopped and reaped) → MQTT (offline published) → broker → detectors
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Camera } from './camera/camera.ts';
import { CameraAnalyser, type AnalysedFrame } from './analysis/camera.ts';
import { objectTrackingSettings } from './config/counting.ts';
import { countsPath, CountsStore, readSavedCounts, retiredCounters } from './counting/persist.ts';
import type { SavedCounts } from './counting/counter.ts';
import { AnalysisStage } from './analysis/stage.ts';
import type { PrivacySettings } from './analysis/privacy.ts';
import { loadPoseDetector, type PoseDetector } from './detect/pose.ts';
import { rasterisePolygons } from './image/privacy-mask.ts';
import { DEMO_HEIGHT, DEMO_WIDTH, ensureDemoVideo } from './camera/demo-video.ts';
import { buildFfmpegArgs, parseFfmpegMajor } from './camera/ffmpeg-args.ts';
import { CameraSource } from './camera/supervisor.ts';
import { displayUrl, urlSecrets } from './camera/url.ts';
import { apiOptions, readFetchCa } from './config/api-options.ts';
import { cameraUrl, cameraWithDefaults } from './config/load.ts';
import type { CameraConfig, Config, LoadedConfig } from './config/types.ts';
import { loadDetector, variantChoiceFor, type LoadOptions } from './detect/registry.ts';
import { thisCpuPath } from './os/cpu.ts';
import type { Detector, Task } from './detect/types.ts';
import { buildServer } from './http/server.ts';
import { listenHttp, localUrl, reachableUrls } from './http/listen.ts';
import { camerasPlugin, type HealthReport } from './http/cameras.ts';
import { logger, redactUrl, setLogLevel, type Logger } from './log.ts';
import { startLocalBroker, type EmbeddedBroker } from './mqtt/broker.ts';
import { MqttPublisher } from './mqtt/client.ts';
import { Topics } from './mqtt/topics.ts';
import { InferenceQueue } from './pipeline/inference-queue.ts';
import { FrameScheduler } from './pipeline/scheduler.ts';
import { dashboardPlugin } from './http/dashboard/plugin.ts';
import { metricsPlugin } from './http/metrics-plugin.ts';
import { RecentEvents } from './integrations/events.ts';
import type { Extension } from './integrations/extension.ts';
import { HomeAssistantExtension } from './integrations/homeassistant/extension.ts';
import { HlsStreams } from './integrations/hls.ts';
import type { HlsWriter } from './camera/hls.ts';
import { Metrics } from './integrations/metrics.ts';
import { VERSION } from './version.ts';

const log = logger('daemon');

/** The demo camera: analysed at 640 px wide, the photos' aspect kept. */
export const DEMO_CAMERA: Omit<CameraConfig, 'url'> = (({ url: _url, ...camera }) => camera)(
  cameraWithDefaults({ id: 'demo', url: 'demo', fps: 2, height: Math.round((640 * DEMO_HEIGHT) / DEMO_WIDTH / 2) * 2, tasks: ['face', 'objects'], loop: true }),
);

/** The analysis stage's privacy settings from config `privacy`. */
export function privacySettings(p: Config['privacy']): PrivacySettings {
  return {
    threshold: p.threshold,
    tiles: p.tiles,
    zoom: p.zoom,
    maxTilesPerSide: p.max_tiles_per_side,
    overlap: p.overlap,
    models: p.models,
    modelThreshold: p.models_threshold,
    personHeads: p.person_heads,
    personThreshold: p.person_threshold,
    poseHeads: p.pose_heads,
    headCover: p.head_cover,
    flip: p.flip,
    border: p.border,
  };
}

/** loadDetector options from the config: `inference.threads` and `models.<task>` (food follows models.objects). */
export function detectorOptions(config: Pick<Config, 'inference' | 'models'>, task: Task): LoadOptions {
  const choice = config.models[task === 'face' ? 'face' : 'objects'];
  return {
    threads: config.inference.threads || undefined,
    ...(choice.model !== undefined ? { modelId: choice.model } : {}),
    ...(choice.variant !== undefined ? { variant: choice.variant } : {}),
    ...(choice.tiles !== undefined ? { tiles: choice.tiles } : {}),
  };
}

export interface DaemonEndpoints {
  readonly httpUrl?: string;
  readonly mqttUrl: string;
  readonly topics: string;
}

export class Daemon {
  private readonly loaded: LoadedConfig;
  private readonly config: Config;
  private readonly started = Date.now();
  private queue!: InferenceQueue;
  private readonly detectorPromises = new Map<string, Promise<Detector>>();
  private broker: EmbeddedBroker | undefined;
  private publisher: MqttPublisher | undefined;
  private topics!: Topics;
  private readonly cameras = new Map<string, Camera>();
  private readonly analysers = new Map<string, CameraAnalyser>();
  private stage!: AnalysisStage;
  private pose: Promise<PoseDetector> | undefined;
  private scheduler!: FrameScheduler<AnalysedFrame>;
  private http: FastifyInstance | undefined;
  /** Integrations (src/integrations), started after the cameras in this order and stopped in reverse. */
  private readonly extensions: Extension[] = [];
  private hls: HlsStreams | undefined;
  private readonly loadedModels = new Map<Task, string>();
  private endpointsValue: DaemonEndpoints | undefined;
  private stopped = false;

  constructor(loaded: LoadedConfig) {
    this.loaded = loaded;
    this.config = loaded.config;
  }

  get endpoints(): DaemonEndpoints {
    if (!this.endpointsValue) throw new Error('the daemon is not started');
    return this.endpointsValue;
  }

  cameraIds(): string[] {
    return [...this.cameras.keys()];
  }

  camera(id: string): Camera | undefined {
    return this.cameras.get(id);
  }

  /** A camera's anonymised HLS writer, when its hls.enabled is set. */
  hlsStream(id: string): HlsWriter | undefined {
    return this.hls?.writer(id);
  }

  /** ffmpeg pids of the cameras and their HLS encoders (tests check none survive stop()). */
  ffmpegPids(): number[] {
    const sources = [...this.cameras.values()].map((c) => c.sourcePid()).filter((p): p is number => p !== undefined);
    return [...sources, ...(this.hls?.pids() ?? [])];
  }

  async start(): Promise<DaemonEndpoints> {
    const c = this.config;
    setLogLevel(c.log_level);
    log.info('starting', { device: c.device, config: this.loaded.source, cameras: c.cameras.length + (c.demo ? 1 : 0) });

    // 0. Files the configuration names are read first: a wrong path stops the start before models are loaded.
    const fetchCa = c.http.enabled && c.api.fetch.ca_file !== undefined ? readFetchCa(c.api.fetch.ca_file) : undefined;

    // 1. The inference queue shared by cameras and the API, and the detectors (the face model warmed up, so the first camera frame is not slow).
    this.queue = new InferenceQueue({ concurrency: c.inference.concurrency, capacity: c.inference.queue_size });
    const face = await this.detector('face');
    await face.detect({ data: new Uint8Array(64 * 64 * 3), width: 64, height: 64 });
    const cpu = thisCpuPath();
    log.info('cpu', { path: cpu.label, int8Kernel: cpu.int8Kernel, flags: cpu.flags });
    log.info('face detector ready', { model: face.modelId, why: variantChoiceFor('face', detectorOptions(c, 'face')).reason });
    // The objects detector is loaded now too when cameras need it or the config picks one, so a model that cannot
    // load (e.g. an int8 copy that was never built) stops the start with its message instead of failing every frame.
    const cameraTasks = [...c.cameras.flatMap((cam) => cam.tasks), ...(c.demo ? DEMO_CAMERA.tasks : [])];
    const bodyMode = c.cameras.some((cam) => cam.facemode === 'body');
    if (cameraTasks.some((t) => t === 'objects' || t === 'food') || bodyMode || Object.keys(c.models.objects).length > 0) {
      const objects = await this.detector('objects');
      log.info('objects detector ready', { model: objects.modelId, why: variantChoiceFor('objects', detectorOptions(c, 'objects')).reason });
    }

    // The one analysis stage, shared by the cameras and the API; second-opinion face models load on first use.
    const privacy = privacySettings(c.privacy);
    let extra: Promise<Detector[]> | undefined;
    this.stage = new AnalysisStage({
      detectors: (task) => this.detector(task),
      privacy,
      privacyModels: () => (extra ??= Promise.all(privacy.models.map((id) => this.extraDetector(id)))),
      poseDetector: () => (this.pose ??= loadPoseDetector({ threads: c.inference.threads || undefined })),
    });
    // What hiding needs is loaded now: a model that cannot load stops the start here, not every frame later.
    if (privacy.poseHeads) log.info('pose detector ready (for hiding heads)', { model: (await this.stage.poseDetectorReady()).modelId });
    for (const model of await this.stage.privacyModelsReady()) log.info('second-opinion face model ready (for hiding)', { model: model.modelId });
    if (privacy.personHeads && !this.detectorPromises.has('objects')) {
      // Person heads need the objects detector: load it now, so a model that cannot load stops the start here.
      const objects = await this.detector('objects');
      log.info('objects detector ready (for hiding the heads of people)', { model: objects.modelId });
    }
    log.info('privacy', { ...privacy });

    // 2. MQTT.
    this.topics = new Topics(c.mqtt.base_topic, c.device);
    let mqttUrl = c.mqtt.url;
    if (mqttUrl === undefined) {
      const local = await startLocalBroker({
        host: c.mqtt.embedded.host,
        port: c.mqtt.embedded.port,
        portGiven: this.loaded.given.has('mqtt.embedded.port'),
        log: logger('mqtt:broker'),
      });
      this.broker = local.embedded;
      mqttUrl = local.url;
    }
    this.publisher = new MqttPublisher({
      url: mqttUrl,
      clientId: c.mqtt.client_id ?? `raypack-edge-${c.device}`,
      username: c.mqtt.username,
      password: this.loaded.secrets.mqttPassword,
      protocolVersion: c.mqtt.protocol_version,
      tls: { ca: c.mqtt.tls.ca, cert: c.mqtt.tls.cert, key: c.mqtt.tls.key, rejectUnauthorized: c.mqtt.tls.reject_unauthorized },
      keepaliveSeconds: c.mqtt.keepalive_seconds,
      statusTopic: this.topics.deviceStatus(),
      qos: c.mqtt.qos,
      reconnect: { initialMs: c.mqtt.reconnect.initial_seconds * 1000, maxMs: c.mqtt.reconnect.max_seconds * 1000 },
      buffer: { maxMessages: c.mqtt.offline_buffer.max_messages, maxBytes: c.mqtt.offline_buffer.max_bytes },
      log: logger('mqtt'),
    });
    await this.publisher.start();
    if (!this.publisher.stats().connected) log.warn('MQTT broker not reachable yet; buffering and retrying', { url: redactUrl(mqttUrl) });

    // 3. Cameras. One that cannot be set up is logged and skipped; the others run.
    this.scheduler = new FrameScheduler<AnalysedFrame>({
      queue: this.queue,
      analyse: (id, frame) => this.analysers.get(id)?.analyse(frame) ?? Promise.resolve(),
      // A frame older than two analysis intervals (at least 1 s) is not worth analysing any more.
      maxAgeMs: (id) => Math.max(1000, 2000 / (this.cameras.get(id)?.config.fps ?? 1)),
      log: logger('scheduler'),
    });
    const ffmpegMajor = probeFfmpegMajor(c.ffmpeg_path);
    if (c.cameras.length === 0 && !c.demo) {
      log.warn('no cameras configured and the demo camera is off: only the HTTP API will analyse images', {
        config: this.loaded.source,
        hint: 'add cameras, or demo: true for the demo camera (it runs by itself only when there is no config file)',
      });
    }
    const cameraConfigs = [...c.cameras];
    if (c.demo) {
      try {
        cameraConfigs.unshift({ ...DEMO_CAMERA, url: await this.demoVideo() });
      } catch (error) {
        log.error('demo camera not started: its video could not be made', { error: (error as Error).message });
      }
    }
    for (const cameraConfig of cameraConfigs) {
      if (!cameraConfig.enabled) continue;
      try {
        const url = cameraConfig.id === 'demo' && c.demo ? cameraConfig.url! : cameraUrl(this.loaded, cameraConfig.id);
        this.addCamera(cameraConfig, url, ffmpegMajor);
      } catch (error) {
        log.error('camera not started', { camera: cameraConfig.id, error: (error as Error).message });
      }
    }

    // 4. Extensions: metrics, recent events, Home Assistant discovery (each only when enabled).
    const metrics = c.http.enabled && c.metrics.enabled ? new Metrics({ cameras: () => this.cameras, queue: () => this.queue, mqtt: () => this.publisher?.stats() }) : undefined;
    const events = new RecentEvents({ cameras: () => this.cameras, lang: c.publish.lang });
    if (metrics) this.extensions.push(metrics);
    this.extensions.push(events);
    if (c.homeassistant.enabled) {
      this.extensions.push(
        new HomeAssistantExtension({
          publisher: this.publisher,
          topics: this.topics,
          cameras: () => this.cameras,
          prefix: c.homeassistant.prefix,
          statusTopic: c.homeassistant.status_topic,
          snapshotIntervalMs: c.homeassistant.snapshot_interval_seconds * 1000,
          heartbeatMs: c.mqtt.heartbeat_seconds * 1000,
          lang: c.publish.lang,
          version: VERSION,
          log: logger('homeassistant'),
        }),
      );
    }
    if (HlsStreams.wanted(cameraConfigs)) {
      this.hls = new HlsStreams({ cameras: () => this.cameras, ffmpegPath: c.ffmpeg_path, logger });
      this.extensions.push(this.hls);
    }
    for (const extension of this.extensions) await extension.start();

    // 5. HTTP.
    let httpUrl: string | undefined;
    if (c.http.enabled) {
      const api = apiOptions(c, fetchCa);
      this.http = buildServer({
        detectors: (task) => this.detector(task),
        stage: this.stage,
        queue: this.queue,
        apiKeys: this.loaded.secrets.apiKeys,
        ...api,
        video: { ...api.video, ffmpegPath: c.ffmpeg_path, ffprobePath: ffprobeBeside(c.ffmpeg_path) },
        deepstack: { enabled: c.deepstack.enabled, keylessClients: c.deepstack.keyless_clients },
        logger: logger('http'),
        plugins: [
          camerasPlugin({
            device: c.device,
            cameras: () => this.cameras,
            health: () => this.health(),
            mjpegFps: c.http.mjpeg_fps,
            mjpegMaxClients: c.http.mjpeg_max_clients,
            requireKey: c.http.require_key_for_cameras,
            hls: (id) => this.hls?.writer(id),
            log: logger('http:cameras'),
          }),
          dashboardPlugin({
            device: c.device,
            version: VERSION,
            cameras: () => this.cameras,
            health: () => this.health(),
            models: () => [...this.loadedModels].map(([task, model]) => ({ task, model })),
            events: () => events.recent(),
            lang: c.publish.lang,
            requireKey: c.http.require_key_for_cameras,
            admin: () => this.adminDetails(mqttUrl!),
          }),
          ...(metrics ? [metricsPlugin({ metrics, requireKey: c.metrics.require_key })] : []),
        ],
      });
      const port = await listenHttp(this.http, { host: c.http.host, port: c.http.port, portGiven: this.loaded.given.has('http.port'), log });
      httpUrl = localUrl(c.http.host, port);
      log.info('HTTP listening', { host: c.http.host, port, reachableAt: reachableUrls(c.http.host, port) });
      log.info('api limits', {
        maxUploadBytes: c.api.max_upload_bytes,
        maxPixels: c.api.max_pixels,
        maxInFlight: c.api.max_in_flight,
        fetchAllow: c.api.fetch.allow,
        fetchCa: c.api.fetch.ca_file,
        trustProxy: c.api.trust_proxy,
      });
    }

    this.endpointsValue = { httpUrl, mqttUrl, topics: this.topics.all() };
    this.logWhereToLook();
    return this.endpointsValue;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const t0 = Date.now();
    log.info('stopping');
    // Each step is bounded, so one stuck part cannot keep the others (ffmpeg above all) from stopping.
    await step('http', () => this.http?.close(), 5000);
    await step('extensions', () => Promise.all([...this.extensions].reverse().map((e) => e.stop())), 5000);
    await step('cameras', () => Promise.all([...this.cameras.values()].map((camera) => camera.stop().finally(() => this.scheduler.clear(camera.id)))), 10_000);
    await step('mqtt', () => this.publisher?.stop(), 5000);
    await step('broker', () => this.broker?.stop(), 3000);
    // A frame still in a model when the cameras stopped finishes first: closing a session under a running
    // inference made ONNX Runtime log "Session already disposed" and failed that frame.
    await step('inference', () => this.queue?.idle(), 5000);
    // Only now has every frame that was in analysis reached its camera: the counts it changed are saved too.
    await step('counts', async () => this.cameras.forEach((camera) => camera.flushCounts()), 1000);
    await step('detectors', () => Promise.all([...this.detectorPromises.values(), ...(this.pose ? [this.pose] : [])].map((p) => p.then((d) => d.close()))), 5000);
    log.info('stopped', { ms: Date.now() - t0 });
  }

  health(): HealthReport {
    const cameras = Object.fromEntries([...this.cameras.values()].map((camera) => [camera.id, camera.status().state]));
    const mqtt = this.publisher?.stats();
    const queue = this.queue.stats();
    const allStreaming = Object.values(cameras).every((s) => s === 'streaming');
    return {
      status: allStreaming && (mqtt?.connected ?? false) ? 'ok' : 'degraded',
      device: this.config.device,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      cameras,
      mqtt: { connected: mqtt?.connected ?? false, buffered: mqtt?.buffered ?? 0, dropped: mqtt?.dropped ?? 0 },
      queue: { running: queue.running, waiting: queue.waiting, rejected: queue.rejected },
    };
  }

  /** One line for systemd's STATUS= (`systemctl status`): each camera's state, MQTT, the queue. */
  statusText(): string {
    if (!this.endpointsValue) return this.stopped ? 'stopping' : 'starting: loading detectors';
    const cameras = [...this.cameras.values()].map((camera) => `${camera.id} ${camera.status().state}`);
    const mqtt = this.publisher?.stats();
    const queue = this.queue.stats();
    return [
      cameras.length ? `cameras: ${cameras.join(', ')}` : 'no cameras',
      `MQTT ${mqtt?.connected ? 'connected' : `not connected (${mqtt?.buffered ?? 0} buffered)`}`,
      `queue ${queue.running} running, ${queue.waiting} waiting`,
    ].join('; ');
  }

  /** Process details for the dashboard's admin part. */
  private adminDetails(mqttUrl: string): Record<string, unknown> {
    const memory = process.memoryUsage();
    return {
      pid: process.pid,
      node: process.version,
      rssMiB: Math.round(memory.rss / 1048576),
      heapUsedMiB: Math.round(memory.heapUsed / 1048576),
      processUptimeSeconds: Math.round(process.uptime()),
      config: this.loaded.source,
      mqtt: redactUrl(mqttUrl),
    };
  }

  /** A second-opinion face model for hiding (privacy.models), loaded once. */
  private extraDetector(id: string): Promise<Detector> {
    const key = `privacy:${id}`;
    let promise = this.detectorPromises.get(key);
    if (!promise) {
      // The whole image only: a second opinion is there for the large faces the main model misses (masked, turned away); small ones are the tiles' job.
      promise = loadDetector('face', { modelId: id, threads: this.config.inference.threads || undefined, tiles: 0 });
      promise.catch(() => this.detectorPromises.delete(key));
      this.detectorPromises.set(key, promise);
    }
    return promise;
  }

  /** Detectors are loaded once and shared by cameras and the API. */
  private detector(task: Task): Promise<Detector> {
    let promise = this.detectorPromises.get(task);
    if (!promise) {
      promise = loadDetector(task, detectorOptions(this.config, task));
      promise.then((d) => this.loadedModels.set(task, d.modelId), () => undefined);
      // A failed load is retried on the next request rather than cached forever.
      promise.catch(() => this.detectorPromises.delete(task));
      this.detectorPromises.set(task, promise);
    }
    return promise;
  }

  private addCamera(cameraConfig: CameraConfig, url: string, ffmpegMajor: number | undefined): void {
    const c = this.config;
    const cameraLog = logger(`camera:${cameraConfig.id}`);
    const stallSeconds = cameraConfig.stall_timeout_seconds ?? c.stall_timeout_seconds;
    const args = buildFfmpegArgs({
      url,
      fps: cameraConfig.fps,
      width: cameraConfig.width,
      height: cameraConfig.height,
      fit: cameraConfig.fit,
      loop: cameraConfig.loop,
      realtime: cameraConfig.realtime,
      rtspTransport: cameraConfig.rtsp_transport,
      // The socket timeout ends ffmpeg on a dead connection; the watchdog covers a live one without frames.
      timeoutSeconds: Math.max(5, Math.min(30, stallSeconds)),
      inputArgs: cameraConfig.input_args,
      ffmpegMajor,
    });
    const source = new CameraSource({
      id: cameraConfig.id,
      ffmpegPath: c.ffmpeg_path,
      args,
      width: cameraConfig.width,
      height: cameraConfig.height,
      stallTimeoutMs: stallSeconds * 1000,
      connectTimeoutMs: Math.max(stallSeconds, cameraConfig.connect_timeout_seconds ?? c.connect_timeout_seconds) * 1000,
      backoff: { initialMs: c.restart_backoff.initial_seconds * 1000, maxMs: c.restart_backoff.max_seconds * 1000 },
      log: cameraLog,
      secrets: urlSecrets(url),
    });
    const id = cameraConfig.id;
    const { width, height, privacy_masks: polygons } = cameraConfig;
    const mask = polygons.length > 0 ? rasterisePolygons(polygons, width, height) : undefined;
    if (mask) cameraLog.info('privacy masks active', { polygons: polygons.length, pixels: mask.pixels });
    const counting = this.savedCounting(cameraConfig, cameraLog);
    const camera = new Camera({
      config: cameraConfig,
      source,
      frames: () => this.scheduler.stats(id),
      failedClosed: () => this.analysers.get(id)?.failedClosed ?? 0,
      publisher: this.publisher,
      topics: this.topics,
      publish: {
        minIou: c.publish.min_iou,
        minIntervalMs: c.publish.min_interval_seconds * 1000,
        heartbeatMs: c.mqtt.heartbeat_seconds * 1000,
        license: c.license,
      },
      log: cameraLog,
      ...(counting.path ? { countsStore: new CountsStore(counting.path) } : {}),
      ...(counting.retired ? { retiredCounters: counting.retired } : {}),
    });
    const analyser = new CameraAnalyser({
      stage: this.stage,
      settings: {
        camera: id,
        tasks: cameraConfig.tasks,
        thresholds: cameraConfig.thresholds,
        lang: c.publish.lang,
        privacy: cameraConfig.facemode === 'body' ? 'body' : 'faces',
        mask,
        tilesPerFrame: c.privacy.tiles_per_frame,
        tracker: { maxMissedMs: c.privacy.max_missed_seconds * 1000 },
        objectTracking: { ...objectTrackingSettings(cameraConfig), ...(counting.restored ? { restored: counting.restored } : {}) },
      },
      deliver: (result) => camera.accept(result),
    });
    // Frames flow one way: ffmpeg -> the scheduler (which holds its own reference on each) -> the analysis -> the camera's output.
    source.onFrame((raw) => this.scheduler.submit(id, { data: raw.data, width: raw.width, height: raw.height, seq: raw.seq, time: raw.time, ref: raw.ref.retain() }));
    this.cameras.set(id, camera);
    this.analysers.set(id, analyser);
    camera.start();
    cameraLog.info('camera started', { url: displayUrl(url), fps: cameraConfig.fps, size: `${cameraConfig.width}x${cameraConfig.height}`, tasks: cameraConfig.tasks });
  }

  /** Where generated files go: state_dir, else systemd's $STATE_DIRECTORY, else a temp directory. */
  private stateDir(): string {
    return this.config.state_dir || process.env.STATE_DIRECTORY?.split(':')[0] || join(tmpdir(), 'raypack-edge');
  }

  /** A counting camera's counts file, and the counts of today it restores (counting/persist.ts). */
  private savedCounting(camera: CameraConfig, cameraLog: Logger): { path?: string; restored?: SavedCounts; retired?: { zones: string[]; lines: string[] } } {
    const path = countsPath(this.stateDir(), camera.id);
    const counts = camera.tasks.includes('objects') && camera.zones.length + camera.lines.length > 0;
    const read = readSavedCounts(path, Date.now(), camera.counting.reset_time);
    if (read.state === 'bad') cameraLog.warn('saved counts unreadable: counting starts at 0', { path, reason: read.reason, movedTo: read.movedTo });
    if (read.state === 'none' || read.state === 'bad') return counts ? { path } : {};
    // Counters of zones and lines the camera no longer has are cleared on the broker, whatever their day.
    const retired = retiredCounters(read.counts, counts ? camera.zones.map((z) => z.name) : [], counts ? camera.lines.map((l) => l.name) : []);
    if (!counts) return { retired };
    if (read.state === 'stale') {
      cameraLog.info('saved counts are of an earlier day: counting starts at 0', { path });
      return { path, retired };
    }
    cameraLog.info('counts restored', { path, since: new Date(read.counts.since).toISOString() });
    return { path, restored: read.counts, retired };
  }

  private async demoVideo(): Promise<string> {
    const dir = this.stateDir();
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    const path = await ensureDemoVideo(dir, this.config.ffmpeg_path);
    log.info('demo video ready', { path, ms: Date.now() - started });
    return path;
  }

  private logWhereToLook(): void {
    const e = this.endpointsValue!;
    const ids = [...this.cameras.keys()];
    log.info('ready', {
      mqtt: redactUrl(e.mqttUrl),
      subscribe: `mosquitto_sub -h ${new URL(e.mqttUrl).hostname} -p ${new URL(e.mqttUrl).port || 1883} -t '${e.topics}' -v`,
      http: e.httpUrl,
      cameras: e.httpUrl ? `${e.httpUrl}/cameras` : undefined,
      snapshots: e.httpUrl ? ids.map((id) => `${e.httpUrl}/cameras/${id}/snapshot.jpg`) : undefined,
      streams: e.httpUrl ? ids.map((id) => `${e.httpUrl}/cameras/${id}/stream.mjpeg`) : undefined,
      hls: e.httpUrl && this.hls ? ids.filter((id) => this.hls!.writer(id)).map((id) => `${e.httpUrl}/cameras/${id}/hls/index.m3u8`) : undefined,
    });
  }
}

/** Run one shutdown step, logging failures and giving up after `ms`. */
async function step(name: string, run: () => unknown, ms: number): Promise<void> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    const outcome = await Promise.race([Promise.resolve(run()), timeout]);
    if (outcome === 'timeout') log.warn('shutdown step timed out', { step: name, ms });
    else log.debug('shutdown step done', { step: name, ms: Date.now() - started });
  } catch (error) {
    log.warn('shutdown step failed', { step: name, error: error instanceof Error ? error.message : String(error) });
  } finally {
    clearTimeout(timer);
  }
}

function probeFfmpegMajor(ffmpegPath: string): number | undefined {
  const result = spawnSync(ffmpegPath, ['-version'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error) {
    log.error('ffmpeg not found: cameras cannot start until it is installed', { ffmpeg: ffmpegPath, error: result.error.message });
    return undefined;
  }
  const major = parseFfmpegMajor(result.stdout);
  log.info('ffmpeg', { path: ffmpegPath, major });
  return major;
}

/** ffprobe from the same place as the configured ffmpeg (`/opt/ffmpeg/bin/ffmpeg` -> `/opt/ffmpeg/bin/ffprobe`). */
export function ffprobeBeside(ffmpegPath: string): string {
  return ffmpegPath.replace(/ffmpeg(\.exe)?$/, 'ffprobe$1');
}
