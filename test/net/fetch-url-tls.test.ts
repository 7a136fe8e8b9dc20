/**
 * https through the SSRF guard: the socket goes to the pinned IP while SNI and certificate checks use the URL's
 * host name. Certificates are made with the system openssl for this test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RaypackError } from '../../src/errors.ts';
import { UrlFetcher } from '../../src/net/fetch-url.ts';

let dir = '';
let ca = '';
let server: Server;
let port = 0;
const servernames: (string | false | null)[] = [];
const toLoopback = async (): Promise<string[]> => ['127.0.0.1'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-tls-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=raypack test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=images.test']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:images.test\n');
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext.cnf']);
  ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  server = createServer({ key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.pem')) }, (_req, res) => res.end('tls bytes'));
  server.on('secureConnection', (socket: TLSSocket) => servernames.push(socket.servername));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return error instanceof RaypackError ? error.code : String(error);
  }
}

describe('https to a pinned address', () => {
  it('verifies the certificate against the URL host name and sends it as SNI', async () => {
    const fetcher = new UrlFetcher({ allow: ['images.test'], ca }, toLoopback);
    const result = await fetcher.fetch(`https://images.test:${port}/a.jpg`);
    expect(result.bytes.toString()).toBe('tls bytes');
    expect(servernames.at(-1)).toBe('images.test');
  });

  it('refuses an untrusted certificate, and a certificate for another name', async () => {
    expect(await code(new UrlFetcher({ allow: ['images.test'] }, toLoopback).fetch(`https://images.test:${port}/`))).toBe('fetch_failed');
    expect(await code(new UrlFetcher({ allow: ['other.test'], ca }, toLoopback).fetch(`https://other.test:${port}/`))).toBe('fetch_failed');
    expect(await code(new UrlFetcher({ allow: ['127.0.0.1'], ca }).fetch(`https://127.0.0.1:${port}/`))).toBe('fetch_failed');
  });
});
