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
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.ts';
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
});
