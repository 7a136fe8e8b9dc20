/**
 * Fetch an image URL for the API without becoming a proxy into the device's network (SSRF). We resolve the name
 * ourselves, refuse any non-public address unless the allow-list permits it, and connect to exactly the address we
 * checked (the socket is opened to the IP; Host and TLS servername carry the name), so a second DNS answer cannot
 * swap the target. Every redirect hop is checked the same way, and bytes and time are capped.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { RaypackError } from '../errors.ts';
import { redactUrl } from '../log.ts';
import { AllowList } from './allow-list.ts';
import { formatIp, parseIp, type IpAddress } from './ip.ts';

export interface FetchPolicy {
  /** CIDRs, addresses or host names that may be reached even though they are not public. */
  readonly allow?: readonly string[];
  /** Largest body accepted (default 10 MB). */
  readonly maxBytes?: number;
  /** Time for the whole fetch, redirects included (default 10 s). */
  readonly timeoutMs?: number;
  /** Redirects followed (default 3). */
  readonly maxRedirects?: number;
  /** Extra trusted CA certificates (PEM) for https image servers on the local network; Node's roots still apply. */
  readonly ca?: string | readonly string[];
}

export interface FetchedResource {
  readonly bytes: Buffer;
  /** The URL the bytes finally came from (after redirects). */
  readonly url: string;
  readonly contentType?: string;
}

/** Resolves a host name to every address it has; injectable so tests can make a name point anywhere. */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class UrlFetcher {
  private readonly allow: AllowList;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  private readonly ca?: string[];

  constructor(
    policy: FetchPolicy = {},
    private readonly resolve: Resolver = systemResolver,
  ) {
    this.allow = new AllowList(policy.allow ?? []);
    this.maxBytes = policy.maxBytes ?? 10 * 1024 * 1024;
    this.timeoutMs = policy.timeoutMs ?? 10_000;
    this.maxRedirects = policy.maxRedirects ?? 3;
    if (policy.ca !== undefined) this.ca = [...tls.rootCertificates, ...(typeof policy.ca === 'string' ? [policy.ca] : policy.ca)];
  }

  async fetch(rawUrl: string): Promise<FetchedResource> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let url = parseHttpUrl(rawUrl);
    for (let hop = 0; ; hop += 1) {
      const address = await this.pin(url);
      const response = await this.request(url, address, signal);
      const status = response.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        response.destroy();
        const location = response.headers.location;
        if (!location) throw new RaypackError('fetch_failed', `the image URL answered ${status} without a Location`);
        if (hop >= this.maxRedirects) {
          throw new RaypackError('fetch_failed', `the image URL redirected more than ${this.maxRedirects} times`);
        }
        url = parseHttpUrl(new URL(location, url).toString());
        continue;
      }
      if (status < 200 || status > 299) {
        response.destroy();
        throw new RaypackError('fetch_failed', `the image URL answered HTTP ${status}`, { status });
      }
      const bytes = await this.readCapped(response, signal);
      return { bytes, url: url.toString(), contentType: response.headers['content-type'] };
    }
  }

  /** Resolve once, check every address, and return the one we will connect to. */
  private async pin(url: URL): Promise<IpAddress> {
    const hostname = url.hostname;
    const literal = parseIp(hostname);
    let addresses: IpAddress[];
    if (literal) {
      addresses = [literal];
    } else {
      let answers: readonly string[];
      try {
        answers = await this.resolve(hostname);
      } catch (error) {
        throw new RaypackError('fetch_failed', `the image URL's host '${hostname}' cannot be resolved`, undefined, { cause: error });
      }
      addresses = answers.map((a) => parseIp(a)).filter((a): a is IpAddress => a !== undefined);
      if (addresses.length === 0) throw new RaypackError('fetch_failed', `the image URL's host '${hostname}' has no address`);
    }
    // Refuse when ANY answer is forbidden: a name that mixes public and private answers is an attack, not a mirror.
    for (const address of addresses) {
      const reason = this.allow.refusal(hostname, address);
      if (reason) {
        throw new RaypackError('fetch_refused', `the image URL points to a ${reason} address (${formatIp(address)}), which is not allowed`);
      }
    }
    return addresses[0];
  }

  private request(url: URL, address: IpAddress, signal: AbortSignal): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    const isLiteral = parseIp(url.hostname) !== undefined;
    const options: https.RequestOptions = {
      host: formatIp(address),
      family: address.family,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { host: url.host, 'user-agent': 'raypack-edge', accept: 'image/jpeg,image/png,image/webp;q=0.9,*/*;q=0.1' },
      agent: false,
      signal,
      // The certificate is checked against the name the client gave, not the pinned IP.
      servername: secure && !isLiteral ? url.hostname : undefined,
      ca: this.ca,
    };
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(options, resolve);
      req.on('error', (error) => reject(this.networkError(error, signal)));
      req.end();
    });
  }

  private readCapped(response: IncomingMessage, signal: AbortSignal): Promise<Buffer> {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      response.destroy();
      return Promise.reject(tooLarge(this.maxBytes));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      response.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > this.maxBytes) {
          // Reject first: destroying the response emits 'aborted', which must not win the race.
          reject(tooLarge(this.maxBytes));
          response.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks, total)));
      response.on('error', (error) => reject(this.networkError(error, signal)));
      response.on('aborted', () => reject(this.networkError(new Error('aborted'), signal)));
    });
  }

  private networkError(error: unknown, signal: AbortSignal): RaypackError {
    if (error instanceof RaypackError) return error;
    if (signal.aborted) return new RaypackError('fetch_failed', `fetching the image URL took longer than ${this.timeoutMs} ms`);
    const code = (error as NodeJS.ErrnoException).code;
    return new RaypackError('fetch_failed', `the image URL cannot be fetched${code ? ` (${code})` : ''}`, undefined, { cause: error });
  }
}

function tooLarge(maxBytes: number): RaypackError {
  return new RaypackError('payload_too_large', `the image at the URL is larger than ${maxBytes} bytes`, { maxBytes });
}

/** http(s) URLs only; anything else is the client's mistake and named as such. */
export function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RaypackError('bad_parameter', 'the image URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RaypackError('fetch_refused', `only http and https image URLs are fetched, not ${redactUrl(url.protocol)}`);
  }
  return url;
}
