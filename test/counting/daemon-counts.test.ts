/**
 * Zone and line counts on the running daemon: a camera reading real footage (one-by-one-person-detection.mp4 from
 * 14 s, at its own pace, so a person stands at the table and walks out past the exit line 5 s in), the objects task
 * with CenterNet, the embedded broker and HTTP. The counts come out where a user reads them: retained MQTT messages
 * on zones/<zone> and lines/<line>, object track events with their zones, /cameras and /metrics; after a restart
 * the day's counts carry on from the state directory (counting/persist.ts), and a broken counts file loses nothing
 * else.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogSink } from '../../src/log.ts';
import { startDemoDaemon, type DemoDaemon } from '../helpers/demo-daemon.ts';
import { waitFor } from '../helpers/processes.ts';
import { jinjaAvailable, renderTemplates } from '../helpers/jinja.ts';
import { parseExposition, promtoolAvailable, promtoolCheck, sampleValue } from '../helpers/prometheus.ts';
import { haConfigProblems } from '../integrations/ha-schema.ts';

setLogSink(() => {});

const VIDEO = join(import.meta.dirname, '../../../shared/data/video/one-by-one-person-detection.mp4');
const LINE = { name: 'exit', a: [0.75, 1], b: [0.75, 0], in: 'left_to_right' };
const ZONE = { name: 'table', points: [[0.3, 0.7], [0.72, 0.7], [0.72, 1], [0.3, 1]] };

/** The shop camera: the footage from `from` s at its own pace, CenterNet at 0.15, one zone and one line. */
function shopCamera(from: number): Record<string, unknown> {
  return {
    id: 'shop',
    url: VIDEO,
    realtime: true,
    input_args: ['-ss', String(from)],
    fps: 5,
    width: 768,
    height: 432,
    tasks: ['objects'],
    thresholds: { objects: 0.15 },
    zones: [ZONE],
    lines: [LINE],
  };
}

