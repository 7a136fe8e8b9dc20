/**
 * Key failures over a real socket, clients on different loopback addresses (127.0.x.y) as if behind different NATs.
 * Before: once an address was blocked a valid key from it got 429 too (one bad client behind a NAT locked everyone
 * out), and one success reset the count (9 wrong, 1 valid, 9 wrong: never a 429), so a holder of an ordinary key
 * could guess admin keys unthrottled.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, KEY, closeDetectors, logLines, multipart, testServer } from './helpers.ts';

let app: FastifyInstance;
let port = 0;

beforeAll(async () => {
  app = testServer({
    authFailures: { maxFailures: 10, windowMs: 60_000 },
    plugins: [
      async (scope) => {
        scope.get('/raw', { onRequest: scope.requireApiKey({ admin: true }) }, async () => ({ raw: true }));
      },
    ],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
  await closeDetectors();
});

interface Answer {
  readonly status: number;
  readonly retryAfter?: string;
  readonly code?: string;
}

/** POST /raypackfacev3 from `from` with the key in a header (urlencoded, no image: a served request is a 400). */
function post(from: string, key: string | undefined, how: 'header' | 'form' = 'header'): Promise<Answer> {
  const form = multipart(how === 'form' && key !== undefined ? [['apikey', key], ['mode', 'json']] : [['mode', 'json']]);
  const headers: Record<string, string | number> = { ...form.headers, 'content-length': form.payload.length };
  if (how === 'header' && key !== undefined) headers.apikey = key;
  return send(from, 'POST', '/raypackfacev3', headers, form.payload);
}

function send(from: string, method: string, path: string, headers: Record<string, string | number>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, localAddress: from, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined, code: text.startsWith('{') ? JSON.parse(text).error?.code : undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const SERVED = 400; // past the key check: "imagef is required"

describe('one bad client behind a NAT', () => {
  it('keeps failing with its stale key: it gets 429, the others behind the NAT keep being served', async () => {
    const nat = '127.0.3.1';
    expect((await post(nat, KEY)).status).toBe(SERVED);
    expect((await post(nat, ADMIN_KEY, 'form')).status).toBe(SERVED);
    const bad: number[] = [];
    for (let i = 0; i < 15; i += 1) bad.push((await post(nat, 'stale-key-from-an-old-config')).status);
    expect(bad.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(bad.slice(10)).toEqual(Array(5).fill(429));
    // Keys already used from this address are still checked and served, in a header or in the form.
    expect((await post(nat, KEY)).status).toBe(SERVED);
    expect((await post(nat, KEY, 'form')).status).toBe(SERVED);
    expect((await post(nat, ADMIN_KEY, 'form')).status).toBe(SERVED);
    expect((await post(nat, 'stale-key-from-an-old-config')).status).toBe(429);
    // Another address is not affected at all.
    expect((await post('127.0.3.2', 'stale-key-from-an-old-config')).status).toBe(401);
  });

  it('a key never used from the blocked address waits (429 with Retry-After) until the window passes', async () => {
    const nat = '127.0.3.3';
    for (let i = 0; i < 10; i += 1) await post(nat, 'wrong');
    const waits = await post(nat, KEY);
    expect(waits.status).toBe(429);
    expect(waits.code).toBe('too_many_requests');
    expect(Number(waits.retryAfter)).toBeGreaterThan(50);
    expect(Number(waits.retryAfter)).toBeLessThanOrEqual(60);
  });
});

describe('guessing', () => {
  it('9 wrong, 1 valid, 9 wrong: the valid key does not reset the count, the guesses get 429 after the 10th failure', async () => {
    const from = '127.0.4.1';
    const statuses: number[] = [];
    for (let i = 0; i < 9; i += 1) statuses.push((await send(from, 'GET', '/raw', { apikey: `admin-guess-${i}` })).status);
    statuses.push((await post(from, KEY)).status);
    for (let i = 9; i < 18; i += 1) statuses.push((await send(from, 'GET', '/raw', { apikey: `admin-guess-${i}` })).status);
    expect(statuses).toEqual([...Array(9).fill(401), SERVED, 401, ...Array(8).fill(429)]);
    // Its own key still works on ordinary routes.
    expect((await post(from, KEY)).status).toBe(SERVED);
  });

  it('an ordinary key presented for an admin route counts as a failure', async () => {
    const from = '127.0.4.2';
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) statuses.push((await send(from, 'GET', '/raw', { apikey: KEY })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    // KEY succeeded nowhere from this address, so it is not known here.
    expect(statuses[10]).toBe(429);
  });

  it('30 different wrong keys block the address for every key, known ones too, before any body is read', async () => {
    const from = '127.0.4.3';
    expect((await post(from, KEY)).status).toBe(SERVED);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1) statuses.push((await post(from, `guess-${i}`)).status);
    expect(statuses).toEqual([...Array(10).fill(401), ...Array(20).fill(429)]);
    const known = await post(from, KEY, 'form');
    expect(known.status).toBe(429);
    expect(Number(known.retryAfter)).toBeGreaterThan(0);
    expect((await send(from, 'GET', '/raw', { apikey: ADMIN_KEY })).status).toBe(429);
    expect((await post('127.0.4.4', KEY)).status).toBe(SERVED);
  });

  it('no key ever reaches the log', () => {
    const logs = logLines.join('\n');
    expect(logs).toContain('"status":429');
    for (const secret of [KEY, ADMIN_KEY, 'stale-key-from-an-old-config', 'admin-guess-3', 'guess-7']) expect(logs).not.toContain(secret);
  });
});
