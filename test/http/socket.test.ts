/** Over a real listening socket: the spec's curl examples as written, fetch(), OpenAPI, server timeouts. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { KEY, SVG, closeDetectors, pngBomb, sample, testServer } from './helpers.ts';

const run = promisify(execFile);
let app: FastifyInstance;
let base = '';
let dir = '';
let images: Server;
let imageUrl = '';
let strict: FastifyInstance; // no allow-list: every loopback URL is refused
let strictBase = '';
let victim: Server;
let victimPort = 0;
let victimConnections = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-curl-'));
  writeFileSync(join(dir, 'photo.jpg'), sample(1));
  images = createServer((_req, res) => res.end(sample(1)));
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/look5r-md.jpg`;
  app = testServer({ fetch: { allow: ['127.0.0.1/32'] } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  strict = testServer();
  await strict.listen({ host: '127.0.0.1', port: 0 });
  strictBase = `http://127.0.0.1:${(strict.server.address() as AddressInfo).port}`;
  victim = createServer((_req, res) => res.end(sample(1)));
  victim.on('connection', () => {
    victimConnections += 1;
  });
  await new Promise<void>((resolve) => victim.listen(0, '127.0.0.1', resolve));
  victimPort = (victim.address() as AddressInfo).port;
  const photo = sample(1);
  writeFileSync(join(dir, 'truncated.jpg'), photo.subarray(0, photo.length >> 1));
  writeFileSync(join(dir, 'empty.jpg'), Buffer.alloc(0));
  writeFileSync(join(dir, 'text.jpg'), 'just some text\n');
  writeFileSync(join(dir, 'drawing.svg'), SVG);
  writeFileSync(join(dir, 'bomb.png'), pngBomb());
  writeFileSync(join(dir, 'big.jpg'), Buffer.concat([photo, Buffer.alloc(10 * 1024 * 1024)]));
});

afterAll(async () => {
  await app.close();
  await strict.close();
  victim.closeAllConnections();
  await new Promise((resolve) => victim.close(resolve));
  images.closeAllConnections();
  await new Promise((resolve) => images.close(resolve));
  rmSync(dir, { recursive: true, force: true });
  await closeDetectors();
});

/** Run curl with the arguments as a shell would split the spec's command line, in the folder holding photo.jpg. */
async function curl(args: string[]): Promise<{ status: number; body: Buffer }> {
  const out = join(dir, `out-${Math.random().toString(16).slice(2)}`);
  const { stdout } = await run('curl', ['-sS', '-o', out, '-w', '%{http_code}', ...args], { cwd: dir });
  return { status: Number(stdout), body: readFileSync(out) };
}

