/**
 * The DeepStack / CodeProject.AI-compatible routes with the real detectors and real photos, sent exactly as their
 * clients send them (multipart bodies built byte for byte like python-requests' `files=`/`data=` and Node's
 * form-data), and read the way those clients read them:
 * - Frigate's `deepstack` detector: `api_key` field + `image` file (filename "image", no part Content-Type) of
 *   the model input (320x320 JPEG); reads `predictions`, stops at the first confidence < 0.4 or unknown label,
 *   divides the corners by the image size; times out after api_timeout (0.1 s by default).
 * - Home Assistant's deepstack_object (deepstack-python): the same form on /detection or /custom/<model>; any
 *   status but 200 is an error; boxes divided by the posted image's size.
 * - Home Assistant's codeproject_ai_object (codeprojectai-python): `min_confidence` 0.1 + `image`, no key.
 * - Double Take: `image` (a file stream: filename and image/jpeg) then `api_key`, on /face/recognize; reads
 *   `success` first.
 */
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COCO_EN } from '../../src/detect/labels.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { KEY, closeDetectors, iou, postForm, sample, testServer } from './helpers.ts';

type Field = readonly [string, string] | readonly [string, { filename: string; data: Buffer; type?: string }];

/** A multipart body as python-requests writes it: `data` fields first, then `files` (no Content-Type for bytes). */
function requestsBody(data: ReadonlyArray<readonly [string, string]>, files: ReadonlyArray<readonly [string, Buffer]>): { body: Buffer; type: string } {
  const boundary = Math.random().toString(16).slice(2).padEnd(32, '0');
  const chunks: Buffer[] = [];
  for (const [name, value] of data) chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  for (const [name, bytes] of files) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n\r\n`), bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/** Node's form-data, as Double Take uses it: `image` from a file stream, then `api_key`. */
function formDataBody(fields: readonly Field[]): { body: Buffer; type: string } {
  const boundary = `--------------------------${Math.random().toString().slice(2, 26)}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of fields) {
    if (typeof value === 'string') chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    else chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\nContent-Type: ${value.type ?? 'image/jpeg'}\r\n\r\n`), value.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

interface Prediction { label: string; confidence: number; x_min: number; y_min: number; x_max: number; y_max: number }
interface Answer { success: boolean; predictions: Prediction[]; count: number; inferenceMs: number; processMs: number; error?: string; code?: number }

/** What Frigate's DeepStack.detect_raw keeps: rows until the first confidence < 0.4 or unknown label, corners relative. */
function frigateRows(answer: Answer, w: number, h: number, labels: readonly string[]): number[][] {
  const rows: number[][] = [];
  for (const p of answer.predictions ?? []) {
    if (p.confidence < 0.4) break;
    const label = labels.indexOf(p.label.toLowerCase() === 'truck' ? 'car' : p.label.toLowerCase());
    if (label < 0) break;
    rows.push([label, p.confidence, p.y_min / h, p.x_min / w, p.y_max / h, p.x_max / w]);
  }
  return rows;
}

describe('DeepStack / CodeProject.AI-compatible API', () => {
  const app = testServer();
  let base: string;
  let frigateJpeg: Buffer;

  beforeAll(async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    // Frigate sends the detector's input tensor as a JPEG: 320x320 by default.
    frigateJpeg = await sharp(sample(1)).resize(320, 320, { fit: 'fill' }).jpeg().toBuffer();
  });

  afterAll(async () => {
    await app.close();
    await closeDetectors();
  });

  const send = async (path: string, body: { body: Buffer; type: string }, headers: Record<string, string> = {}): Promise<{ status: number; json: Answer; headers: Headers }> => {
    const response = await fetch(`${base}${path}`, { method: 'POST', body: body.body, headers: { 'content-type': body.type, ...headers } });
    return { status: response.status, json: (await response.json()) as Answer, headers: response.headers };
  };

  it("answers Frigate's deepstack detector request: predictions best first, COCO labels, corners inside the posted image", async () => {
    const times: number[] = [];
    let answer: Answer | undefined;
    for (let i = 0; i < 8; i += 1) {
      const started = performance.now();
      const r = await send('/v1/vision/detection', requestsBody([['api_key', KEY]], [['image', frigateJpeg]]));
      times.push(performance.now() - started);
      expect(r.status).toBe(200);
      answer = r.json;
    }
    expect(answer!.success).toBe(true);
    const confidences = answer!.predictions.map((p) => p.confidence);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
    expect(confidences.every((c) => c >= 0.4)).toBe(true);
    expect(answer!.count).toBe(answer!.predictions.length);
    expect(answer!.predictions.some((p) => p.label === 'person')).toBe(true);
    for (const p of answer!.predictions) {
      expect(COCO_EN).toContain(p.label);
      expect(0 <= p.x_min && p.x_min < p.x_max && p.x_max <= 320 && 0 <= p.y_min && p.y_min < p.y_max && p.y_max <= 320).toBe(true);
      expect(Number.isInteger(p.x_min) && Number.isInteger(p.y_max)).toBe(true);
    }
    const rows = frigateRows(answer!, 320, 320, COCO_EN);
    expect(rows.length).toBe(answer!.predictions.length);
    expect(rows.length).toBeLessThanOrEqual(20); // Frigate's detections array has 20 rows
    times.sort((a, b) => a - b);
    console.info(`Frigate-style 320x320 request over loopback: median ${times[4].toFixed(1)} ms, min ${times[0].toFixed(1)} ms (Frigate's default api_timeout 100 ms); inferenceMs ${answer!.inferenceMs}`);
  }, 60_000);

  it('reports boxes in the pixels of the posted image: the same faces as /raypackfacev3, and DeepStack face answers', async () => {
    const r = await send('/v1/vision/face', requestsBody([['api_key', KEY]], [['image', sample(1)]]));
    expect(r.status).toBe(200);
    const raypack = await postForm(app, '/raypackfacev3', [['apikey', KEY], ['mode', 'json'], ['threshold', '0.4'], ['imagef', { filename: 's.jpg', data: sample(1) }]]);
    const faces = (raypack.json() as { faces: Array<{ xpos: number; ypos: number; width: number; height: number }> }).faces;
    expect(r.json.predictions.length).toBe(faces.length);
    for (const p of r.json.predictions) {
      expect(p.label).toBe('face');
      const best = Math.max(...faces.map((f) => iou([p.x_min, p.y_min, p.x_max - p.x_min, p.y_max - p.y_min], [f.xpos, f.ypos, f.width, f.height])));
      expect(best).toBeGreaterThan(0.95);
    }
  }, 30_000);

  it("answers Home Assistant's deepstack_object on /detection and /custom/<model>; every box divides into 0..1 of the image", async () => {
    const { width, height } = await sharp(sample(1)).metadata();
    for (const path of ['/v1/vision/detection', '/v1/vision/custom/objects', '/v1/vision/custom/food']) {
      const r = await send(path, requestsBody([['api_key', KEY]], [['image', sample(1)]]));
      expect(r.status, path).toBe(200);
      expect(Array.isArray(r.json.predictions)).toBe(true);
      for (const p of r.json.predictions) {
        for (const v of [p.x_min / width!, p.x_max / width!, p.y_min / height!, p.y_max / height!]) expect(v >= 0 && v <= 1).toBe(true);
      }
    }
    const people = await send('/v1/vision/custom/objects', requestsBody([['api_key', KEY]], [['image', sample(1)]]));
    expect(people.json.predictions.some((p) => p.label === 'person')).toBe(true);
    const food = await send('/v1/vision/custom/food', requestsBody([['api_key', KEY]], [['image', sample(1)]]));
    expect(food.json.predictions.some((p) => p.label === 'person')).toBe(false);
  }, 60_000);

  it("honours CodeProject.AI's min_confidence, and refuses its keyless request with 401 {success:false}", async () => {
    const keyless = await send('/v1/vision/detection', requestsBody([['min_confidence', '0.1']], [['image', sample(1)]]));
    expect(keyless.status).toBe(401);
    expect(keyless.json).toMatchObject({ success: false, code: 401, error: expect.stringContaining('API key') });
    const low = await send('/v1/vision/detection', requestsBody([['min_confidence', '0.1']], [['image', sample(1)]]), { apikey: KEY });
    const normal = await send('/v1/vision/detection', requestsBody([], [['image', sample(1)]]), { authorization: `Bearer ${KEY}` });
    expect(low.status).toBe(200);
    expect(low.json.predictions.every((p) => p.confidence >= 0.1)).toBe(true);
    expect(normal.json.predictions.every((p) => p.confidence >= 0.4)).toBe(true);
    expect(low.json.count).toBeGreaterThan(normal.json.count);
  }, 30_000);

  it("gives Double Take's recognize request success:false (it then reads no predictions): identities are not served", async () => {
    const r = await send('/v1/vision/face/recognize', formDataBody([['image', { filename: 'snapshot.jpg', data: sample(2) }], ['api_key', KEY]]));
    expect(r.status).toBe(404);
    expect(r.json.success).toBe(false);
    // Its file-stream form (image first, key after it) works on the detection routes.
    const face = await send('/v1/vision/face', formDataBody([['image', { filename: 'snapshot.jpg', data: sample(2) }], ['api_key', KEY]]));
    expect(face.status).toBe(200);
    expect(face.json.count).toBeGreaterThan(0);
  }, 30_000);

  it('lists the custom models (GET and POST, as CodeProject.AI and Blue Iris ask)', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await fetch(`${base}/v1/vision/custom/list`, { method, headers: { apikey: KEY } });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ success: true, models: ['objects', 'food', 'face'] });
    }
    expect((await fetch(`${base}/v1/vision/custom/list`)).status).toBe(401);
  });

  it('answers errors as {success:false, error, code} with the status clients expect', async () => {
    const expectError = async (r: { status: number; json: Answer }, status: number, pattern: RegExp) => {
      expect(r.status).toBe(status);
      expect(r.json.success).toBe(false);
      expect(r.json.code).toBe(status);
      expect(r.json.error).toMatch(pattern);
    };
    await expectError(await send('/v1/vision/detection', requestsBody([['api_key', KEY]], [])), 400, /image is required/);
    await expectError(await send('/v1/vision/detection', requestsBody([['api_key', KEY], ['min_confidence', 'high']], [['image', frigateJpeg]])), 400, /min_confidence/);
    await expectError(await send('/v1/vision/detection', requestsBody([['api_key', 'not-a-key-0123456789']], [['image', frigateJpeg]])), 401, /API key/);
    await expectError(await send('/v1/vision/detection', requestsBody([['api_key', KEY]], [['image', Buffer.from('just text, not a picture')]])), 415, /JPEG|PNG|WebP|image/i);
    await expectError(await send('/v1/vision/detection', requestsBody([['api_key', KEY]], [['image', frigateJpeg.subarray(0, 400)]])), 422, /decoded/);
    await expectError(await send('/v1/vision/custom/ipcam-general', requestsBody([['api_key', KEY]], [['image', frigateJpeg]])), 404, /no custom model/);
    await expectError(await send('/v1/vision/scene', requestsBody([['api_key', KEY]], [['image', frigateJpeg]])), 404, /no route/);
    await expectError(await send('/v1/vision/detection', requestsBody([['api_key', KEY]], [['imagef', frigateJpeg]])), 400, /send the image as image/);
  }, 30_000);

  it('answers 503 with Retry-After and {success:false} when the inference queue is full', async () => {
    const queue = new InferenceQueue({ concurrency: 1, capacity: 0 });
    const busy = testServer({ queue });
    let release!: () => void;
    const occupied = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
    try {
      const body = requestsBody([['api_key', KEY]], [['image', frigateJpeg]]);
      const r = await busy.inject({ method: 'POST', url: '/v1/vision/detection', payload: body.body, headers: { 'content-type': body.type } });
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.json()).toMatchObject({ success: false, code: 503 });
    } finally {
      release();
      await occupied;
      await busy.close();
    }
  });

  it('lets the listed keyless clients (Blue Iris, Agent DVR send no key) call without a key; others, and wrong keys, get 401', async () => {
    const open = testServer({ deepstack: { keylessClients: ['127.0.0.1'] } });
    const closed = testServer({ deepstack: { keylessClients: ['10.0.0.0/8', '::1'] } });
    try {
      // Blue Iris / Frigate with an empty api_key: no key at all.
      const noKey = requestsBody([['api_key', '']], [['image', frigateJpeg]]);
      const inject = (server: typeof open, body: { body: Buffer; type: string }, url = '/v1/vision/detection') =>
        server.inject({ method: 'POST', url, payload: body.body, headers: { 'content-type': body.type }, remoteAddress: '127.0.0.1' });
      const ok = await inject(open, noKey);
      expect(ok.statusCode).toBe(200);
      expect(ok.json().success).toBe(true);
      expect((await open.inject({ url: '/v1/vision/custom/list', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
      expect((await inject(open, requestsBody([['api_key', 'wrong-key-0123456789']], [['image', frigateJpeg]]))).statusCode).toBe(401);
      expect((await inject(closed, noKey)).statusCode).toBe(401);
      // Only /v1/vision: the RAYPACK API still needs its key.
      expect((await postForm(open, '/raypackfacev3', [['mode', 'json'], ['imagef', { filename: 'a.jpg', data: frigateJpeg }]])).statusCode).toBe(401);
    } finally {
      await open.close();
      await closed.close();
    }
  });

  it('is not served when deepstack.enabled is false', async () => {
    const off = testServer({ deepstack: { enabled: false } });
    try {
      const body = requestsBody([['api_key', KEY]], [['image', frigateJpeg]]);
      const r = await off.inject({ method: 'POST', url: '/v1/vision/detection', payload: body.body, headers: { 'content-type': body.type } });
      expect(r.statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});
