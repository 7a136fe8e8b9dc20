/**
 * Home Assistant MQTT discovery as an extension (constructor stores deps; start/stop). On start it announces every
 * camera (retained configs), listens for Home Assistant's birth message (`<prefix>/status` = online) to announce
 * again, and removes the entities of cameras (or tasks) that are gone: the broker hands back our retained configs
 * on subscribe, and any that we would not publish now is cleared with an empty retained payload. Every second the
 * cameras' views are published when they changed (and at the heartbeat); at the snapshot interval each camera's
 * anonymised snapshot (the same render as /cameras/:id/snapshot.jpg in the camera's facemode) is sent while the
 * broker is connected. Nothing un-anonymised is ever published: no analysed frame, no image.
 */
import type { Camera } from '../../camera/camera.ts';
import type { Lang } from '../../detect/labels.ts';
import type { Logger } from '../../log.ts';
import type { MqttPublisher } from '../../mqtt/client.ts';
import { encodePayload, type Topics } from '../../mqtt/topics.ts';
import { discoveryMessages, nodeId, type DiscoveryMessage } from './discovery.ts';
import { cameraView } from './view.ts';

export interface HomeAssistantDeps {
  readonly publisher: MqttPublisher;
  readonly topics: Topics;
  readonly cameras: () => ReadonlyMap<string, Camera>;
  readonly prefix: string;
  /** Home Assistant's birth topic (default `<prefix>/status`). */
  readonly statusTopic?: string;
  readonly snapshotIntervalMs: number;
  readonly heartbeatMs: number;
  readonly lang: Lang;
  readonly version: string;
  readonly log: Logger;
}

export class HomeAssistantExtension {
  private readonly deps: HomeAssistantDeps;
  private messages: DiscoveryMessage[] = [];
  private readonly lastView = new Map<string, { json: string; at: number }>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: Array<() => void> = [];
  private snapshotting = false;

  constructor(deps: HomeAssistantDeps) {
    this.deps = deps;
  }

  start(): void {
    const { publisher, prefix, topics } = this.deps;
    const cameras = [...this.deps.cameras().values()].map((c) => ({ id: c.id, tasks: c.config.tasks, zones: c.config.zones.map((z) => z.name), lines: c.config.lines.map((l) => l.name) }));
    this.messages = discoveryMessages({ prefix, topics, version: this.deps.version, cameras, image: this.deps.snapshotIntervalMs > 0 });
    this.announce();
    const ours = new Set(this.messages.map((m) => m.topic));
    this.unsubscribe.push(
      publisher.subscribe(this.deps.statusTopic ?? `${prefix.replace(/\/+$/, '')}/status`, (_topic, payload) => {
        if (payload.toString() !== 'online') return;
        this.deps.log.info('home assistant came online: announcing again', { entities: this.messages.length });
        this.announce();
        this.publishViews(true);
      }),
      publisher.subscribe(`${prefix.replace(/\/+$/, '')}/+/${nodeId(topics.device)}/+/config`, (topic, payload) => {
        if (ours.has(topic) || payload.length === 0) return;
        this.deps.log.info('removing a home assistant entity of a camera or task no longer configured', { topic });
        publisher.publish(topic, '', { retain: true });
      }),
    );
    this.publishViews(true);
    const tick = setInterval(() => this.publishViews(false), 1000);
    tick.unref();
    this.timers.push(tick);
    if (this.deps.snapshotIntervalMs > 0) {
      const snap = setInterval(() => void this.publishSnapshots(), this.deps.snapshotIntervalMs);
      snap.unref();
      this.timers.push(snap);
    }
    this.deps.log.info('home assistant discovery', { prefix, entities: this.messages.length, cameras: cameras.length });
  }

  stop(): void {
    this.timers.forEach((t) => clearInterval(t));
    this.timers = [];
    this.unsubscribe.forEach((u) => u());
    this.unsubscribe = [];
  }

  /** The discovery messages of the current cameras (tests, docs). */
  discovery(): readonly DiscoveryMessage[] {
    return this.messages;
  }

  private announce(): void {
    for (const m of this.messages) this.deps.publisher.publish(m.topic, encodePayload('haConfig', m.config), { retain: true, qos: 1 });
  }

  private publishViews(force: boolean): void {
    const now = Date.now();
    for (const camera of this.deps.cameras().values()) {
      const view = cameraView(camera.status(), camera.latestResult(), camera.config.fps, this.deps.lang, now);
      const json = JSON.stringify(view);
      const last = this.lastView.get(camera.id);
      if (!force && last && last.json === json && now - last.at < this.deps.heartbeatMs) continue;
      this.lastView.set(camera.id, { json, at: now });
      this.deps.publisher.publish(this.deps.topics.view(camera.id), json, { retain: true });
    }
  }

  private async publishSnapshots(): Promise<void> {
    if (this.snapshotting || !this.deps.publisher.stats().connected) return;
    this.snapshotting = true;
    try {
      for (const camera of this.deps.cameras().values()) {
        const result = camera.latestResult();
        const view = result && cameraView(camera.status(), result, camera.config.fps, this.deps.lang, Date.now());
        if (!result || !view?.fresh) continue;
        try {
          // The camera's own facemode (pixel, fill or black): the schema allows nothing that shows faces here.
          const jpeg = await camera.snapshots.get(result, camera.config.facemode, camera.config.hex);
          this.deps.publisher.publish(this.deps.topics.snapshot(camera.id), encodePayload('snapshot', jpeg), { qos: 0, volatile: true });
        } catch (error) {
          this.deps.log.warn('snapshot for home assistant failed', { camera: camera.id, error: (error as Error).message });
        }
      }
    } finally {
      this.snapshotting = false;
    }
  }
}
