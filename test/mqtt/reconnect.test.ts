/**
 * Reconnecting after long broker outages. Before: delays doubled to a 30 s cap, so a broker that came back could
 * wait half a minute for us. Now the cap is 8 s (each delay up to a quarter shorter at random, never longer), so the
 * publisher is back within 10 s of the broker whatever the outage length. The delays on fake time against a port
 * where nothing listens (real refused connections), then for real with Mosquitto and the configuration's defaults.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { logger } from '../../src/log.ts';
import { MqttPublisher } from '../../src/mqtt/client.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.ts';
import { freePort, waitFor } from '../helpers/processes.ts';

const log = logger('test:mqtt:reconnect');
const defaults = loadConfig({ text: '' }).config.mqtt.reconnect;
const reconnect = { initialMs: defaults.initial_seconds * 1000, maxMs: defaults.max_seconds * 1000 };

function publisher(url: string, extra: { clock?: FakeClock; random?: () => number } = {}): MqttPublisher {
  return new MqttPublisher({
    url,
    clientId: `raypack-reconnect-${Math.random().toString(16).slice(2)}`,
    statusTopic: 'raypack/test/status',
    qos: 1,
    reconnect,
    buffer: { maxMessages: 10, maxBytes: 4096 },
    log,
    ...extra,
  });
}

/** The reconnect delays the publisher schedules, one per refused attempt, on fake time. */
async function delays(random: number, attempts: number): Promise<number[]> {
  const clock = new FakeClock();
  const port = await freePort();
  const pub = publisher(`mqtt://127.0.0.1:${port}`, { clock, random: () => random });
  await pub.start(0);
  const seen: number[] = [];
  try {
    for (let i = 0; i < attempts; i += 1) {
      await waitFor(() => clock.pending().length === 1, 5000, `reconnect ${i + 1} to be scheduled`);
      const [delay] = clock.pending();
      seen.push(delay);
      clock.advance(delay);
    }
  } finally {
    await pub.stop();
  }
  return seen;
}

describe('reconnect delays (fake time, refused connections)', () => {
  it('double from 1 s to the 8 s default cap, and stay there', async () => {
    expect(reconnect).toEqual({ initialMs: 1000, maxMs: 8000 });
    expect(await delays(0, 7)).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 8000]);
  });

  it('jitter shortens each delay by up to a quarter, never lengthens it', async () => {
    expect(await delays(0.8, 5)).toEqual([800, 1600, 3200, 6400, 6400]);
    expect(await delays(0.9999, 1)).toEqual([750]);
  });
});

describe.skipIf(!mosquittoAvailable())('a broker that comes back after a long outage (Mosquitto, real time, default delays)', () => {
  const broker = new Mosquitto();
  afterAll(() => broker.stop());

  it('is reconnected within 10 s of its return after 17 s away', async () => {
    await broker.start();
    const pub = publisher(broker.url);
    await pub.start();
    try {
      expect(pub.stats().connected).toBe(true);
      await broker.stop();
      await waitFor(() => !pub.stats().connected, 5000, 'the publisher to notice');
      await new Promise((resolve) => setTimeout(resolve, 17_000));
      const waiting = pub.stats().nextReconnectInMs;
      await broker.start();
      const back = Date.now();
      await waitFor(() => pub.stats().connected, 15_000, 'the reconnect');
      const seconds = (Date.now() - back) / 1000;
      console.info(`mqtt recovery: next attempt was ${waiting} ms away at the broker's return; connected ${seconds.toFixed(1)} s after it`);
      expect(seconds).toBeLessThan(10);
      expect(pub.stats().connects).toBe(2);
    } finally {
      await pub.stop();
    }
  }, 60_000);
});