describe('the spec curl examples, pointed at a real listening server', () => {
  it('face JSON: curl -X POST -F apikey -F threshold=0.9 -F imagef=@photo.jpg -F mode=json -F facemode=default -F hex=00ff00', async () => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'threshold=0.9', '-F', 'imagef=@photo.jpg', '-F', 'mode=json', '-F', 'facemode=default', '-F', 'hex=00ff00', `${base}/raypackfacev3`]);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body.toString());
    expect(Object.keys(body)).toEqual(['totalfaces', 'time', 'faces']);
    expect(body.totalfaces).toBeGreaterThanOrEqual(1);
    expect(body.faces.every((f: { score: number }) => f.score >= 0.9)).toBe(true);
  });

  it('face with imagef as a URL (the spec example, with our own image server in place of cvdazzle.com)', async () => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'threshold=0.9', '-F', `imagef=${imageUrl}`, '-F', 'mode=json', '-F', 'facemode=default', '-F', 'hex=00ff00', `${base}/raypackfacev3`]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).totalfaces).toBeGreaterThanOrEqual(1);
  });

  it('face image: mode=jpg facemode=pixel answers a JPEG of the original size', async () => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'imagef=@photo.jpg', '-F', 'mode=jpg', '-F', 'facemode=pixel', `${base}/raypackfacev3`]);
    expect(r.status).toBe(200);
    const image = await decodeImage(r.body);
    expect([image.width, image.height]).toEqual([1920, 1280]);
  });

  it('recog: curl -X POST -F apikey -F threshold=1.0 -F file=@photo.jpg -F model=1 -F lang=de', async () => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'threshold=1.0', '-F', 'file=@photo.jpg', '-F', 'model=1', '-F', 'lang=de', `${base}/recog`]);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body.toString());
    expect(body.name).toBe('Raypack_AI_Filecontainer');
    expect(body.results.stats).toMatchObject({ modelname: 'Raypack_Objects', modelid: '1', originalfile: 'photo.jpg' });
    expect(Array.isArray(body.results.tags)).toBe(true);
  });

  it('recog at 0.3 finds people in the photo, in German', async () => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'threshold=0.3', '-F', 'file=@photo.jpg', '-F', 'model=1', '-F', 'lang=de', `${base}/recog`]);
    expect(JSON.parse(r.body.toString()).results.tags.map((t: { name: string }) => t.name)).toContain('Person');
  });

  it('urlencoded (--data-urlencode) with the key in a header, and a wrong key', async () => {
    const ok = await curl(['-X', 'POST', '-H', `apikey: ${KEY}`, '--data-urlencode', `imagef=${imageUrl}`, '--data-urlencode', 'mode=json', `${base}/raypackfacev3`]);
    expect(ok.status).toBe(200);
    const denied = await curl(['-X', 'POST', '-F', 'apikey=wrong', '-F', 'imagef=@photo.jpg', `${base}/raypackfacev3`]);
    expect(denied.status).toBe(401);
    expect(JSON.parse(denied.body.toString()).error.code).toBe('unauthorized');
  });
});

describe('bad input over the socket, server stays up', () => {
  it.each([
    ['truncated.jpg', 422],
    ['empty.jpg', 422],
    ['text.jpg', 415],
    ['drawing.svg', 415],
    ['bomb.png', 413],
    ['big.jpg', 413],
  ])('%s -> %i', async (file, status) => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', `imagef=@${file}`, '-F', 'mode=json', `${base}/raypackfacev3`]);
    expect(r.status).toBe(status);
    expect(Object.keys(JSON.parse(r.body.toString()).error)).toEqual(['code', 'message']);
  });

  it.each(['127.0.0.1', '127.1', '0x7f000001', '[::1]', '[::ffff:127.0.0.1]'])('imagef=http://%s:<port>/ -> 400, no connection', async (host) => {
    const before = victimConnections;
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', `imagef=http://${host}:${victimPort}/a.jpg`, '-F', 'mode=json', `${strictBase}/raypackfacev3`]);
    expect(r.status).toBe(400);
    expect(victimConnections).toBe(before);
  });

  it('169.254.169.254 -> 400; malformed multipart -> 400; and a good request still works', async () => {
    const metadata = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'file=http://169.254.169.254/latest/meta-data/', '-F', 'model=1', `${strictBase}/recog`]);
    expect(metadata.status).toBe(400);
    const malformed = await curl(['-X', 'POST', '-H', `apikey: ${KEY}`, '-H', 'content-type: multipart/form-data; boundary=zzz', '--data-binary', '--zzz\r\nbroken', `${base}/raypackfacev3`]);
    expect(malformed.status).toBe(400);
    const ok = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'imagef=@photo.jpg', '-F', 'mode=json', `${base}/raypackfacev3`]);
    expect(ok.status).toBe(200);
  });
});

