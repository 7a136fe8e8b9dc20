/**
 * Request logging through fastify's pino, as our JSON lines: one line per request with `ns`, 4xx at info, 5xx at
 * error with what went wrong, and no key or credential in any line however it was sent (apikey header, Bearer,
 * apikey / api_key form fields, ?apikey= / ?api_key= queries, URL userinfo in an image URL), over a real socket.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detector, Task } from '../../src/detect/types.ts';
import { loggableUrl, scrubFields, scrubText } from '../../src/http/request-log.ts';
import { ADMIN_KEY, KEY, logLines, multipart, realDetectors, sample, testServer } from './helpers.ts';

const WRONG = 'wrong-key-that-must-not-be-logged-42';
const PASSWORD = 'Pa55w0rd-in-a-url';

describe('request log', () => {
  let app: ReturnType<typeof testServer>;
  let base: string;
  let from = 0;

  beforeAll(async () => {
    // A face detector that fails with a plain Error: the route answers 500, and the log must say why.
    const failing: Detector = { task: 'face', modelId: 'failing', defaultThreshold: 0.5, detect: () => Promise.reject(new Error('onnx session exploded')), close: async () => {} };
    let failNext = false;
    app = testServer({
      detectors: async (task: Task) => (failNext && task === 'face' ? failing : realDetectors(task)),
    });
    app.addHook('onRequest', async (request) => {
      failNext = request.headers['x-test-fail'] === '1';
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    from = logLines.length;
  });

  afterAll(async () => {
    await app.close();
  });

  const post = async (path: string, fields: ReadonlyArray<readonly [string, string | { filename: string; data: Buffer }]>, headers: Record<string, string> = {}) => {
    const body = multipart(fields);
    return fetch(`${base}${path}`, { method: 'POST', body: body.payload, headers: { ...body.headers, ...headers } });
  };

  it('writes one namespaced JSON line per request, with keys never in it however they came', async () => {
    const statuses = [
      (await post('/raypackfacev3', [['mode', 'json'], ['imagef', { filename: 'a.jpg', data: sample(2) }]], { apikey: KEY })).status,
      (await post('/raypackfacev3', [['mode', 'json'], ['imagef', { filename: 'a.jpg', data: sample(2) }]], { authorization: `Bearer ${ADMIN_KEY}` })).status,
      (await post('/recog', [['apikey', KEY], ['model', '1'], ['file', { filename: 'a.jpg', data: sample(2) }]])).status,
      (await post('/v1/vision/detection', [['api_key', KEY], ['image', { filename: 'image', data: sample(2) }]])).status,
      (await post('/v1/vision/face', [['api_key', WRONG], ['image', { filename: 'image', data: sample(2) }]])).status,
      (await post('/raypackfacev3', [['apikey', KEY], ['imagef', `http://viewer:${PASSWORD}@127.0.0.1:9/cam.jpg`]])).status,
      (await fetch(`${base}/v1/vision/custom/list?api_key=${KEY}`)).status,
      (await fetch(`${base}/openapi.json?apikey=${WRONG}&x=1`)).status,
      (await fetch(`${base}/nowhere?token=${WRONG}`, { headers: { authorization: `Basic ${Buffer.from(`u:${PASSWORD}`).toString('base64')}` } })).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 401, 400, 200, 200, 404]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = logLines.slice(from);
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(requests.length).toBe(statuses.length);
    for (const line of requests) {
      expect(line).toMatchObject({ ns: 'http', level: expect.any(String), method: expect.any(String), status: expect.any(Number), ms: expect.any(Number) });
      expect(typeof line.time).toBe('string');
    }
    expect(requests.find((l) => l.status === 401)).toMatchObject({ level: 'info', code: 'unauthorized', route: '/v1/vision/face' });
    expect(requests.find((l) => l.status === 404)).toMatchObject({ level: 'info', path: '/nowhere', query: 'token=[redacted]' });
    expect(requests.find((l) => l.path === '/v1/vision/custom/list')?.query).toBe('api_key=[redacted]');
    const all = lines.join('\n');
    for (const secret of [KEY, ADMIN_KEY, WRONG, PASSWORD, Buffer.from(`u:${PASSWORD}`).toString('base64')]) expect(all).not.toContain(secret);
  }, 60_000);

  it('logs a 5xx at error with what went wrong (the client only learns "internal error")', async () => {
    const start = logLines.length;
    const response = await post('/raypackfacev3', [['apikey', KEY], ['mode', 'json'], ['imagef', { filename: 'a.jpg', data: sample(2) }]], { 'x-test-fail': '1' });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = logLines.slice(start).map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.msg === 'request');
    expect(line).toMatchObject({ ns: 'http', level: 'error', status: 500, route: '/raypackfacev3', code: 'internal', error: 'onnx session exploded' });
    expect(lines.map((l) => JSON.stringify(l)).join('\n')).not.toContain(KEY);
  }, 30_000);

  it('scrubs secrets from any text and any field, and keeps the names of query keys', () => {
    expect(loggableUrl('/cameras/a/snapshot.jpg?facemode=pixel&apikey=abc&API_KEY=def')).toBe('/cameras/a/snapshot.jpg?facemode=pixel&apikey=[redacted]&API_KEY=[redacted]');
    expect(scrubText('fetch http://u:secret@cam.lan/x failed')).toBe('fetch http://***:***@cam.lan/x failed');
    expect(scrubText('Authorization: Bearer abc.def')).not.toContain('abc.def');
    expect(scrubText('apikey=abc&x=1')).toBe('apikey=[redacted]&x=1');
    expect(scrubFields({ headers: { authorization: 'Bearer x', apikey: 'y', accept: 'a' }, password: 'p', note: 'token=zzz' })).toEqual({
      headers: { authorization: '[redacted]', apikey: '[redacted]', accept: 'a' },
      password: '[redacted]',
      note: 'token=[redacted]',
    });
  });
});
