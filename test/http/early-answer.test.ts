/**
 * Answers given before the upload was read (401 on a header key, 413 over the upload limit) must reach the client.
 * They used to be lost when the server closed a socket with unread bytes in it: the kernel sends a RST, and a
 * client still sending fails with EPIPE (curl: `(55) Send failure: Broken pipe`) before it reads the answer. Many
 * clients at once, raw sockets that send everything before reading, and curl, against the real server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, closeDetectors, sample, testServer } from './helpers.ts';
import { sendEverythingFirst, type RawAnswer } from './raw-client.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const CLIENTS = 27;
let app: FastifyInstance;
let port = 0;
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-early-'));
  writeFileSync(join(dir, 'big.jpg'), Buffer.concat([sample(1), Buffer.alloc(16 * MiB)]));
  writeFileSync(join(dir, 'photo.jpg'), sample(1));
  // 1 MiB uploads: a 16 MiB body is far over the limit and was beyond what the old code drained (2 x limit + 4 MiB).
  app = testServer({ limits: { maxUploadBytes: MiB, maxInFlight: 64, maxReceiving: 64, maxPerClient: 64 }, authFailures: { maxFailures: 1_000_000 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  await closeDetectors();
});

function tally(answers: readonly RawAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === 0 ? `none (${a.error ?? 'closed'})` : String(a.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function curl(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args], { cwd: dir, maxBuffer: 1 << 20 });
    return stdout;
  } catch (error) {
    return `curl failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}`;
  }
}

describe(`${CLIENTS} clients at once that send their whole body before reading`, () => {
  it('401 on a wrong header key: every client reads it', async () => {
    const answers = await Promise.all(Array.from({ length: CLIENTS }, () => sendEverythingFirst({ port, headers: { apikey: 'wrong' }, fileBytes: 16 * MiB })));
    expect(tally(answers)).toEqual({ 401: CLIENTS });
    expect(JSON.parse(answers[0].body).error.code).toBe('unauthorized');
  });

  it('413 over the upload limit: every client reads it', async () => {
    const answers = await Promise.all(Array.from({ length: CLIENTS }, () => sendEverythingFirst({ port, headers: { apikey: KEY }, fileBytes: 16 * MiB })));
    expect(tally(answers)).toEqual({ 413: CLIENTS });
    expect(JSON.parse(answers[0].body).error.code).toBe('payload_too_large');
  });

  it('503 before the upload is read (no receiving place free): every client reads that too', async () => {
    const narrow = testServer({ limits: { maxUploadBytes: MiB, maxReceiving: 3, maxPerClient: 3 }, authFailures: { maxFailures: 1_000_000 } });
    await narrow.listen({ host: '127.0.0.1', port: 0 });
    const narrowPort = (narrow.server.address() as AddressInfo).port;
    const answers = await Promise.all(Array.from({ length: CLIENTS }, () => sendEverythingFirst({ port: narrowPort, headers: { apikey: KEY }, fileBytes: 16 * MiB })));
    await narrow.close();
    const counts = tally(answers);
    expect(Object.keys(counts).sort()).toEqual(['413', '503']);
    expect(counts[503]).toBeGreaterThan(0);
  });

  it('chunked bodies (no declared size): 401 and 413 reach every client, with Connection: close', async () => {
    const answers = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        sendEverythingFirst({ port, headers: { apikey: i % 2 === 0 ? 'wrong' : KEY }, fileBytes: 16 * MiB, chunked: true }),
      ),
    );
    expect(tally(answers)).toEqual({ 401: Math.ceil(CLIENTS / 2), 413: Math.floor(CLIENTS / 2) });
    for (const a of answers) expect(a.head.toLowerCase()).toContain('connection: close');
  });
});

describe(`${CLIENTS} curl clients at once`, () => {
  const url = () => `http://127.0.0.1:${port}/raypackfacev3`;

  it('a wrong header key, an upload over the limit, chunked, without Expect: every curl gets its status', async () => {
    const jobs = Array.from({ length: CLIENTS }, (_, i) => {
      const variant = i % 3;
      const extra = i % 2 === 0 ? ['-H', 'Expect:'] : [];
      if (variant === 0) return curl([...extra, '-H', 'apikey: wrong', '-F', 'imagef=@big.jpg', url()]);
      if (variant === 1) return curl([...extra, '-F', `apikey=${KEY}`, '-F', 'imagef=@big.jpg', url()]);
      return curl([...extra, '-H', 'Transfer-Encoding: chunked', '-H', `apikey: ${KEY}`, '-F', 'imagef=@big.jpg', url()]);
    });
    const results = await Promise.all(jobs);
    const counts: Record<string, number> = {};
    for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
    expect(counts).toEqual({ 401: CLIENTS / 3, 413: (2 * CLIENTS) / 3 });
  });

  it('bodies far beyond what is drained still get their answer when the client reads while it sends', async () => {
    const tight = testServer({ limits: { maxUploadBytes: MiB, drainBytes: 2 * MiB, maxReceiving: 64, maxPerClient: 64 }, authFailures: { maxFailures: 1_000_000 } });
    await tight.listen({ host: '127.0.0.1', port: 0 });
    const tightUrl = `http://127.0.0.1:${(tight.server.address() as AddressInfo).port}/raypackfacev3`;
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => curl(['-H', 'Expect:', ...(i % 2 ? ['-H', 'apikey: wrong'] : ['-F', `apikey=${KEY}`]), '-F', 'imagef=@big.jpg', tightUrl])),
    );
    await tight.close();
    const counts: Record<string, number> = {};
    for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
    expect(counts).toEqual({ 401: Math.floor(CLIENTS / 2), 413: Math.ceil(CLIENTS / 2) });
  });

  it('a client that never stops sending is cut off after the drain bound, its answer delivered first', async () => {
    const tight = testServer({ limits: { maxUploadBytes: MiB, drainBytes: 2 * MiB, lingerMs: 1500 }, authFailures: { maxFailures: 1_000_000 } });
    await tight.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((tight.server.address() as AddressInfo).port, '127.0.0.1');
    let text = '';
    let sentAfterAnswer = 0;
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\napikey: wrong\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const started = Date.now();
    while (!socket.destroyed && Date.now() - started < 10_000) {
      if (text !== '') sentAfterAnswer += chunk.length;
      if (!socket.write(`${chunk.length.toString(16)}\r\n`) || !socket.write(chunk) || !socket.write('\r\n')) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    await closed;
    await tight.close();
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    expect(text.toLowerCase()).toContain('connection: close');
    // Cut within the bounds (2 MiB or 1.5 s after the answer), not after the 60 s request timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sentAfterAnswer).toBeLessThan(64 * MiB);
  });

  it('the server answers a photo afterwards', async () => {
    const out = join(dir, 'answer.json');
    const { stdout } = await run('curl', ['-sS', '-o', out, '-w', '%{http_code}', '-F', `apikey=${KEY}`, '-F', 'imagef=@photo.jpg', '-F', 'mode=json', url()], { cwd: dir });
    expect(stdout).toBe('200');
    expect(JSON.parse(readFileSync(out, 'utf8')).totalfaces).toBeGreaterThanOrEqual(1);
  });
});
