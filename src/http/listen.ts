/**
 * Where the HTTP server listens, and what the log says about it. A default port that is taken (another service on
 * 8080) gives way to a free one, named in the log, so that `npm start` works on a busy machine; a port the config
 * or the command line gave is the user's choice and stays an error when taken.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { RaypackError } from '../errors.ts';
import type { Logger } from '../log.ts';

export async function listenHttp(server: FastifyInstance, options: { host: string; port: number; portGiven: boolean; log: Logger }): Promise<number> {
  const { host, port } = options;
  try {
    await server.listen({ host, port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.portGiven) {
      throw new RaypackError('config_invalid', `HTTP cannot listen on ${host}:${port}: ${(error as Error).message} (set http.port or --http-port)`);
    }
    await server.listen({ host, port: 0 });
    options.log.warn('HTTP port taken: listening on a free port instead (set http.port or --http-port to choose)', { taken: port, port: boundPort(server) });
  }
  return boundPort(server);
}

function boundPort(server: FastifyInstance): number {
  return (server.server.address() as AddressInfo).port;
}

/** A URL this machine can open for a listen address (the wildcard addresses are reached through loopback). */
export function localUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${urlHost(local)}:${port}`;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** What the log offers: every interface's address for a wildcard listen, else the one address. */
export function reachableUrls(host: string, port: number, interfaces = networkInterfaces()): string[] {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [`http://${urlHost(host)}:${port}`];
  const families = host === '::' ? ['IPv4', 'IPv6'] : ['IPv4'];
  const addresses = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((a) => families.includes(a.family) && !(a.family === 'IPv6' && a.address.startsWith('fe80')))
    .map((a) => a.address);
  return [...new Set(addresses)].map((a) => `http://${urlHost(a)}:${port}`);
}
