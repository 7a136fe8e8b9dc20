/**
 * Malformed requests are the client's fault: every one gets a 4xx in the error shape, over a real socket, and the
 * server goes on answering. A multipart boundary of 253+ characters used to be a 500 (busboy's constructor throws
 * "The needle cannot have a length bigger than 256."); the battery below covers the parser's other refusals.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, closeDetectors, logLines, sample, testServer } from './helpers.ts';

const run = promisify(execFile);
let app: FastifyInstance;
let port = 0;
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-parse-'));
  app = testServer({ authFailures: { maxFailures: 1_000_000 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  await closeDetectors();
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request as raw bytes on its own connection; the answer's status and body. */
function raw(head: string, body: Buffer | string, path = '/raypackfacev3'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1');
    const length = /transfer-encoding|content-length/i.test(head) ? '' : `Content-Length: ${bytes.length}\r\n`;
    // Not end(): Node's HTTP server takes a client's FIN as the end of the exchange and would answer nothing.
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${head}${length}\r\n`);
    socket.write(bytes);
  });
}

const withKey = `apikey: ${KEY}\r\n`;
const mp = (boundary: string): string => `Content-Type: multipart/form-data; boundary=${boundary}\r\n`;
const modeJson = (boundary: string): string => `--${boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\njson\r\n--${boundary}--\r\n`;
const photoBody = (boundary: string): Buffer =>
  Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\njson\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="imagef"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    sample(1),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

function expectClientError(answer: Answer, label: string): void {
  expect({ label, status: answer.status >= 400 && answer.status < 500 }).toEqual({ label, status: true });
  if (answer.body.startsWith('{')) expect(Object.keys(JSON.parse(answer.body).error)).toEqual(['code', 'message']);
}

describe('multipart boundaries', () => {
  it.each([253, 256, 257, 300, 5000])('a %i-character boundary is a 400 naming the boundary (with and without a key)', async (length) => {
    const boundary = 'b'.repeat(length);
    for (const head of [withKey, '']) {
      const answer = await raw(head + mp(boundary), modeJson(boundary));
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error).toEqual({
        code: 'bad_parameter',
        message: 'the multipart/form-data boundary is missing or too long (RFC 2046 allows 1 to 70 characters)',
      });
    }
  });

  it('curl with a 300-character boundary gets the 400 too', async () => {
    const boundary = 'c'.repeat(300);
    writeFileSync(join(dir, 'body'), photoBody(boundary));
    const out = join(dir, 'out');
    const { stdout } = await run('curl', ['-sS', '-o', out, '-w', '%{http_code}', '-H', `apikey: ${KEY}`, '-H', `content-type: multipart/form-data; boundary=${boundary}`, '--data-binary', `@${join(dir, 'body')}`, `http://127.0.0.1:${port}/raypackfacev3`]);
    expect(stdout).toBe('400');
    expect(JSON.parse(readFileSync(out, 'utf8')).error.code).toBe('bad_parameter');
  });

  it('a 252-character boundary (the longest busboy takes) still carries a photo to a 200', async () => {
    const boundary = 'd'.repeat(252);
    const answer = await raw(withKey + mp(boundary), photoBody(boundary));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).totalfaces).toBeGreaterThanOrEqual(1);
  });
});

describe('every other malformed body is a 4xx, never a 5xx', () => {
  const x = mp('x');
  const cases: Array<[string, string, string | Buffer]> = [
    ['empty boundary', 'Content-Type: multipart/form-data; boundary=\r\n', modeJson('')],
    ['no boundary', 'Content-Type: multipart/form-data\r\n', modeJson('x')],
    ['boundary twice', 'Content-Type: multipart/form-data; boundary=a; boundary=b\r\n', modeJson('a')],
    ['unknown charset', 'Content-Type: multipart/form-data; boundary=x; charset=bogus-77\r\n', modeJson('x')],
    ['bad filename*', x, `--x\r\nContent-Disposition: form-data; name="imagef"; filename*=UTF-8''%ZZ%\r\n\r\nabc\r\n--x--\r\n`],
    ['no disposition', x, '--x\r\nContent-Type: text/plain\r\n\r\nabc\r\n--x--\r\n'],
    ['header without colon', x, '--x\r\nGarbage\r\n\r\nabc\r\n--x--\r\n'],
    ['200 KB part header', x, `--x\r\nContent-Disposition: form-data; name="${'a'.repeat(200_000)}"\r\n\r\nabc\r\n--x--\r\n`],
    ['500 header pairs', x, `--x\r\n${'X-A: 1\r\n'.repeat(500)}Content-Disposition: form-data; name="a"\r\n\r\nabc\r\n--x--\r\n`],
    ['__proto__ field', x, '--x\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nabc\r\n--x--\r\n'],
    ['JSON part that is not JSON', x, '--x\r\nContent-Disposition: form-data; name="mode"\r\nContent-Type: application/json\r\n\r\n{bad\r\n--x--\r\n'],
    ['truncated', x, '--x\r\nContent-Disposition: form-data; name="mode"\r\n\r\njs'],
    ['no closing boundary', x, '--x\r\nContent-Disposition: form-data; name="mode"\r\n\r\njson\r\n'],
    ['preamble only', x, 'hello'],
    ['empty', x, ''],
    ['two files', x, '--x\r\nContent-Disposition: form-data; name="imagef"; filename="a.jpg"\r\n\r\nabc\r\n--x\r\nContent-Disposition: form-data; name="file"; filename="b.jpg"\r\n\r\nabc\r\n--x--\r\n'],
    ['41 parts', x, Array.from({ length: 41 }, (_, i) => `--x\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`).join('') + '--x--\r\n'],
    ['multipart/mixed', 'Content-Type: multipart/mixed; boundary=x\r\n', modeJson('x')],
    ['content type garbage', 'Content-Type: ;;;=\r\n', 'a=b'],
    ['JSON that is not JSON', 'Content-Type: application/json\r\n', '{bad'],
    ['JSON array', 'Content-Type: application/json\r\n', '[1,2]'],
    ['empty JSON', 'Content-Type: application/json\r\n', ''],
    ['urlencoded nonsense', 'Content-Type: application/x-www-form-urlencoded\r\n', '%%%=%ZZ&&=&a'],
    ['urlencoded over 64 KB', 'Content-Type: application/x-www-form-urlencoded\r\n', `imagef=${'a'.repeat(70_000)}`],
    ['octet-stream', 'Content-Type: application/octet-stream\r\n', 'abc'],
    ['bad chunk size', `${x}Transfer-Encoding: chunked\r\n`, 'zz\r\nabc\r\n0\r\n\r\n'],
    ['length and chunked', `${x}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n`, '3\r\nabc\r\n0\r\n\r\n'],
    ['length not a number', `${x}Content-Length: abc\r\n`, 'abc'],
    ['20 KB header', `${x}X-Big: ${'h'.repeat(20_000)}\r\n`, modeJson('x')],
  ];

  it.each(cases)('%s', async (label, head, body) => {
    for (const key of [withKey, '']) expectClientError(await raw(key + head, body), `${label}${key ? ' (key)' : ''}`);
    expectClientError(await raw(withKey + head, body, '/recog'), `${label} on /recog`);
  });

  it('logged no 500 and still answers a photo', async () => {
    expect(logLines.filter((l) => l.includes('"status":5'))).toEqual([]);
    const answer = await raw(withKey + mp('ok'), photoBody('ok'));
    expect(answer.status).toBe(200);
  });
});
