/**
 * The MQTT publisher against real brokers: Mosquitto (external) stopped and restarted → the client reconnects with
 * backoff, the offline buffer stays within its bounds and the newest messages arrive; the embedded aedes broker →
 * retained online status, and `offline` as the last will when the connection dies without a goodbye.
 */
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../src/mqtt/broker.ts';
import { MqttPublisher } from '../../src/mqtt/client.ts';
import { logger } from '../../src/log.ts';
import { readFileSync } from 'node:fs';
import { Mosquitto, makeTestCertificates, mosquittoAvailable } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/processes.ts';

const log = logger('test:mqtt');

/** A subscriber collecting every message on `topic` (with retained ones). */
async function collector(url: string, topic: string): Promise<{ messages: Array<{ topic: string; payload: string; retain: boolean }>; end: () => Promise<void> }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, clean: true });
  const messages: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on('message', (t, p, packet) => messages.push({ topic: t, payload: p.toString(), retain: packet.retain }));
  await client.subscribeAsync(topic, { qos: 1 });
  return { messages, end: () => client.endAsync(true) };
}

describe.skipIf(!mosquittoAvailable())('MqttPublisher with Mosquitto', () => {
  const broker = new Mosquitto();
  afterAll(() => broker.stop());

  it('buffers within bounds while the broker is down and delivers the newest messages after reconnecting', async () => {
    await broker.start();
    const publisher = new MqttPublisher({
      url: broker.url,
      clientId: 'raypack-test-pub',
      statusTopic: 'raypack/test/status',
      qos: 1,
      reconnect: { initialMs: 100, maxMs: 400 },
      buffer: { maxMessages: 20, maxBytes: 4096 },
      log,
      // No jitter: the subscriber below must be in before the publisher's reconnect (the full 400 ms).
      random: () => 0,
    });
    await publisher.start();
    expect(publisher.stats().connected).toBe(true);

    await broker.stop();
    await waitFor(() => !publisher.stats().connected, 5000, 'the publisher to notice');
    for (let i = 0; i < 100; i += 1) publisher.publish(`raypack/test/cam/face`, JSON.stringify({ i, pad: 'x'.repeat(100) }));
    const offline = publisher.stats();
    expect(offline.buffered).toBeLessThanOrEqual(20);
    expect(offline.bufferedBytes).toBeLessThanOrEqual(4096);
    expect(offline.dropped).toBe(100 - offline.buffered);
    // The reconnect delay doubles, capped at 400 ms.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(publisher.stats().nextReconnectInMs).toBeLessThanOrEqual(400);

    await broker.start();
    // Subscribe at once: the publisher is still waiting out its reconnect delay (up to 400 ms).
    const sub = await collector(broker.url, 'raypack/test/#');
    await waitFor(() => publisher.stats().connected, 10_000, 'the reconnect');
    publisher.publish('raypack/test/cam/face', JSON.stringify({ i: 100 }));
    await waitFor(() => sub.messages.some((m) => m.payload.includes('"i":100')), 5000, 'a message after the reconnect');
    const delivered = sub.messages.filter((m) => m.topic.endsWith('/face')).map((m) => (JSON.parse(m.payload) as { i: number }).i);
    // The newest buffered messages, in order, then the new one.
    expect(delivered).toEqual([...Array.from({ length: offline.buffered }, (_, k) => 100 - offline.buffered + k), 100]);
    expect(publisher.stats().buffered).toBe(0);
    expect(publisher.stats().connects).toBe(2);
    const status = sub.messages.filter((m) => m.topic === 'raypack/test/status').map((m) => m.payload);
    expect(status.at(-1)).toBe('online');
    await publisher.stop();
    await waitFor(() => sub.messages.some((m) => m.topic === 'raypack/test/status' && m.payload === 'offline'), 5000, 'offline on stop');
    await sub.end();
    console.info(`mqtt: 100 published while down → ${offline.buffered} buffered (${offline.bufferedBytes} bytes), ${offline.dropped} dropped`);
  }, 40_000);
});

describe.skipIf(!mosquittoAvailable())('MqttPublisher over TLS with a password (Mosquitto)', () => {
  const tls = makeTestCertificates();
  const broker = new Mosquitto({ tls: { cert: tls.cert, key: tls.key }, user: { name: 'edge', password: 'tls-secret-pw' } });
  afterAll(() => broker.stop());

  it('connects with mqtts://, the CA file and the password, and is refused with a wrong password', async () => {
    await broker.start();
    const make = (password: string, clientId: string): MqttPublisher =>
      new MqttPublisher({
        url: broker.url,
        clientId,
        username: 'edge',
        password,
        tls: { ca: tls.ca },
        statusTopic: 'raypack/tls/status',
        qos: 1,
        reconnect: { initialMs: 5000, maxMs: 5000 },
        buffer: { maxMessages: 10, maxBytes: 10_000 },
        log,
      });
    const good = make('tls-secret-pw', 'raypack-tls-good');
    await good.start(5000);
    expect(good.stats().connected).toBe(true);
    const sub = await mqtt.connectAsync(broker.url, { username: 'edge', password: 'tls-secret-pw', ca: readFileSync(tls.ca) });
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('raypack/tls/#', { qos: 1 });
    good.publish('raypack/tls/cam/face', '{"totalfaces":1}');
    await waitFor(() => got.includes('{"totalfaces":1}'), 5000, 'a message over TLS');

    const bad = make('wrong-password', 'raypack-tls-bad');
    await bad.start(1500);
    expect(bad.stats().connected).toBe(false);
    bad.publish('raypack/tls/cam/face', '{"lost":true}');
    expect(bad.stats().buffered).toBe(1);
    await bad.stop();
    await good.stop();
    await sub.endAsync(true);
  }, 30_000);
});

describe('MqttPublisher with the embedded broker', () => {
  it('keeps online retained and lets the broker publish offline as last will when the connection dies', async () => {
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, log });
    await broker.start();
    try {
      const publisher = new MqttPublisher({
        url: broker.url,
        clientId: 'raypack-test-lwt',
        statusTopic: 'raypack/lwt/status',
        qos: 1,
        reconnect: { initialMs: 60_000, maxMs: 60_000 },
        buffer: { maxMessages: 10, maxBytes: 10_000 },
        log,
      });
      await publisher.start();
      publisher.publish('raypack/lwt/cam/status', JSON.stringify({ state: 'streaming' }), { retain: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A late subscriber gets the retained values.
      const late = await collector(broker.url, 'raypack/lwt/#');
      await waitFor(() => late.messages.length >= 2, 5000, 'retained messages');
      expect(late.messages.find((m) => m.topic === 'raypack/lwt/status')).toMatchObject({ payload: 'online', retain: true });
      // Kill the TCP connection without DISCONNECT, as a crash or a pulled cable would.
      (publisher as unknown as { client: { stream: { destroy: () => void } } }).client.stream.destroy();
      await waitFor(() => late.messages.some((m) => m.topic === 'raypack/lwt/status' && m.payload === 'offline'), 5000, 'the last will');
      await publisher.stop();
      await late.end();
    } finally {
      await broker.stop();
    }
  });

  it('explains a busy port', async () => {
    const first = new EmbeddedBroker({ host: '127.0.0.1', port: 0, log });
    await first.start();
    const second = new EmbeddedBroker({ host: '127.0.0.1', port: first.port, log });
    try {
      await expect(second.start()).rejects.toThrow(/embedded MQTT broker cannot listen: 127\.0\.0\.1:\d+ is in use \(another MQTT broker\?\)/);
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});
