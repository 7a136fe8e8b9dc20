/**
 * The whole daemon in-process with real parts: a GStreamer RTSP server with faces, ffmpeg, the real ONNX face
 * detector, the embedded aedes broker and the HTTP server on real sockets. Next to the good camera run a camera
 * with a wrong URL and one that never answers; they must fail clearly without disturbing the good one.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detection, Detector } from '../../src/detect/types.ts';
import type { RgbImage } from '../../src/core/image.ts';
import { setLogSink } from '../../src/log.ts';
import { iou } from '../../src/core/geometry.ts';
import { childProcesses, waitFor } from '../helpers/processes.ts';
import { RtspServer, rtspServerAvailable } from '../helpers/rtsp.ts';

const logs: string[] = [];
setLogSink((line) => {
  logs.push(line);
  if (logs.length > 20_000) logs.splice(0, 5000);
});

const ADMIN = 'admin-key-for-daemon-tests-0001';
const USER = 'user-key-for-daemon-tests-00002';
// The privacy mask: a rectangle in the top-left corner of the 640x426 frame.
const MASK = { x0: 0, y0: 0, x1: 160, y1: 120 };

async function decodeJpeg(bytes: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

function meanInRect(image: RgbImage, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y += 1) {
    for (let x = x0; x < x1; x += 1) {
      const i = (y * image.width + x) * 3;
      sum += image.data[i] + image.data[i + 1] + image.data[i + 2];
      n += 3;
    }
  }
  return sum / n;
}

const asBox = (d: Detection) => ({ x: d.box[0], y: d.box[1], width: d.box[2], height: d.box[3] });

describe.skipIf(!rtspServerAvailable())('daemon with real parts', () => {
  const rtsp = new RtspServer({ fps: 10, secondsEach: 2 });
  let silent: Server;
  const silentSockets: Socket[] = [];
  let daemon: Daemon;
  let http: string;
  let subscriber: mqtt.MqttClient;
  const messages: Array<{ topic: string; payload: string; retain: boolean; at: number }> = [];
  let verifier: Detector;
  let startedAt = 0;

  beforeAll(async () => {
    await rtsp.start();
    silent = createServer((s) => silentSockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const loaded = loadConfig({
      text: JSON.stringify({
        device: 'e2e',
        stall_timeout_seconds: 8,
        restart_backoff: { initial_seconds: 0.3, max_seconds: 2 },
        mqtt: { embedded: { host: '127.0.0.1', port: 0 }, heartbeat_seconds: 5 },
        http: { host: '127.0.0.1', port: 0, mjpeg_fps: 5 },
        api_keys: [
          { env: 'E2E_ADMIN', admin: true, name: 'admin' },
          { env: 'E2E_USER', name: 'user' },
        ],
        cameras: [
          {
            id: 'door',
            url: rtsp.url,
            fps: 3,
            width: 640,
            height: 426,
            tasks: ['face'],
            allow_raw: true,
            privacy_masks: [[[MASK.x0, MASK.y0], [MASK.x1, MASK.y0], [MASK.x1, MASK.y1], [MASK.x0, MASK.y1]]],
          },
          { id: 'wrong', url: 'rtsp://viewer:pa55word@127.0.0.1:1/none', fps: 1 },
          { id: 'silent', url: `rtsp://127.0.0.1:${silentPort}/live`, fps: 1, stall_timeout_seconds: 2, connect_timeout_seconds: 2 },
        ],
      }),
      env: { E2E_ADMIN: ADMIN, E2E_USER: USER },
    });
    startedAt = Date.now();
    daemon = new Daemon(loaded);
    const endpoints = await daemon.start();
    http = endpoints.httpUrl!;
    subscriber = await mqtt.connectAsync(endpoints.mqttUrl);
    subscriber.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }));
    await subscriber.subscribeAsync(endpoints.topics);
    verifier = await loadDetector('face', { threads: 1 });
  }, 60_000);

  afterAll(async () => {
    await subscriber?.endAsync(true);
    await daemon?.stop();
    silentSockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await rtsp.kill();
    await verifier?.close();
  });

  it('publishes face results with faces within seconds, on change and not on every frame', async () => {
    const face = await waitFor(
      () => messages.find((m) => m.topic === 'raypack/e2e/door/face' && (JSON.parse(m.payload) as { totalfaces: number }).totalfaces >= 1),
      60_000,
      'a face message with totalfaces >= 1',
    );
    const body = JSON.parse(face.payload) as Record<string, unknown>;
    expect(body).toMatchObject({ camera: 'door', totalfaces: expect.any(Number), faces: expect.any(Array) });
    expect(typeof body.frametime).toBe('number');
    expect(typeof body.sequence).toBe('number');
    const first = (body.faces as Array<Record<string, number>>)[0];
    expect(Object.keys(first).sort()).toEqual(['height', 'score', 'width', 'xpos', 'ypos']);
    console.info(`daemon: first face message ${face.at - startedAt} ms after start, totalfaces ${String(body.totalfaces)}`);

    // Change-gated: over a few seconds, fewer face messages than analysed frames.
    const status = daemon.camera('door')!.status();
    const published = messages.filter((m) => m.topic === 'raypack/e2e/door/face').length;
    expect(published).toBeLessThan(status.frames.analysed + 1);
    const device = messages.find((m) => m.topic === 'raypack/e2e/status');
    expect(device).toMatchObject({ payload: 'online', retain: true });
  }, 70_000);

  it('publishes track events on raypack/<device>/<camera>/events: a new and, once the photo changes, its end', async () => {
    type Event = { camera: string; type: string; id: number; label: string; first_seen: number; last_seen: number; best_score: number; time: number };
    const events = (): Event[] => messages.filter((m) => m.topic === 'raypack/e2e/door/events').map((m) => JSON.parse(m.payload) as Event);
    // The RTSP server shows each photo for 2 s: a face's track ends 1.5 s (privacy.max_missed_seconds) after its photo went.
    const pair = await waitFor(
      () => {
        const list = events();
        const ended = list.find((e) => e.type === 'end' && list.some((n) => n.type === 'new' && n.id === e.id));
        return ended ? { created: list.find((n) => n.type === 'new' && n.id === ended.id)!, ended } : undefined;
      },
      40_000,
      'a new event and the end of the same track',
    );
    expect(pair.created).toMatchObject({ camera: 'door', label: expect.stringMatching(/^(face|head|person)$/) });
    expect(pair.created.best_score).toBeGreaterThan(0);
    expect(pair.ended.first_seen).toBe(pair.created.first_seen);
    expect(pair.ended.last_seen).toBeGreaterThanOrEqual(pair.created.last_seen);
    expect(pair.ended.time - pair.ended.last_seen).toBeGreaterThanOrEqual(1000);
    // One new and at most one end per id.
    const list = events();
    for (const id of new Set(list.map((e) => e.id))) {
      expect(list.filter((e) => e.id === id && e.type === 'new')).toHaveLength(1);
      expect(list.filter((e) => e.id === id && e.type === 'end').length).toBeLessThanOrEqual(1);
    }
    const retained = messages.filter((m) => m.topic === 'raypack/e2e/door/events' && m.retain);
    expect(retained).toEqual([]);
  }, 50_000);

  it('serves snapshots in which the detector finds none of the faces it finds in the raw frame, with the privacy mask black', async () => {
    // Raw and anonymised versions of the SAME analysed frame (matched by the frame header).
    let raw: Response | undefined;
    let anon: Response | undefined;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      // Both at once: they are rendered from the same latest result unless a new one lands in between.
      [raw, anon] = await Promise.all([
        fetch(`${http}/cameras/door/snapshot.jpg?facemode=raw`, { headers: { apikey: ADMIN } }),
        fetch(`${http}/cameras/door/snapshot.jpg`),
      ]);
      expect(raw.status).toBe(200);
      expect(anon.status).toBe(200);
      if (raw.headers.get('x-raypack-frame') === anon.headers.get('x-raypack-frame') && Number(anon.headers.get('x-raypack-faces')) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect(anon!.headers.get('content-type')).toBe('image/jpeg');
    const rawImage = await decodeJpeg(Buffer.from(await raw!.arrayBuffer()));
    const anonImage = await decodeJpeg(Buffer.from(await anon!.arrayBuffer()));
    expect([anonImage.width, anonImage.height]).toEqual([640, 426]);

    const rawFaces = await verifier.detect(rawImage);
    const anonFaces = await verifier.detect(anonImage);
    expect(rawFaces.length).toBeGreaterThanOrEqual(1);
    const survivors = rawFaces.filter((r) => anonFaces.some((a) => iou(asBox(r), asBox(a)) > 0.3));
    expect(survivors).toEqual([]);
    console.info(`daemon: raw snapshot ${rawFaces.length} faces, anonymised ${anonFaces.length} (${survivors.length} of the raw ones)`);

    // The mask is black in both (inset a few pixels for JPEG ringing at the edge).
    expect(meanInRect(rawImage, MASK.x0, MASK.y0, MASK.x1 - 4, MASK.y1 - 4)).toBeLessThan(6);
    expect(meanInRect(anonImage, MASK.x0, MASK.y0, MASK.x1 - 4, MASK.y1 - 4)).toBeLessThan(6);
    // ...and the rest of the picture is not.
    expect(meanInRect(rawImage, 200, 150, 640, 426)).toBeGreaterThan(30);
  }, 120_000);

  it('refuses un-anonymised images without an admin key or where the camera does not allow them', async () => {
    expect((await fetch(`${http}/cameras/door/snapshot.jpg?facemode=raw`)).status).toBe(401);
    expect((await fetch(`${http}/cameras/door/snapshot.jpg?facemode=default`, { headers: { apikey: USER } })).status).toBe(401);
    const notAllowed = await fetch(`${http}/cameras/wrong/snapshot.jpg?facemode=raw`, { headers: { apikey: ADMIN } });
    expect(notAllowed.status).toBe(400);
    expect(await notAllowed.text()).toMatch(/allow_raw is false/);
    expect((await fetch(`${http}/cameras/nope/snapshot.jpg`)).status).toBe(404);
    expect((await fetch(`${http}/cameras/door/snapshot.jpg?facemode=blur`)).status).toBe(400);
    const waiting = await fetch(`${http}/cameras/wrong/snapshot.jpg`);
    expect(waiting.status).toBe(503);
    expect(await waiting.text()).toMatch(/no analysed frame from camera 'wrong' yet/);
  });

  it('streams anonymised MJPEG as multipart/x-mixed-replace', async () => {
    const controller = new AbortController();
    const response = await fetch(`${http}/cameras/door/stream.mjpeg?facemode=fill`, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('multipart/x-mixed-replace; boundary=raypackframe');
    const reader = response.body!.getReader();
    let received = Buffer.alloc(0);
    const started = Date.now();
    while ((received.toString('latin1').match(/--raypackframe\r\n/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      received = Buffer.concat([received, Buffer.from(value)]);
    }
    const elapsed = Date.now() - started;
    controller.abort();
    const text = received.toString('latin1');
    expect(text).toMatch(/Content-Type: image\/jpeg\r\nContent-Length: \d+\r\n/);
    // The first part is a whole JPEG.
    const length = Number(/Content-Length: (\d+)/.exec(text)![1]);
    const start = text.indexOf('\r\n\r\n') + 4;
    const jpeg = received.subarray(start, start + length);
    expect(jpeg[0]).toBe(0xff);
    expect(jpeg[1]).toBe(0xd8);
    expect((await sharp(jpeg).metadata()).width).toBe(640);
    console.info(`daemon: 3 MJPEG parts in ${elapsed} ms`);
  }, 60_000);

  it('reports every camera: the good one streams, the wrong URL and the silent camera fail clearly and keep retrying', async () => {
    await waitFor(() => (daemon.camera('silent')!.status().stalls >= 1 ? true : undefined), 20_000, 'the silent camera to stall');
    const response = await fetch(`${http}/cameras`);
    const body = (await response.json()) as { device: string; cameras: Array<Record<string, unknown>> };
    const byId = Object.fromEntries(body.cameras.map((c) => [c.camera, c]));
    expect(body.device).toBe('e2e');
    expect(byId.door).toMatchObject({ state: 'streaming', width: 640, height: 426 });
    expect((byId.door.frames as { analysed: number }).analysed).toBeGreaterThanOrEqual(2);
    expect(byId.wrong.lasterror).toMatch(/Connection refused/);
    expect(JSON.stringify(body)).not.toContain('pa55word');
    expect(logs.join('\n')).not.toContain('pa55word');
    expect(byId.silent.lasterror).toMatch(/no first frame within 2000 ms/);
    expect(['backoff', 'connecting', 'stalled']).toContain(byId.wrong.state);
    console.info(`daemon: door ${JSON.stringify(byId.door.frames)} ${JSON.stringify(byId.door.dropReasons)} at ${String(byId.door.fps)} fps, face detection ${String(byId.door.analysisMs)} ms`);

    const health = (await (await fetch(`${http}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'degraded', device: 'e2e', cameras: { door: 'streaming' }, mqtt: { connected: true } });

    // Retained status per camera on MQTT.
    const doorStatus = messages.filter((m) => m.topic === 'raypack/e2e/door/status').at(-1);
    expect(JSON.parse(doorStatus!.payload)).toMatchObject({ camera: 'door', frames: expect.any(Object) });
    const wrongStatus = messages.filter((m) => m.topic === 'raypack/e2e/wrong/status').at(-1);
    expect(wrongStatus!.payload).not.toContain('pa55word');
  }, 40_000);

  it('stops every ffmpeg on stop (no process, no zombie) and publishes offline', async () => {
    expect(daemon.ffmpegPids().length).toBeGreaterThanOrEqual(1);
    const pids = daemon.ffmpegPids();
    await daemon.stop();
    expect(childProcesses(process.pid, 'ffmpeg')).toEqual({ live: [], zombies: [] });
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    await waitFor(() => messages.some((m) => m.topic === 'raypack/e2e/status' && m.payload === 'offline'), 5000, 'offline');
  }, 30_000);
});
