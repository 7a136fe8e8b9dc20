/** The SSRF guard against real listeners on loopback: refused targets must never see a connection. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UrlFetcher } from '../../src/net/fetch-url.ts';
import { RaypackError } from '../../src/errors.ts';

interface Listener {
  server: Server;
  port: number;
  connections: number;
  hosts: string[];
}

async function listen(host: string, handler: Parameters<typeof createServer>[1]): Promise<Listener> {
  const server = createServer(handler);
  const listener: Listener = { server, port: 0, connections: 0, hosts: [] };
  server.on('connection', () => {
    listener.connections += 1;
  });
  server.on('request', (req) => listener.hosts.push(String(req.headers.host)));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  listener.port = (server.address() as AddressInfo).port;
  return listener;
}

async function failure(promise: Promise<unknown>): Promise<RaypackError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RaypackError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const BODY = Buffer.from('not really an image, just bytes');
let victim4: Listener;
let victim6: Listener | undefined;
let victim2: Listener;
let allowed: Listener;

beforeAll(async () => {
  const ok: Parameters<typeof createServer>[1] = (_req, res) => res.end(BODY);
  victim4 = await listen('127.0.0.1', ok);
  victim2 = await listen('127.0.0.2', ok);
  try {
    victim6 = await listen('::1', ok);
  } catch {
    victim6 = undefined; // no IPv6 loopback on this host
  }
  allowed = await listen('127.0.0.1', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/image') return res.end(BODY);
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      return res.end();
    }
    if (url.pathname === '/loop') {
      const n = Number(url.searchParams.get('n') ?? '0');
      res.writeHead(301, { location: `/loop?n=${n + 1}` });
      return res.end();
    }
    if (url.pathname === '/big') {
      res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) });
      return res.end(Buffer.alloc(2 * 1024 * 1024));
    }
    if (url.pathname === '/big-chunked') {
      res.write(Buffer.alloc(600 * 1024));
      res.write(Buffer.alloc(600 * 1024));
      return res.end();
    }
    if (url.pathname === '/slow') return; // never answers
    res.writeHead(404);
    res.end();
  });
});

afterAll(async () => {
  for (const l of [victim4, victim2, victim6, allowed]) {
    if (!l) continue;
    l.server.closeAllConnections();
    await new Promise((resolve) => l.server.close(resolve));
  }
});

describe('refused targets (no allow-list)', () => {
  const fetcher = new UrlFetcher({ timeoutMs: 3000 });

  it.each([
    'http://127.0.0.1:PORT/',
    'http://127.1:PORT/',
    'http://2130706433:PORT/',
    'http://0x7f000001:PORT/',
    'http://0177.0.0.1:PORT/',
    'http://0x7f.1:PORT/',
    'http://[::ffff:127.0.0.1]:PORT/',
    'http://localhost:PORT/',
    'http://0.0.0.0:PORT/',
    'https://127.0.0.1:PORT/',
  ])('%s is refused and the listener sees no connection', async (template) => {
    const before = victim4.connections;
    const error = await failure(fetcher.fetch(template.replace('PORT', String(victim4.port))));
    expect(error.code).toBe('fetch_refused');
    expect(error.status).toBe(400);
    expect(victim4.connections).toBe(before);
  });

  it('[::1] is refused', async () => {
    const port = victim6?.port ?? 9;
    const before = victim6?.connections ?? 0;
    const error = await failure(fetcher.fetch(`http://[::1]:${port}/`));
    expect(error.code).toBe('fetch_refused');
    expect(error.message).toMatch(/loopback/);
    expect(victim6?.connections ?? 0).toBe(before);
  });

  it.each(['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://10.0.0.1/', 'http://[64:ff9b::7f00:1]/', 'http://[fe80::1]/'])(
    '%s is refused before any connection attempt',
    async (url) => {
      const error = await failure(fetcher.fetch(url));
      expect(error.code).toBe('fetch_refused');
    },
  );

  it('refuses other schemes and nonsense with clear codes', async () => {
    expect((await failure(fetcher.fetch('file:///etc/passwd'))).code).toBe('fetch_refused');
    expect((await failure(fetcher.fetch('gopher://127.0.0.1/'))).code).toBe('fetch_refused');
    expect((await failure(fetcher.fetch('not a url'))).code).toBe('bad_parameter');
  });

  it('refuses a name whose DNS answers include a private address, resolving it once', async () => {
    let lookups = 0;
    const resolver = async (): Promise<string[]> => {
      lookups += 1;
      return ['93.184.216.34', '127.0.0.1'];
    };
    const error = await failure(new UrlFetcher({}, resolver).fetch(`http://rebind.test:${victim4.port}/`));
    expect(error.code).toBe('fetch_refused');
    expect(lookups).toBe(1);
  });
});

describe('allow-listed server', () => {
  const fetcher = new UrlFetcher({ allow: ['127.0.0.1/32'], timeoutMs: 2000, maxBytes: 1024 * 1024 });

  it('fetches from an allow-listed address', async () => {
    const result = await fetcher.fetch(`http://127.0.0.1:${allowed.port}/image`);
    expect(result.bytes.equals(BODY)).toBe(true);
  });

  it('connects to the pinned address with the name in Host, resolving once', async () => {
    let lookups = 0;
    const pinned = new UrlFetcher({ allow: ['127.0.0.1/32'] }, async (name) => {
      lookups += 1;
      expect(name).toBe('images.example');
      return ['127.0.0.1'];
    });
    const result = await pinned.fetch(`http://images.example:${allowed.port}/image`);
    expect(result.bytes.equals(BODY)).toBe(true);
    expect(lookups).toBe(1);
    expect(allowed.hosts.at(-1)).toBe(`images.example:${allowed.port}`);
  });

  it('a redirect to a NON-allow-listed loopback listener is refused and that listener sees no connection', async () => {
    for (const target of [`http://127.0.0.2:${victim2.port}/`, `http://[::ffff:127.0.0.2]:${victim2.port}/`, `http://2130706434:${victim2.port}/`]) {
      const before = victim2.connections;
      const error = await failure(fetcher.fetch(`http://127.0.0.1:${allowed.port}/redirect?to=${encodeURIComponent(target)}`));
      expect(error.code).toBe('fetch_refused');
      expect(victim2.connections).toBe(before);
    }
    const error = await failure(fetcher.fetch(`http://127.0.0.1:${allowed.port}/redirect?to=${encodeURIComponent('http://169.254.169.254/')}`));
    expect(error.message).toMatch(/metadata/);
  });

  it('follows at most 3 redirects', async () => {
    const three = await failure(fetcher.fetch(`http://127.0.0.1:${allowed.port}/loop?n=0`));
    expect(three.code).toBe('fetch_failed');
    expect(three.message).toMatch(/more than 3/);
    const ok = await fetcher.fetch(`http://127.0.0.1:${allowed.port}/redirect?to=/image`);
    expect(ok.bytes.equals(BODY)).toBe(true);
    expect(ok.url).toBe(`http://127.0.0.1:${allowed.port}/image`);
  });

  it('caps bytes (declared and streamed) and time', async () => {
    expect((await failure(fetcher.fetch(`http://127.0.0.1:${allowed.port}/big`))).code).toBe('payload_too_large');
    expect((await failure(fetcher.fetch(`http://127.0.0.1:${allowed.port}/big-chunked`))).code).toBe('payload_too_large');
    const started = Date.now();
    const slow = await failure(new UrlFetcher({ allow: ['127.0.0.1'], timeoutMs: 500 }).fetch(`http://127.0.0.1:${allowed.port}/slow`));
    expect(slow.code).toBe('fetch_failed');
    expect(slow.message).toMatch(/longer than 500 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await failure(fetcher.fetch(`http://127.0.0.1:${allowed.port}/missing`))).message).toMatch(/HTTP 404/);
  });
});
