/** API keys over inject() and a real socket: where keys come from, when they are checked, and what failures cost. */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, KEY, logLines, postForm, sample, testServer } from './helpers.ts';

let app: FastifyInstance;

beforeAll(async () => {
  app = testServer({
    authFailures: { maxFailures: 3, windowMs: 60_000 },
    limits: { maxUploadBytes: 1024 * 1024 },
    plugins: [
      async (scope) => {
        scope.get('/raw', { onRequest: scope.requireApiKey({ admin: true }), schema: { summary: 'raw frame (admin)' } }, async () => ({ raw: true }));
        scope.get('/snap', { onRequest: scope.requireApiKey(), schema: { summary: 'snapshot' } }, async (request) => ({ admin: request.apiKey?.admin }));
      },
    ],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app.close();
});

const image = { filename: 'photo.jpg', data: Buffer.alloc(0) };

describe('missing or wrong key', () => {
  it('answers 401 with the same body either way, from form field, header or bearer', async () => {
    const missing = await postForm(app, '/raypackfacev3', [['mode', 'json'], ['imagef', image]], {}, '10.9.0.1');
    const wrongField = await postForm(app, '/raypackfacev3', [['apikey', 'nope'], ['mode', 'json'], ['imagef', image]], {}, '10.9.0.2');
    const wrongHeader = await postForm(app, '/recog', [['model', '1'], ['file', image]], { apikey: 'nope' }, '10.9.0.3');
    const wrongBearer = await postForm(app, '/recog', [['model', '1'], ['file', image]], { authorization: 'Bearer nope' }, '10.9.0.4');
    const urlencoded = await app.inject({
      method: 'POST',
      url: '/recog',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'apikey=nope&model=1&file=https%3A%2F%2Fexample.com%2Fa.jpg',
      remoteAddress: '10.9.9.9',
    });
    for (const response of [missing, wrongField, wrongHeader, wrongBearer, urlencoded]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual(missing.json());
    }
    expect(missing.json().error.code).toBe('unauthorized');
  });

  it('never logs keys', async () => {
    await postForm(app, '/raypackfacev3', [['apikey', 'secret-wrong-key-123'], ['imagef', image]], {}, '10.9.0.5');
    await postForm(app, '/raypackfacev3', [['apikey', KEY], ['mode', 'json'], ['imagef', image]], {});
    const logs = logLines.join('\n');
    expect(logs).toContain('"status":401');
    expect(logs).not.toContain('secret-wrong-key-123');
    expect(logs).not.toContain(KEY);
  });
});

describe('accepted keys', () => {
  it('accepts the key as form field, apikey header and Bearer token (reaching image validation: 422 for 0 bytes)', async () => {
    const viaField = await postForm(app, '/raypackfacev3', [['apikey', KEY], ['imagef', image]]);
    const viaHeader = await postForm(app, '/raypackfacev3', [['imagef', image]], { apikey: KEY });
    const viaBearer = await postForm(app, '/raypackfacev3', [['imagef', image]], { authorization: `Bearer ${KEY}` });
    for (const r of [viaField, viaHeader, viaBearer]) expect(r.statusCode).toBe(422);
  });

  it('env admin keys work as plain keys too', async () => {
    const r = await postForm(app, '/raypackfacev3', [['imagef', image]], { apikey: ADMIN_KEY });
    expect(r.statusCode).toBe(422);
  });
});

describe('repeated failures', () => {
  it('give 429 with Retry-After for that address only, even with a right key afterwards', async () => {
    const from = (ip: string, key: string) =>
      app.inject({
        method: 'POST',
        url: '/raypackfacev3',
        headers: { apikey: key, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'mode=json',
        remoteAddress: ip,
      });
    for (let i = 0; i < 3; i += 1) expect((await from('10.1.1.1', 'bad')).statusCode).toBe(401);
    const blocked = await from('10.1.1.1', KEY);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.json().error.code).toBe('too_many_requests');
    expect((await from('10.1.1.2', KEY)).statusCode).toBe(400); // another address is unaffected (400: imagef missing)
  });
});

describe('plugin routes use requireApiKey', () => {
  it('admin routes need an admin key; the query parameter works for <img src>', async () => {
    expect((await app.inject({ url: '/raw', headers: { apikey: KEY }, remoteAddress: '10.2.0.1' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/raw', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()).toEqual({ raw: true });
    expect((await app.inject({ url: `/snap?apikey=${KEY}` })).json()).toEqual({ admin: false });
    expect((await app.inject({ url: '/snap', remoteAddress: '10.2.0.2' })).statusCode).toBe(401);
  });

  it('plugin routes appear in /openapi.json with their summaries', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, { get?: { summary: string } }> };
    expect(doc.paths['/raw'].get?.summary).toBe('raw frame (admin)');
    expect(doc.paths['/snap'].get?.summary).toBe('snapshot');
  });
});

describe('a header key is checked before the upload is read (real socket)', () => {
  it('answers 401 while the client is still uploading', async () => {
    const { port } = app.server.address() as AddressInfo;
    const boundary = 'xyz';
    const declared = 50 * 1024 * 1024;
    const socket = connect(port, '127.0.0.1');
    const response = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      socket.on('error', () => resolve(text));
      socket.on('close', () => resolve(text));
    });
    socket.write(
      `POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\napikey: wrong-header-key\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    socket.write(`--${boundary}\r\nContent-Disposition: form-data; name="imagef"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
    socket.write(sample(1).subarray(0, 1000));
    const text = await response;
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 401/);
  });

  it('stops a too-large upload with 413 while it streams, long before the declared size', async () => {
    const { port } = app.server.address() as AddressInfo;
    const boundary = 'big';
    const declared = 64 * 1024 * 1024;
    const socket = connect(port, '127.0.0.1');
    let written = 0;
    let text = '';
    const done = new Promise<void>((resolve) => {
      socket.on('data', (d) => {
        text += d.toString('latin1');
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    socket.write(
      `POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\napikey: ${KEY}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    socket.write(`--${boundary}\r\nContent-Disposition: form-data; name="imagef"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0xff);
    while (written < declared && text === '' && !socket.destroyed) {
      const ok = socket.write(chunk);
      written += chunk.length;
      if (!ok) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 413/);
    expect(text).toContain('payload_too_large');
    console.log(`413 after ${written} bytes written of ${declared} declared (limit 1 MiB)`);
    expect(written).toBeLessThan(8 * 1024 * 1024);
  });
});
