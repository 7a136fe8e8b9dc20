/**
 * Home Assistant MQTT discovery against a real Mosquitto: the daemon with its demo camera (ffmpeg, the real ONNX
 * detectors) announces a device per camera; every config is checked against Home Assistant's documented schema
 * (ha-schema.ts) and its templates are rendered with real Jinja2 against the payloads the daemon publishes; the
 * image entity gets anonymised JPEGs; stale entities are cleared; HA's birth message makes it announce again.
 */
import mqtt from 'mqtt';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';
import { setLogSink } from '../../src/log.ts';
import { VERSION } from '../../src/version.ts';
import { startDemoDaemon, waitForDemoFaces, type DemoDaemon } from '../helpers/demo-daemon.ts';
import { jinjaAvailable, renderTemplates } from '../helpers/jinja.ts';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.ts';
import { sleep, waitFor } from '../helpers/processes.ts';
import { haConfigProblems } from './ha-schema.ts';

const logs: string[] = [];
setLogSink((line) => {
  logs.push(line);
  if (logs.length > 5000) logs.splice(0, 1000);
});

interface Seen {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
  readonly at: number;
}

const NODE = 'raypack_testdev';
const STALE = `homeassistant/sensor/${NODE}/gone_faces/config`;

/** Every retained message under `filter`, as a new subscriber gets them. */
async function retained(url: string, filter: string, waitMs = 1500): Promise<Map<string, Buffer>> {
  const client = await mqtt.connectAsync(url, { clientId: `retained-${Math.random().toString(16).slice(2)}` });
  const out = new Map<string, Buffer>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain) out.set(topic, payload);
  });
  await client.subscribeAsync(filter);
  await sleep(waitMs);
  await client.endAsync();
  return out;
}

