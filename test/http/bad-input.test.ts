/** Bad input: each gets its 4xx, the server stays up, nothing leaks, memory stays flat. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detect/registry.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { KEY, SVG, closeDetectors, logLines, multipart, pngBomb, postForm, sample, testServer, type Part } from './helpers.ts';

interface Listener {
  server: Server;
  port: number;
  connections: number;
}

async function listen(host: string, handler: Parameters<typeof createServer>[1]): Promise<Listener> {
  const server = createServer(handler);
  const l: Listener = { server, port: 0, connections: 0 };
  server.on('connection', () => {
    l.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  l.port = (server.address() as AddressInfo).port;
  return l;
}

let app: FastifyInstance;
let victim: Listener; // a loopback service that must never be reached
let victim2: Listener; // on 127.0.0.2: not allow-listed
let redirector: Listener; // allow-listed, redirects wherever it is told
const photo = sample(2);

beforeAll(async () => {
  const ok: Parameters<typeof createServer>[1] = (_req, res) => res.end(photo);
  victim = await listen('127.0.0.1', ok);
  victim2 = await listen('127.0.0.2', ok);
  redirector = await listen('127.0.0.1', (req, res) => {
    res.writeHead(302, { location: decodeURIComponent((req.url ?? '/').slice(1)) });
    res.end();
  });
  app = testServer({
    // The redirector's port only: the victim on 127.0.0.2 and 127.0.0.1's other ports are reached only via it.
    fetch: { allow: ['127.0.0.1/32'] },
    limits: { maxUploadBytes: 4 * 1024 * 1024 },
    authFailures: { maxFailures: 1_000_000 },
    plugins: [
      async (scope) => {
        scope.get('/boom', async () => {
          throw new Error('database password hunter2 at /srv/secret/path');
        });
      },
    ],
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  for (const l of [victim, victim2, redirector]) {
    l.server.closeAllConnections();
    await new Promise((resolve) => l.server.close(resolve));
  }
  await closeDetectors();
});

const face = (file: Part | string, extra: [string, Part][] = []) => postForm(app, '/raypackfacev3', [['apikey', KEY], ['mode', 'json'], ['imagef', file], ...extra]);

/** Every bad upload with the status it must get. */
const BAD_UPLOADS: [string, () => Part, number, string][] = (
  [
  ['a truncated JPEG', () => ({ filename: 't.jpg', data: photo.subarray(0, Math.floor(photo.length / 2)) }), 422, 'undecodable_image'],
  ['a JPEG cut after its header', () => ({ filename: 't.jpg', data: photo.subarray(0, 200) }), 422, 'undecodable_image'],
  ['0 bytes', () => ({ filename: 'empty.jpg', data: Buffer.alloc(0) }), 422, 'undecodable_image'],
  ['text named .jpg', () => ({ filename: 'notes.jpg', data: Buffer.from('hello, I am not a picture\n'.repeat(20)) }), 415, 'unsupported_media_type'],
  ['an SVG', () => ({ filename: 'x.svg', data: SVG, type: 'image/svg+xml' }), 415, 'unsupported_media_type'],
  ['a GIF', () => ({ filename: 'x.gif', data: Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1') }), 415, 'unsupported_media_type'],
  ['a PNG header claiming 50000x50000', () => ({ filename: 'bomb.png', data: pngBomb(), type: 'image/png' }), 413, 'payload_too_large'],
  ['an upload over the limit', () => ({ filename: 'big.jpg', data: Buffer.concat([photo, Buffer.alloc(4 * 1024 * 1024)]) }), 413, 'payload_too_large'],
  ] as [string, () => Part, number, string][]
).map(([name, file, status, code]) => [`${name} -> ${status}`, file, status, code]);

describe('bad uploads', () => {
  it.each(BAD_UPLOADS)('%s', async (_name, file, status, code) => {
    const r = await face(file());
    expect(r.statusCode).toBe(status);
    expect(r.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('the same on /recog', async () => {
    for (const [, file, status] of BAD_UPLOADS) {
      const r = await postForm(app, '/recog', [['apikey', KEY], ['model', '1'], ['file', file()]]);
      expect(r.statusCode).toBe(status);
    }
  });
});

describe('malformed requests', () => {
  it('multipart without a boundary, cut short, or garbage -> 400', async () => {
    const good = multipart([['apikey', KEY], ['mode', 'json'], ['imagef', { filename: 'a.jpg', data: photo }]]);
    const cut = await app.inject({ method: 'POST', url: '/raypackfacev3', headers: good.headers, payload: good.payload.subarray(0, 5000) });
    expect(cut.statusCode).toBe(400);
    const noBoundary = await app.inject({ method: 'POST', url: '/raypackfacev3', headers: { 'content-type': 'multipart/form-data', apikey: KEY }, payload: good.payload });
    expect(noBoundary.statusCode).toBe(400);
    const garbage = await app.inject({
      method: 'POST',
      url: '/raypackfacev3',
      headers: { ...good.headers, apikey: KEY },
      payload: Buffer.from('this is not multipart at all\r\n\r\n--nope'),
    });
    expect(garbage.statusCode).toBe(400);
    const badHeader = await app.inject({
      method: 'POST',
      url: '/raypackfacev3',
      headers: { ...good.headers, apikey: KEY },
      payload: Buffer.from(`${good.headers['content-type'].split('boundary=')[1].replace(/^/, '--')}\r\nNo-Disposition-Here\r\n\r\nxx\r\n`),
    });
    expect(badHeader.statusCode).toBe(400);
    for (const r of [cut, noBoundary, garbage, badHeader]) expect(r.json().error.code).toBe('bad_parameter');
  });

  it('a body that is neither multipart nor urlencoded -> 415; a urlencoded body over the limit -> 413', async () => {
    const text = await app.inject({ method: 'POST', url: '/raypackfacev3', headers: { 'content-type': 'text/plain', apikey: KEY }, payload: 'hello' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
    const huge = await app.inject({
      method: 'POST',
      url: '/recog',
      headers: { 'content-type': 'application/x-www-form-urlencoded', apikey: KEY },
      payload: `model=1&file=${'a'.repeat(200_000)}`,
    });
    expect(huge.statusCode).toBe(413);
  });

  it('unknown paths -> 404, wrong methods -> 405 with Allow', async () => {
    const missing = await app.inject({ method: 'GET', url: '/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const r = await app.inject({ method, url: '/raypackfacev3' });
      expect(r.statusCode).toBe(405);
      expect(r.headers.allow).toBe('POST');
      expect(r.json().error.code).toBe('method_not_allowed');
    }
    expect((await app.inject({ method: 'GET', url: '/recog' })).statusCode).toBe(405);
  });

  it('a 500 shows no internals to the client and logs them', async () => {
    const r = await app.inject({ method: 'GET', url: '/boom' });
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(r.body).not.toMatch(/hunter2|secret|at \//);
    expect(logLines.some((l) => l.includes('hunter2') && l.includes('"level":"error"'))).toBe(true);
  });
});

describe('image URLs that must not be fetched', () => {
  const refused = ['127.0.0.1', '127.1', '0x7f000001', '2130706433', '0177.0.0.1', '[::1]', '[::ffff:127.0.0.1]', 'localhost'];

  it.each(refused)('http://%s:<victim port>/ -> 400 and the victim sees no connection', async (host) => {
    // Without an allow-list entry for it: a separate server whose allow-list is empty.
    const strict = testServer({ authFailures: { maxFailures: 1_000_000 } });
    const before = victim.connections;
    const r = await postForm(strict, '/raypackfacev3', [['apikey', KEY], ['mode', 'json'], ['imagef', `http://${host}:${victim.port}/photo.jpg`]]);
    await strict.close();
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('fetch_refused');
    expect(r.json().error.message).toMatch(/^imagef: .*loopback/);
    expect(victim.connections).toBe(before);
  });

  it('cloud metadata 169.254.169.254 -> 400 on both endpoints', async () => {
    const a = await face('http://169.254.169.254/latest/meta-data/');
    const b = await postForm(app, '/recog', [['apikey', KEY], ['model', '1'], ['file', 'http://169.254.169.254/latest/meta-data/']]);
    for (const r of [a, b]) {
      expect(r.statusCode).toBe(400);
      expect(r.json().error.message).toMatch(/metadata/);
    }
  });

  it('a redirect from an allow-listed server to a NON-allow-listed loopback listener is refused; that listener sees no connection', async () => {
    const targets = [`http://127.0.0.2:${victim2.port}/x.jpg`, `http://[::ffff:127.0.0.2]:${victim2.port}/x.jpg`, `http://2130706434:${victim2.port}/x.jpg`];
    for (const target of targets) {
      const before = victim2.connections;
      const redirectorBefore = redirector.connections;
      const r = await face(`http://127.0.0.1:${redirector.port}/${encodeURIComponent(target)}`);
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('fetch_refused');
      expect(redirector.connections).toBeGreaterThan(redirectorBefore); // the first hop really happened
      expect(victim2.connections).toBe(before);
    }
    const metadata = await face(`http://127.0.0.1:${redirector.port}/${encodeURIComponent('http://169.254.169.254/')}`);
    expect(metadata.statusCode).toBe(400);
  });
});

describe('a full inference queue', () => {
  it('answers 503 with Retry-After before reading the upload', async () => {
    const queue = new InferenceQueue({ concurrency: 1, capacity: 0 });
    const busy = testServer({ queue });
    let release = (): void => {};
    // Fault injection: occupy the only slot.
    const occupied = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
    const r = await postForm(busy, '/raypackfacev3', [['apikey', KEY], ['imagef', { filename: 'a.jpg', data: photo }]]);
    release();
    await occupied;
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json().error.code).toBe('busy');
    const after = await postForm(busy, '/raypackfacev3', [['apikey', KEY], ['mode', 'json'], ['imagef', { filename: 'a.jpg', data: photo }]]);
    expect(after.statusCode).toBe(200);
    await busy.close();
  });
});

describe('a model that cannot be loaded', () => {
  it('answers 503 model_unavailable with Retry-After, not a 500', async () => {
    const broken = testServer({ detectors: (task) => loadDetector(task, { model: 'no-such-model' }) });
    const r = await postForm(broken, '/recog', [['apikey', KEY], ['model', '1'], ['file', { filename: 'a.jpg', data: photo }]]);
    await broken.close();
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('model_unavailable');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('after all that', () => {
  it('the server still answers, and memory stays flat over 10 more rounds of bad input', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const round = async () => {
      for (const [, file] of BAD_UPLOADS) await face(file());
      await face('http://169.254.169.254/');
    };
    await round();
    gc();
    const before = process.memoryUsage();
    for (let i = 0; i < 10; i += 1) await round();
    gc();
    const after = process.memoryUsage();
    const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
    console.log(
      `memory over 10 rounds of ${BAD_UPLOADS.length + 1} bad requests: heapUsed ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB, ` +
        `rss ${mb(before.rss)} -> ${mb(after.rss)} MB, external ${mb(before.external)} -> ${mb(after.external)} MB`,
    );
    expect(after.heapUsed - before.heapUsed).toBeLessThan(20 * 1024 * 1024);
    const ok = await face({ filename: 'a.jpg', data: photo });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().totalfaces).toBeGreaterThanOrEqual(1);
  });
});
