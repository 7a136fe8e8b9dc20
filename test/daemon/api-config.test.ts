/**
 * The `api` section of the configuration reaches the HTTP API: two real daemons (real face model, embedded broker,
 * HTTP on real sockets) built from config text. One has a 200 kB upload limit, a loopback allow-list and an extra CA
 * for an https image server; the other has no `api` section, so the API's defaults apply. Real photos throughout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon.ts';
import { setLogSink } from '../../src/log.ts';
import { waitFor } from '../helpers/processes.ts';
import { issueTestCertificate } from '../helpers/test-ca.ts';

const logs: string[] = [];
setLogSink((line) => {
  logs.push(line);
  if (logs.length > 5000) logs.splice(0, 1000);
});

const KEY = 'api-config-test-key-0123456789';
const DEMO = join(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo');
const SMALL = readFileSync(join(DEMO, 'sample1.jpg')); // 144 kB, several faces
const BIG = readFileSync(join(DEMO, 'sample6.jpg')); // 302 kB, faces
const UPLOAD_LIMIT = 200_000;

let dir = '';
let caFile = '';
let imageServer: Server;
let tlsImageServer: Server;
let imageUrl = '';
let bigImageUrl = '';
let tlsImageUrl = '';
let limited: Daemon;
let defaults: Daemon;
let limitedUrl = '';
let defaultsUrl = '';

const serveImages: RequestListener = (request, response) => {
  const body = request.url === '/big.jpg' ? BIG : request.url === '/team.jpg' ? SMALL : undefined;
  if (!body) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
};

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function configText(extra: Record<string, unknown>): string {
  return JSON.stringify({
    mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
    http: { host: '127.0.0.1', port: 0 },
    api_keys: [{ env: 'API_CONFIG_TEST_KEY' }],
    ...extra,
  });
}

async function startDaemon(extra: Record<string, unknown>): Promise<{ daemon: Daemon; url: string }> {
  const daemon = new Daemon(loadConfig({ text: configText(extra), env: { API_CONFIG_TEST_KEY: KEY } }));
  const endpoints = await daemon.start();
  return { daemon, url: endpoints.httpUrl! };
}

interface Answer {
  status: number;
  body: { totalfaces?: number; faces?: unknown[]; error?: { code: string; message: string } };
}

async function postFace(base: string, body: FormData | URLSearchParams, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${base}/raypackfacev3`, { method: 'POST', body, headers: { apikey: KEY, ...headers } });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

function upload(bytes: Buffer, name: string): FormData {
  const form = new FormData();
  form.append('mode', 'json');
  form.append('threshold', '0.5');
  form.append('imagef', new Blob([bytes], { type: 'image/jpeg' }), name);
  return form;
}

const byUrl = (url: string): URLSearchParams => new URLSearchParams({ imagef: url, mode: 'json', threshold: '0.5' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-apicfg-'));
  // A private CA and a certificate for 127.0.0.1 signed by it: only a fetcher given this CA can read the https server.
  const cert = issueTestCertificate(dir, 'IP:127.0.0.1', 'raypack api-config test CA');
  caFile = cert.caFile;

  imageServer = createHttpServer(serveImages);
  const port = await listen(imageServer);
  imageUrl = `http://127.0.0.1:${port}/team.jpg`;
  bigImageUrl = `http://127.0.0.1:${port}/big.jpg`;
  tlsImageServer = createHttpsServer({ key: readFileSync(cert.keyFile), cert: readFileSync(cert.certFile) }, serveImages);
  tlsImageUrl = `https://127.0.0.1:${await listen(tlsImageServer)}/team.jpg`;

  [{ daemon: limited, url: limitedUrl }, { daemon: defaults, url: defaultsUrl }] = await Promise.all([
    startDaemon({
      device: 'apicfg-limited',
      api: {
        max_upload_bytes: UPLOAD_LIMIT,
        headers_timeout_seconds: 1,
        trust_proxy: ['127.0.0.1'],
        fetch: { allow: ['127.0.0.1/32'], ca_file: caFile },
      },
    }),
    startDaemon({ device: 'apicfg-defaults' }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([limited?.stop(), defaults?.stop()]);
  imageServer?.closeAllConnections();
  tlsImageServer?.closeAllConnections();
  await Promise.all([imageServer, tlsImageServer].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)))));
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('api.max_upload_bytes', () => {
  it('the photos are on the right sides of the 200 kB limit', () => {
    expect(BIG.length).toBeGreaterThan(300_000);
    expect(SMALL.length).toBeLessThan(UPLOAD_LIMIT);
  });

  it('a 302 kB photo gets 413 under a 200 kB limit; a 144 kB photo is answered with faces', async () => {
    const big = await postFace(limitedUrl, upload(BIG, 'sample6.jpg'));
    expect(big.status).toBe(413);
    expect(big.body.error?.code).toBe('payload_too_large');
    const small = await postFace(limitedUrl, upload(SMALL, 'sample1.jpg'));
    expect(small.status).toBe(200);
    expect(small.body.totalfaces).toBeGreaterThanOrEqual(1);
    expect(small.body.faces).toHaveLength(small.body.totalfaces!);
  }, 60_000);

  it('without an api section the default (10 MB) applies: the same 302 kB photo is answered', async () => {
    const big = await postFace(defaultsUrl, upload(BIG, 'sample6.jpg'));
    expect(big.status).toBe(200);
    expect(big.body.totalfaces).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('api.fetch', () => {
  it('fetches imagef=http://127.0.0.1:<port>/... when 127.0.0.1/32 is allow-listed, and answers with faces', async () => {
    const answer = await postFace(limitedUrl, byUrl(imageUrl));
    expect(answer.status).toBe(200);
    expect(answer.body.totalfaces).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('refuses the same URL with 400 fetch_refused when nothing is allow-listed', async () => {
    const answer = await postFace(defaultsUrl, byUrl(imageUrl));
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('fetch_refused');
    expect(answer.body.error?.message).toMatch(/^imagef: .*loopback/);
  });

  it('caps a fetched image at the upload limit when fetch.max_bytes is not set', async () => {
    const answer = await postFace(limitedUrl, byUrl(bigImageUrl));
    expect(answer.status).toBe(413);
    expect(answer.body.error?.message).toContain(`larger than ${UPLOAD_LIMIT} bytes`);
  });

  it('trusts the https image server signed by the CA in fetch.ca_file', async () => {
    const answer = await postFace(limitedUrl, byUrl(tlsImageUrl));
    expect(answer.status).toBe(200);
    expect(answer.body.totalfaces).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('api timeouts and proxies', () => {
  it('api.headers_timeout_seconds: 1 drops a client whose headers never finish within seconds (408)', async () => {
    const { hostname, port } = new URL(limitedUrl);
    const socket = connect(Number(port), hostname);
    const started = Date.now();
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.write('POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\n');
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const elapsed = Date.now() - started;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // Node checks every min(5 s, headersTimeout) = 1 s here; the default (15 s) would not have bitten yet.
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(10_000);
  }, 20_000);

  it('api.trust_proxy: the client address comes from X-Forwarded-For only where the proxy is trusted', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.7' };
    // The request log line names the client address fastify derived (what the key-failure limit counts too).
    const clientOf = async (base: string): Promise<unknown> => {
      const marker = logs.length;
      const answer = await postFace(base, byUrl('ftp://example.com/x.jpg'), forwarded);
      expect(answer.status).toBe(400);
      const line = await waitFor(
        () => logs.slice(marker).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request' && l.path === '/raypackfacev3'),
        5000,
        'the request log line',
      );
      return line.client;
    };
    expect(await clientOf(limitedUrl)).toBe('203.0.113.7');
    expect(await clientOf(defaultsUrl)).toBe('127.0.0.1');
  });
});

describe('api.fetch.ca_file', () => {
  it('an unreadable or non-PEM CA file stops Daemon.start with the path, before any model is loaded', async () => {
    const missing = join(dir, 'missing-ca.pem');
    const daemon = new Daemon(loadConfig({ text: configText({ api: { fetch: { ca_file: missing } } }), env: { API_CONFIG_TEST_KEY: KEY } }));
    const started = Date.now();
    await expect(daemon.start()).rejects.toThrow(`api.fetch.ca_file: cannot read ${missing}: ENOENT`);
    expect(Date.now() - started).toBeLessThan(2000);
    await daemon.stop();

    const notPem = join(dir, 'not-a-ca.pem');
    writeFileSync(notPem, 'this is not a certificate\n');
    const second = new Daemon(loadConfig({ text: configText({ api: { fetch: { ca_file: notPem } } }), env: { API_CONFIG_TEST_KEY: KEY } }));
    await expect(second.start()).rejects.toThrow(`api.fetch.ca_file: ${notPem} contains no PEM certificate`);
    await second.stop();
  });

  it('raypack-edge start exits 2 and names the CA path', async () => {
    const missing = join(dir, 'nope', 'ca.pem');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `http: { host: 127.0.0.1, port: 0 }\nmqtt: { embedded: { port: 0 } }\napi:\n  fetch:\n    ca_file: ${missing}\n`);
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/raypack-edge.js'), 'start', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain(`raypack-edge start: api.fetch.ca_file: cannot read ${missing}: ENOENT`);
  }, 60_000);
});