describe.skipIf(!mosquittoAvailable())('Home Assistant discovery (real Mosquitto, demo camera)', () => {
  const broker = new Mosquitto();
  let d: DemoDaemon;
  let watcher: mqtt.MqttClient;
  const seen: Seen[] = [];
  let verifier: Detector;

  beforeAll(async () => {
    await broker.start();
    // A camera of an earlier run, announced and retained, that this configuration no longer has.
    const old = await mqtt.connectAsync(broker.url);
    await old.publishAsync(STALE, JSON.stringify({ name: 'Faces', unique_id: `${NODE}_gone_faces`, state_topic: 'raypack/testdev/gone/view' }), { retain: true, qos: 1 });
    await old.endAsync();
    watcher = await mqtt.connectAsync(broker.url);
    watcher.on('message', (topic, payload, packet) => seen.push({ topic, payload, retain: packet.retain, at: Date.now() }));
    await watcher.subscribeAsync('#');
    d = await startDemoDaemon({ mqtt: { url: broker.url, heartbeat_seconds: 5 }, homeassistant: { snapshot_interval_seconds: 2 } });
    verifier = await loadDetector('face', { threads: 1 });
  }, 120_000);

  afterAll(async () => {
    await watcher?.endAsync(true);
    await d?.daemon.stop();
    await verifier?.close();
    await broker.stop();
  });

  it('announces a device per camera: retained configs that pass Home Assistant\'s schema, with unique ids and availability on our status topic', async () => {
    const configs = await waitFor(async () => {
      const found = await retained(broker.url, `homeassistant/+/${NODE}/+/config`);
      return found.size >= 6 ? found : undefined;
    }, 30_000, 'the retained discovery configs');
    const entities = [...configs.keys()].map((t) => t.split('/').slice(1, 4).join('/')).sort();
    expect(entities).toEqual([
      `binary_sensor/${NODE}/demo_occupancy`,
      `image/${NODE}/demo_snapshot`,
      `sensor/${NODE}/demo_faces`,
      `sensor/${NODE}/demo_objects`,
      `sensor/${NODE}/demo_people`,
      `sensor/${NODE}/demo_state`,
    ]);
    const uniqueIds = new Set<string>();
    for (const [topic, payload] of configs) {
      const config = JSON.parse(payload.toString()) as Record<string, unknown>;
      expect(haConfigProblems(topic, config), topic).toEqual([]);
      uniqueIds.add(config.unique_id as string);
      expect(config.device).toEqual({ identifiers: [`${NODE}_demo`], name: 'demo (testdev)', model: 'RAYPACK Edge camera', manufacturer: 'RAYPACK', sw_version: VERSION });
      const availability = config.availability as Array<{ topic: string; payload_available?: string; payload_not_available?: string }>;
      expect(availability[0]).toEqual({ topic: 'raypack/testdev/status', payload_available: 'online', payload_not_available: 'offline' });
    }
    expect(uniqueIds.size).toBe(configs.size);
    const occupancy = JSON.parse(configs.get(`homeassistant/binary_sensor/${NODE}/demo_occupancy/config`)!.toString()) as Record<string, unknown>;
    expect(occupancy.device_class).toBe('occupancy');
    const image = JSON.parse(configs.get(`homeassistant/image/${NODE}/demo_snapshot/config`)!.toString()) as Record<string, unknown>;
    expect(image).toMatchObject({ image_topic: 'raypack/testdev/demo/snapshot', content_type: 'image/jpeg' });
    // The schema check is able to fail.
    expect(haConfigProblems(`homeassistant/binary_sensor/${NODE}/x/config`, { ...occupancy, device_class: 'people', colour: 1 })).toEqual([
      'colour: not an option of binary_sensor',
      'device_class: people is not a binary_sensor device class',
    ]);
    expect(haConfigProblems(`homeassistant/image/${NODE}/x/config`, { ...image, url_topic: 'a/b' })).toContain('image_topic/url_topic: exactly one is required');
  }, 60_000);

  it.skipIf(!jinjaAvailable())('renders every template with Jinja2 against the payloads it reads: numbers, ON/OFF, a state among the options, online', async () => {
    await waitForDemoFaces(d);
    const view = await waitFor(async () => {
      const r = await retained(broker.url, 'raypack/testdev/demo/view', 800);
      const payload = r.get('raypack/testdev/demo/view')?.toString();
      return payload && (JSON.parse(payload) as { fresh: boolean; faces: number }).fresh && (JSON.parse(payload) as { faces: number }).faces > 0 ? payload : undefined;
    }, 60_000, 'a fresh retained view with faces');
    const status = (await retained(broker.url, 'raypack/testdev/demo/status', 800)).get('raypack/testdev/demo/status')!.toString();
    const configs = await retained(broker.url, `homeassistant/+/${NODE}/+/config`);
    const jobs: Array<{ template: string; payload: string; key: string }> = [];
    for (const [topic, payload] of configs) {
      const c = JSON.parse(payload.toString()) as Record<string, unknown>;
      const key = topic.split('/')[3];
      const source = c.state_topic === 'raypack/testdev/demo/status' ? status : view;
      if (typeof c.value_template === 'string') jobs.push({ key, template: c.value_template, payload: source });
      for (const a of (c.availability as Array<{ topic: string; value_template?: string }>) ?? []) {
        if (a.value_template) jobs.push({ key: `${key}:availability`, template: a.value_template, payload: view });
      }
    }
    const rendered = Object.fromEntries(renderTemplates(jobs).map((value, i) => [jobs[i].key, value]));
    console.info(`rendered by Jinja2: ${JSON.stringify(rendered)}`);
    expect(Number(rendered.demo_faces)).toBeGreaterThan(0);
    expect(Number.isInteger(Number(rendered.demo_faces))).toBe(true);
    expect(['0', '1']).toContain(rendered.demo_people);
    expect(rendered.demo_occupancy).toBe('ON');
    expect(rendered.demo_state).toBe('streaming');
    expect(rendered['demo_faces:availability']).toBe('online');
    expect(typeof rendered.demo_objects).toBe('string');
  }, 90_000);

  it('sends the image entity anonymised JPEGs of the camera, in which the face detector finds no face', async () => {
    await waitForDemoFaces(d);
    const since = Date.now();
    const shot = await waitFor(() => seen.find((m) => m.topic === 'raypack/testdev/demo/snapshot' && m.at >= since), 30_000, 'a snapshot message');
    expect(shot.retain).toBe(false);
    expect([...shot.payload.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const { data, info } = await sharp(shot.payload).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBe(640);
    const faces = await verifier.detect({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height });
    const camera = d.daemon.camera('demo')!;
    console.info(`snapshot: ${shot.payload.length} bytes ${info.width}x${info.height}; faces in the camera's latest analysis ${camera.latestResult()?.faces.length}, found again in the snapshot ${faces.length}`);
    expect(faces.length).toBe(0);
  }, 60_000);

  it('clears the retained config of a camera that is no longer configured', async () => {
    await waitFor(() => seen.some((m) => m.topic === STALE && m.payload.length === 0), 20_000, 'an empty payload on the stale config topic');
    const left = await retained(broker.url, `homeassistant/+/${NODE}/+/config`);
    expect(left.has(STALE)).toBe(false);
  }, 30_000);

  it('announces every entity again when Home Assistant publishes online on homeassistant/status', async () => {
    const before = Date.now();
    const ha = await mqtt.connectAsync(broker.url);
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await ha.endAsync();
    const again = await waitFor(() => {
      const topics = new Set(seen.filter((m) => m.at >= before && m.topic.startsWith('homeassistant/') && m.topic.endsWith('/config') && m.payload.length > 0).map((m) => m.topic));
      return topics.size >= 6 ? topics : undefined;
    }, 15_000, 'the configs published again');
    expect(again.size).toBe(6);
  }, 30_000);

  it('marks the entities unavailable when the daemon stops (offline on raypack/testdev/status, retained)', async () => {
    await d.daemon.stop();
    const status = await retained(broker.url, 'raypack/testdev/status', 800);
    expect(status.get('raypack/testdev/status')?.toString()).toBe('offline');
  }, 30_000);

  it('announces nothing when homeassistant.enabled is false', async () => {
    const quiet = await startDemoDaemon({ device: 'quiet', mqtt: { url: broker.url }, homeassistant: { enabled: false } }, { demo: false });
    try {
      await sleep(2000);
      const configs = await retained(broker.url, 'homeassistant/+/raypack_quiet/+/config', 800);
      expect(configs.size).toBe(0);
      expect(seen.some((m) => m.topic === 'raypack/quiet/status' && m.payload.toString() === 'online')).toBe(true);
    } finally {
      await quiet.daemon.stop();
    }
  }, 60_000);
});