describe('requests in flight are bounded', () => {
  it('a slow upload does not hold the only slot; complete requests beyond it get 503 at once; afterwards requests pass again', async () => {
    const narrow = testServer({ limits: { maxInFlight: 1 } });
    await narrow.listen({ host: '127.0.0.1', port: 0 });
    const port = (narrow.server.address() as AddressInfo).port;
    const slow = connect(port, '127.0.0.1');
    slow.on('error', () => undefined);
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write(`POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\napikey: ${KEY}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\n\r\n--b\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const photo = ['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'imagef=@photo.jpg', '-F', 'mode=json', `http://127.0.0.1:${port}/raypackfacev3`];
    expect((await curl(photo)).status).toBe(200);
    // Three complete photos at once: the first holds the slot while it is analysed, the others are refused.
    const three = await Promise.all([curl(photo), curl(photo), curl(photo)]);
    expect(three.map((r) => r.status).sort()).toEqual([200, 503, 503]);
    const refused = three.find((r) => r.status === 503)!;
    expect(JSON.parse(refused.body.toString()).error.code).toBe('busy');
    slow.destroy();
    for (const file of ['text.jpg', 'empty.jpg', 'photo.jpg']) {
      const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', `imagef=@${file}`, '-F', 'mode=json', `http://127.0.0.1:${port}/raypackfacev3`]);
      expect(r.status).not.toBe(503);
    }
    for (let i = 0; i < 3; i += 1) {
      expect((await narrow.inject({ method: 'POST', url: '/recog', headers: { apikey: KEY, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'model=9' })).statusCode).toBe(400);
    }
    await narrow.close();
  });
});

describe('other clients and endpoints over the socket', () => {
  it('fetch() with FormData and a Bearer key, two requests at once', async () => {
    const form = () => {
      const f = new FormData();
      f.append('mode', 'json');
      f.append('threshold', '0.5');
      f.append('imagef', new Blob([sample(1)], { type: 'image/jpeg' }), 'photo.jpg');
      return f;
    };
    const answers = await Promise.all(
      [1, 2].map(() => fetch(`${base}/raypackfacev3`, { method: 'POST', body: form(), headers: { authorization: `Bearer ${KEY}` } })),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(((await a.json()) as { totalfaces: number }).totalfaces).toBeGreaterThanOrEqual(3);
    }
  });

  it('fetch() gets a readable 413 for an upload over the limit (the rest of the body is drained, not cut off)', async () => {
    const f = new FormData();
    f.append('apikey', KEY);
    f.append('imagef', new Blob([readFileSync(join(dir, 'big.jpg'))], { type: 'image/jpeg' }), 'big.jpg');
    const r = await fetch(`${base}/raypackfacev3`, { method: 'POST', body: f });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('GET /openapi.json describes both endpoints with their parameters', async () => {
    const r = await fetch(`${base}/openapi.json`);
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const face = doc.paths['/raypackfacev3'].post.requestBody!.content;
    expect(Object.keys(face['multipart/form-data'].schema.properties)).toEqual(['apikey', 'threshold', 'imagef', 'file', 'mode', 'facemode', 'fps', 'hex']);
    expect(Object.keys(doc.paths['/recog'].post.requestBody!.content['application/x-www-form-urlencoded'].schema.properties)).toContain('lang');
  });

  it('drops a client that sends its headers too slowly (408 and close after headersTimeout)', async () => {
    const slowServer = testServer({ limits: { headersTimeoutMs: 800, requestTimeoutMs: 2_000 } });
    await slowServer.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((slowServer.server.address() as AddressInfo).port, '127.0.0.1');
    const started = Date.now();
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.write('POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => socket.write('X-Drip: 1\r\n'), 200);
    await new Promise((resolve) => socket.on('close', resolve));
    clearInterval(timer);
    const elapsed = Date.now() - started;
    await slowServer.close();
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('sets request, headers and keep-alive timeouts on the server', () => {
    expect(app.server.requestTimeout).toBe(60_000);
    expect(app.server.headersTimeout).toBe(15_000);
    expect(app.server.keepAliveTimeout).toBe(5_000);
    expect(app.server.timeout).toBe(30_000);
  });
});
