/**
 * A zone or line removed from the configuration leaves no counter behind on an external broker: the daemon knows
 * the names the camera counted before (its saved counts, counting/persist.ts) and clears their retained messages at
 * start. A real mosquitto, a real daemon, a camera on the shared footage.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { setLogSink } from '../../src/log.ts';
import { startDemoDaemon, type DemoDaemon } from '../helpers/demo-daemon.ts';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/processes.ts';

setLogSink(() => {});

const VIDEO = join(import.meta.dirname, '../../../shared/data/video/one-by-one-person-detection.mp4');

describe.skipIf(!existsSync(VIDEO) || !mosquittoAvailable())('counters of removed zones and lines', () => {
  const broker = new Mosquitto();
  const state = mkdtempSync(join(tmpdir(), 'raypack-retired-'));
  let d: DemoDaemon | undefined;

  afterAll(async () => {
    await d?.daemon.stop();
    await broker.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('clears the retained counters of a zone and a line the camera no longer has, and keeps the others', async () => {
    await broker.start();
    // What an earlier run left: its saved counts and its retained counters, of zone "gone" and line "old".
    mkdirSync(join(state, 'counts'));
    const since = Date.now() - 60_000;
    writeFileSync(join(state, 'counts', 'shop.json'), JSON.stringify({ version: 1, since, zones: { gone: { entered: 3, exited: 3, dwellMs: 9000 }, table: { entered: 1, exited: 0, dwellMs: 0 } }, lines: { old: { in: 2, out: 0 } } }));
    const earlier = await mqtt.connectAsync(broker.url);
    await earlier.publishAsync('raypack/testdev/shop/zones/gone', JSON.stringify({ zone: 'gone', entered: 3 }), { retain: true, qos: 1 });
    await earlier.publishAsync('raypack/testdev/shop/lines/old', JSON.stringify({ line: 'old', in: 2 }), { retain: true, qos: 1 });
    await earlier.endAsync();

    d = await startDemoDaemon(
      {
        mqtt: { url: broker.url, heartbeat_seconds: 5 },
        homeassistant: { enabled: false },
        state_dir: state,
        cameras: [{ id: 'shop', url: VIDEO, realtime: true, fps: 5, width: 768, height: 432, tasks: ['objects'], zones: [{ name: 'table', points: [[0.3, 0.7], [0.72, 0.7], [0.72, 1], [0.3, 1]] }], lines: [] }],
      },
      { demo: false },
    );
    await waitFor(() => d!.daemon.camera('shop')?.latestResult()?.counts !== undefined, 60_000, 'the first counts of the camera');

    // A subscriber that comes now reads what the broker retains.
    const late = await mqtt.connectAsync(broker.url);
    const retained = new Map<string, Record<string, unknown>>();
    late.on('message', (topic, payload, packet) => {
      if (packet.retain) retained.set(topic, JSON.parse(payload.toString()) as Record<string, unknown>);
    });
    await late.subscribeAsync(['raypack/testdev/shop/zones/+', 'raypack/testdev/shop/lines/+'], { qos: 1 });
    await waitFor(() => retained.has('raypack/testdev/shop/zones/table'), 10_000, 'the retained counter of zone table');
    // Give the broker time to send anything else it retains.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await late.endAsync();
    expect([...retained.keys()]).toEqual(['raypack/testdev/shop/zones/table']);
    // The zone still configured carries on from the saved counts.
    expect(retained.get('raypack/testdev/shop/zones/table')).toMatchObject({ entered: 1, since });
  }, 120_000);
});
