/**
 * Slow-body clients must not starve the API. Before: 16 connections with complete headers trickling a body one
 * byte per 5 s, with no key at all, held all 16 in-flight slots until the 60 s request timeout, and every normal
 * POST /raypackfacev3 got 503. Now a request takes an in-flight slot only once its body is in and its key accepted;
 * while its body arrives it holds a receiving place (at most 8 per client address), and a body slower than
 * 1 KiB/s over 10 s is answered 408 and closed. Real server, real sockets; attackers and the normal client come
 * from different loopback addresses (127.0.0.x), as they would from different hosts.
 */
import { connect, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, closeDetectors, multipart, sample, testServer } from './helpers.ts';
import { trickle, type RawAnswer } from './raw-client.ts';

let photoForm: { payload: Buffer; headers: Record<string, string> };

beforeAll(() => {
  photoForm = multipart([
    ['apikey', KEY],
    ['mode', 'json'],
    ['imagef', { filename: 'photo.jpg', data: sample(1) }],
  ]);
});

afterAll(async () => {
  await closeDetectors();
});

/** A normal client: the whole photo at once from 127.0.0.1, key in the form (what RAYPACK clients do). */
function normalPost(port: number, localAddress = '127.0.0.1', path = '/raypackfacev3'): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), head: text.slice(0, split), body: text.slice(split + 4), ms: Date.now() - started });
    });
    const head = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `Content-Type: ${photoForm.headers['content-type']}`, `Content-Length: ${photoForm.payload.length}`];
    socket.write(head.join('\r\n') + '\r\n\r\n');
    socket.write(photoForm.payload);
  });
}

function tally(answers: readonly RawAnswer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

describe('16 keyless slow-body connections (one byte per 5 s), default limits', () => {
  let app: FastifyInstance;
  let port = 0;

  beforeAll(async () => {
    app = testServer({ authFailures: { maxFailures: 1_000_000 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app.close();
  });

  it('from one address: 8 get 503 at once, 8 get 408 after ~10 s, and normal POSTs from elsewhere get 200 meanwhile', async () => {
    const started = Date.now();
    const slow = Array.from({ length: 16 }, () => trickle({ port, localAddress: '127.0.0.2', contentLength: 100_000, everyMs: 5000 }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const normal: RawAnswer[] = [];
    for (let i = 0; i < 3; i += 1) normal.push(await normalPost(port));
    expect(normal.map((a) => a.status)).toEqual([200, 200, 200]);
    const answers = await Promise.all(slow.map((s) => s.answer));
    expect(tally(answers)).toEqual({ 408: 8, 503: 8 });
    for (const a of answers.filter((x) => x.status === 503)) expect(a.ms).toBeLessThan(1000);
    const timedOut = answers.filter((a) => a.status === 408);
    expect(JSON.parse(timedOut[0].body).error.code).toBe('request_timeout');
    // Cut at the 10 s window (plus a tick), not at the 60 s request timeout.
    expect(Math.max(...timedOut.map((a) => a.ms))).toBeLessThan(13_000);
    expect(Date.now() - started).toBeLessThan(14_000);
  });

  it('from 16 addresses: all are cut with 408 within ~10 s, and normal POSTs get 200 meanwhile', async () => {
    const slow = Array.from({ length: 16 }, (_, i) => trickle({ port, localAddress: `127.0.1.${i + 1}`, contentLength: 100_000, everyMs: 5000 }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const normal: RawAnswer[] = [];
    for (let i = 0; i < 3; i += 1) normal.push(await normalPost(port));
    expect(normal.map((a) => a.status)).toEqual([200, 200, 200]);
    const answers = await Promise.all(slow.map((s) => s.answer));
    expect(tally(answers)).toEqual({ 408: 16 });
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(13_000);
  });
});

describe('receiving places and in-flight slots (narrow limits, 2 s window)', () => {
  let app: FastifyInstance;
  let port = 0;

  beforeAll(async () => {
    app = testServer({
      limits: { maxInFlight: 1, maxReceiving: 4, maxPerClient: 2, bodyWindowMs: 2000 },
      authFailures: { maxFailures: 1_000_000 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app.close();
  });

  it('a slow upload with a valid key does not hold the only in-flight slot', async () => {
    const slow = trickle({ port, localAddress: '127.0.0.3', headers: { apikey: KEY }, contentLength: 100_000, everyMs: 500 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await normalPost(port)).status).toBe(200);
    expect((await slow.answer).status).toBe(408);
  });

  it('one address holds at most maxPerClient places; all addresses together at most maxReceiving; freed after the cut', async () => {
    const fromA = [0, 1, 2].map(() => trickle({ port, localAddress: '127.0.0.4', contentLength: 100_000, everyMs: 500 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fromB = [0, 1].map(() => trickle({ port, localAddress: '127.0.0.5', contentLength: 100_000, everyMs: 500 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // All four places taken: another address is refused at once, before its upload is read.
    const refused = await normalPost(port, '127.0.0.6');
    expect(refused.status).toBe(503);
    expect(refused.head.toLowerCase()).toContain('retry-after: 1');
    expect(JSON.parse(refused.body).error.code).toBe('busy');
    const a = await Promise.all(fromA.map((s) => s.answer));
    expect(tally(a)).toEqual({ 408: 2, 503: 1 });
    expect(tally(await Promise.all(fromB.map((s) => s.answer)))).toEqual({ 408: 2 });
    expect((await normalPost(port, '127.0.0.6')).status).toBe(200);
  });

  it('places are given back: clients that vanish mid-upload or right after sending do not leak them', async () => {
    for (let i = 0; i < 10; i += 1) {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      const half = photoForm.payload.subarray(0, i % 2 === 0 ? 1000 : photoForm.payload.length);
      socket.write(`POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\nContent-Type: ${photoForm.headers['content-type']}\r\nContent-Length: ${photoForm.payload.length}\r\n\r\n`);
      // Half of them end their side with the last byte (the server sees the FIN with the body and closes the
      // exchange while the form is still being parsed), the others go away mid-upload.
      if (i % 2 === 1) {
        socket.end(half);
        await new Promise((resolve) => setTimeout(resolve, 30));
      } else {
        socket.write(half);
        await new Promise((resolve) => setTimeout(resolve, i % 3 === 0 ? 0 : 30));
      }
      socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const from of ['127.0.0.7', '127.0.0.7', '127.0.0.8']) expect((await normalPost(port, from)).status).toBe(200);
  });

  it('a photo sent over 5 s (about 29 KB/s, longer than the window) is answered 200', async () => {
    const body = Buffer.concat([photoForm.payload]);
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(
      `POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ${photoForm.headers['content-type']}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const step = Math.ceil(body.length / 25);
    for (let at = 0; at < body.length; at += step) {
      socket.write(body.subarray(at, at + step));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await closed;
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(body.length / 5).toBeGreaterThan(1024 * 10);
  });
});