describe.skipIf(!existsSync(VIDEO))('counts on the running daemon', () => {
  let d: DemoDaemon;
  const state = mkdtempSync(join(tmpdir(), 'raypack-counts-state-'));
  let subscriber: mqtt.MqttClient;
  const messages: Array<{ topic: string; body: Record<string, unknown>; retain: boolean }> = [];

  beforeAll(async () => {
    d = await startDemoDaemon(
      { models: { objects: { model: 'centernet' } }, state_dir: state, cameras: [shopCamera(14)] },
      { demo: false },
    );
    subscriber = await mqtt.connectAsync(d.endpoints.mqttUrl);
    subscriber.on('message', (topic, payload, packet) => messages.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain }));
    await subscriber.subscribeAsync('raypack/testdev/shop/#');
  }, 60_000);

  afterAll(async () => {
    await subscriber?.endAsync(true);
    await d?.daemon.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('publishes the crossing and the zone visit as retained counters, and the track events with their zones', async () => {
    const crossed = await waitFor(() => messages.find((m) => m.topic === 'raypack/testdev/shop/lines/exit' && m.body.in === 1), 60_000, 'a crossing of the exit line');
    // Live delivery to an existing subscription clears the retain flag (MQTT 3.1.1, 3.3.1.3); the late subscriber below reads it retained.
    expect(crossed).toMatchObject({ body: { camera: 'shop', line: 'exit', in: 1, out: 0, since: expect.any(Number), time: expect.any(Number) } });
    const left = await waitFor(() => messages.find((m) => m.topic === 'raypack/testdev/shop/zones/table' && m.body.exited === 1), 30_000, 'an exit from the zone');
    expect(left.body).toMatchObject({ zone: 'table', entered: 1, exited: 1, occupancy: 0, tracks: [] });
    expect(left.body.mean_dwell_seconds).toBeGreaterThan(2);
    const events = messages.filter((m) => m.topic === 'raypack/testdev/shop/events' && m.body.kind === 'object');
    expect(events.find((e) => e.body.type === 'new')?.body).toMatchObject({ label: 'person', zones: ['table'] });

    // A subscriber that comes later reads the counts from the broker's retained messages.
    const late = await mqtt.connectAsync(d.endpoints.mqttUrl);
    const retained: Record<string, Record<string, unknown>> = {};
    late.on('message', (topic, payload, packet) => {
      if (packet.retain) retained[topic] = JSON.parse(payload.toString()) as Record<string, unknown>;
    });
    await late.subscribeAsync(['raypack/testdev/shop/lines/+', 'raypack/testdev/shop/zones/+']);
    await waitFor(() => Object.keys(retained).length === 2, 10_000, 'two retained counters');
    await late.endAsync(true);
    expect(retained['raypack/testdev/shop/lines/exit']).toMatchObject({ in: 1, out: 0 });
    expect(retained['raypack/testdev/shop/zones/table']).toMatchObject({ entered: 1, exited: 1 });
  }, 100_000);

  it('shows the zones and lines with their counts in /cameras and /metrics', async () => {
    const cameras = (await (await fetch(`${d.http}/cameras`)).json()) as { cameras: Array<{ camera: string; counting: Record<string, unknown> }> };
    const counting = cameras.cameras.find((c) => c.camera === 'shop')!.counting;
    expect(counting).toMatchObject({
      since: expect.any(Number),
      zones: [{ name: 'table', points: ZONE.points, occupancy: 0, entered: 1, exited: 1 }],
      lines: [{ name: 'exit', a: LINE.a, b: LINE.b, in: 'left_to_right', counts: { in: 1, out: 0 } }],
    });
    const text = await (await fetch(`${d.http}/metrics`)).text();
    if (promtoolAvailable()) expect(promtoolCheck(text)).toMatchObject({ status: 0, output: '' });
    const e = parseExposition(text);
    expect(sampleValue(e, 'raypack_line_crossings_total', { camera: 'shop', line: 'exit', direction: 'in' })).toBe(1);
    expect(sampleValue(e, 'raypack_line_crossings_total', { camera: 'shop', line: 'exit', direction: 'out' })).toBe(0);
    expect(sampleValue(e, 'raypack_zone_entries_total', { camera: 'shop', zone: 'table' })).toBe(1);
    expect(sampleValue(e, 'raypack_zone_exits_total', { camera: 'shop', zone: 'table' })).toBe(1);
    expect(sampleValue(e, 'raypack_zone_occupancy', { camera: 'shop', zone: 'table' })).toBe(0);
  });

  it.skipIf(!jinjaAvailable())('announces the counters to Home Assistant: configs that pass its schema, templates that render the counts', async () => {
    const configs = new Map<string, Record<string, unknown>>();
    const payloads = new Map<string, string>();
    const client = await mqtt.connectAsync(d.endpoints.mqttUrl);
    client.on('message', (topic, payload) => {
      if (topic.startsWith('homeassistant/')) configs.set(topic, JSON.parse(payload.toString()) as Record<string, unknown>);
      else payloads.set(topic, payload.toString());
    });
    await client.subscribeAsync(['homeassistant/sensor/raypack_testdev/+/config', 'raypack/testdev/shop/zones/+', 'raypack/testdev/shop/lines/+']);
    await waitFor(() => [...configs.keys()].filter((t) => /shop_(zone|line)_/.test(t)).length === 5 && payloads.size === 2, 10_000, 'five counter configs and two counters');
    await client.endAsync(true);
    const counters = [...configs].filter(([t]) => /shop_(zone|line)_/.test(t));
    const jobs = counters.map(([topic, c]) => {
      expect(haConfigProblems(topic, c), topic).toEqual([]);
      return { key: topic.split('/')[3], template: c.value_template as string, payload: payloads.get(c.state_topic as string)! };
    });
    const rendered = Object.fromEntries(renderTemplates(jobs).map((value, i) => [jobs[i].key, value]));
    expect(rendered).toEqual({ shop_zone_table_occupancy: '0', shop_zone_table_entered: '1', shop_zone_table_exited: '1', shop_line_exit_in: '1', shop_line_exit_out: '0' });
  }, 30_000);

  it('carries the day\'s counts on after a restart, from the state directory; a broken counts file is moved aside', async () => {
    // The subscriber goes first: a client whose broker stops under it retries and reports errors of its own.
    await subscriber.endAsync(true);
    await d.daemon.stop();
    const file = join(state, 'counts', 'shop.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { version: number; since: number; zones: Record<string, unknown>; lines: Record<string, unknown> };
    expect(saved).toMatchObject({ version: 1, zones: { table: { entered: 1, exited: 1 } }, lines: { exit: { in: 1, out: 0 } } });
    // The footage from its start: nobody crosses the line in its first 19 s, so what /cameras shows is what was saved.
    const cameras = async (x: DemoDaemon) => ((await (await fetch(`${x.http}/cameras`)).json()) as { cameras: Array<{ camera: string; counting: { since?: number; zones: Array<Record<string, unknown>>; lines: Array<{ counts: Record<string, number> }> } }> }).cameras.find((c) => c.camera === 'shop')!.counting;
    d = await startDemoDaemon({ models: { objects: { model: 'centernet' } }, state_dir: state, cameras: [shopCamera(0)] }, { demo: false });
    await waitFor(() => d.daemon.camera('shop')?.latestResult() !== undefined, 30_000, 'a frame analysed after the restart');
    const restored = await cameras(d);
    expect(restored.since).toBe(saved.since);
    expect(restored.zones[0]).toMatchObject({ name: 'table', entered: 1, exited: 1 });
    expect(restored.lines[0].counts).toEqual({ in: 1, out: 0 });
    await d.daemon.stop();

    writeFileSync(file, '{"version": 1, "since": "yesterday"');
    d = await startDemoDaemon({ models: { objects: { model: 'centernet' } }, state_dir: state, cameras: [shopCamera(0)] }, { demo: false });
    await waitFor(() => d.daemon.camera('shop')?.latestResult() !== undefined, 30_000, 'a frame analysed after the second restart');
    const fresh = await cameras(d);
    expect(fresh.zones[0]).toMatchObject({ entered: 0, exited: 0 });
    expect(fresh.lines[0].counts).toEqual({ in: 0, out: 0 });
    expect(readFileSync(`${file}.bad`, 'utf8')).toBe('{"version": 1, "since": "yesterday"');
  }, 90_000);
});
