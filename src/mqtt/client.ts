/**
 * The one wrapper around MQTT.js. It owns reconnection (doubling delay up to a low cap, each delay shortened by up
 * to a quarter at random so that clients that lost the broker together do not return in step; never longer than
 * the cap, so a broker that comes back is found within it whatever the outage length: a reconnect attempt to a
 * dead broker is one refused TCP connection, as cheap as any probe) and a bounded offline buffer, because MQTT.js's
 * own offline queue has no bound. The device status is `online` (retained) on every connect and
 * `offline` as the last will and on a clean stop. Publishing never throws and never blocks a camera.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { redactUrl, type Logger } from '../log.ts';
import { realClock, type Clock } from '../camera/supervisor.ts';
import { OfflineBuffer, type BufferedMessage } from './offline-buffer.ts';
import { topicMatches } from './topics.ts';

export interface PublisherOptions {
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly protocolVersion?: 4 | 5;
  readonly tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  readonly keepaliveSeconds?: number;
  readonly statusTopic: string;
  readonly qos: 0 | 1;
  readonly reconnect: { initialMs: number; maxMs: number };
  readonly buffer: { maxMessages: number; maxBytes: number };
  readonly log: Logger;
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for the reconnect jitter (tests fix them). */
  readonly random?: () => number;
}

export interface PublisherStats {
  readonly connected: boolean;
  readonly connects: number;
  readonly published: number;
  readonly buffered: number;
  readonly bufferedBytes: number;
  readonly dropped: number;
  readonly nextReconnectInMs?: number;
}

/** A message received on a subscribed filter; `retained` is true for messages the broker kept (sent on subscribe). */
export type MessageHandler = (topic: string, payload: Buffer, retained: boolean) => void;

export class MqttPublisher {
  private readonly options: PublisherOptions;
  private readonly clock: Clock;
  private readonly buffer: OfflineBuffer;
  private client: MqttClient | undefined;
  private connected = false;
  private stopping = false;
  private failures = 0;
  private reconnectTimer: unknown;
  private reconnectAt: number | undefined;
  private connects = 0;
  private published = 0;
  private readonly connectListeners = new Set<() => void>();
  /** Topic filters we subscribe to (again on every connect: sessions are clean) and their handlers. */
  private readonly subscriptions = new Map<string, Set<MessageHandler>>();

  constructor(options: PublisherOptions) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.buffer = new OfflineBuffer(options.buffer);
  }

  /** Connect in the background; resolves at the first connect or after `waitMs`, whichever comes first. */
  async start(waitMs = 3000): Promise<void> {
    const o = this.options;
    const clientOptions: IClientOptions = {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      protocolVersion: o.protocolVersion ?? 4,
      keepalive: o.keepaliveSeconds ?? 30,
      clean: true,
      reconnectPeriod: 0, // we reconnect ourselves, with backoff
      connectTimeout: 10_000,
      queueQoSZero: false,
      will: { topic: o.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ca: o.tls?.ca ? readFileSync(o.tls.ca) : undefined,
      cert: o.tls?.cert ? readFileSync(o.tls.cert) : undefined,
      key: o.tls?.key ? readFileSync(o.tls.key) : undefined,
      rejectUnauthorized: o.tls?.rejectUnauthorized ?? true,
    };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (error) => o.log.warn('mqtt error', { error: redactUrl(error.message) }));
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.onceConnected(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Publish now when connected, else buffer (bounded). A `volatile` message (a snapshot image) is only worth
   * sending now: while disconnected it is dropped instead of pushing results out of the buffer.
   */
  publish(topic: string, payload: Buffer | string, options: { retain?: boolean; qos?: 0 | 1; volatile?: boolean } = {}): void {
    const message: BufferedMessage = {
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      retain: options.retain ?? false,
      qos: options.qos ?? this.options.qos,
    };
    if (this.connected && this.client) this.send(message);
    else if (!options.volatile) this.buffer.push(message);
  }

  /** Receive messages on `filter` (MQTT wildcards allowed), now and after every reconnect. Returns the unsubscribe. */
  subscribe(filter: string, handler: MessageHandler): () => void {
    let handlers = this.subscriptions.get(filter);
    if (!handlers) {
      handlers = new Set();
      this.subscriptions.set(filter, handlers);
      if (this.connected) this.client?.subscribe(filter, { qos: 1 });
    }
    handlers.add(handler);
    return () => {
      const set = this.subscriptions.get(filter);
      if (!set?.delete(handler) || set.size > 0) return;
      this.subscriptions.delete(filter);
      if (this.connected) this.client?.unsubscribe(filter);
    };
  }

  stats(): PublisherStats {
    return {
      connected: this.connected,
      connects: this.connects,
      published: this.published,
      buffered: this.buffer.size,
      bufferedBytes: this.buffer.byteSize,
      dropped: this.buffer.dropped,
      nextReconnectInMs: this.reconnectAt !== undefined ? Math.max(0, this.reconnectAt - this.clock.now()) : undefined,
    };
  }

  onceConnected(listener: () => void): void {
    if (this.connected) {
      listener();
      return;
    }
    const wrapped = (): void => {
      this.connectListeners.delete(wrapped);
      listener();
    };
    this.connectListeners.add(wrapped);
  }

  /** Publish `offline` (retained), disconnect cleanly, stop reconnecting. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer !== undefined) this.clock.clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    if (this.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(this.options.statusTopic, 'offline', { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      client.end(!this.connected, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.connected = false;
  }

  private send(message: BufferedMessage): void {
    this.client!.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }, (error) => {
      if (error) this.options.log.debug('publish not confirmed', { topic: message.topic, error: error.message });
    });
    this.published += 1;
  }

  private onConnect(): void {
    this.connected = true;
    this.connects += 1;
    this.failures = 0;
    this.reconnectAt = undefined;
    this.options.log.info('connected to broker', { url: redactUrl(this.options.url), buffered: this.buffer.size, dropped: this.buffer.dropped });
    this.send({ topic: this.options.statusTopic, payload: Buffer.from('online'), retain: true, qos: 1 });
    for (const message of this.buffer.drain()) this.send(message);
    if (this.subscriptions.size > 0) this.client!.subscribe([...this.subscriptions.keys()], { qos: 1 });
    for (const listener of [...this.connectListeners]) listener();
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    for (const [filter, handlers] of this.subscriptions) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of handlers) {
        try {
          handler(topic, payload, retained);
        } catch (error) {
          this.options.log.warn('mqtt message handler failed', { topic, error: error instanceof Error ? error.message : String(error) });
        }
      }
    }
  }

  private onClose(): void {
    const wasConnected = this.connected;
    this.connected = false;
    if (this.stopping || this.reconnectTimer !== undefined) return;
    const nominal = Math.min(this.options.reconnect.maxMs, this.options.reconnect.initialMs * 2 ** Math.min(this.failures, 30));
    const delay = Math.round(nominal * (1 - 0.25 * (this.options.random ?? Math.random)()));
    this.failures += 1;
    if (wasConnected) this.options.log.warn('lost the broker; buffering', { reconnectInMs: delay });
    else this.options.log.debug('broker unreachable', { reconnectInMs: delay });
    this.reconnectAt = this.clock.now() + delay;
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping) this.client?.reconnect();
    }, delay);
  }
}
