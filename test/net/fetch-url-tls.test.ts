/**
 * https through the SSRF guard: the socket goes to the pinned IP while SNI and certificate checks use the URL's
 * host name. Certificates are made with the system openssl for this test.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RaypackError } from '../../src/errors.ts';
import { UrlFetcher } from '../../src/net/fetch-url.ts';
import { issueTestCertificate } from '../helpers/test-ca.ts';

let dir = '';
let ca = '';
let server: Server;
let port = 0;
const servernames: (string | false | null)[] = [];
const toLoopback = async (): Promise<string[]> => ['127.0.0.1'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-tls-'));
  const cert = issueTestCertificate(dir, 'DNS:images.test');
  ca = readFileSync(cert.caFile, 'utf8');
  server = createServer({ key: readFileSync(cert.keyFile), cert: readFileSync(cert.certFile) }, (_req, res) => res.end('tls bytes'));
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
