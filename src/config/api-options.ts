/**
 * The `api` section of a validated configuration → the options of buildServer (ApiDeps), plus the checks the
 * schema cannot express (allow-list and proxy entries that parse, headers timeout within the request timeout) and
 * reading the extra CA file at start. Pure apart from readFetchCa.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RaypackError } from '../errors.ts';
import type { ApiDeps } from '../http/server.ts';
import { AllowList } from '../net/allow-list.ts';
import { parseCidr } from '../net/ip.ts';
import { TRUST_PROXY_NAMES } from './schema-api.ts';
import type { ApiConfig, Config } from './types.ts';

export type ApiOptions = Required<Pick<ApiDeps, 'limits' | 'fetch' | 'trustProxy' | 'license' | 'authFailures' | 'video'>>;

/** Seconds in the config, milliseconds in ApiDeps. */
const ms = (seconds: number): number => Math.round(seconds * 1000);

/** `ca`: the PEM text of api.fetch.ca_file, read by readFetchCa at start. */
export function apiOptions(config: Pick<Config, 'api' | 'license'>, ca?: string): ApiOptions {
  const api = config.api;
  return {
    limits: {
      maxUploadBytes: api.max_upload_bytes,
      maxFormBytes: api.max_form_bytes,
      maxPixels: api.max_pixels,
      maxImageSide: api.max_image_side,
      decodeTimeoutSeconds: api.decode_timeout_seconds,
      requestTimeoutMs: ms(api.request_timeout_seconds),
      headersTimeoutMs: ms(api.headers_timeout_seconds),
      keepAliveTimeoutMs: ms(api.keep_alive_timeout_seconds),
      connectionTimeoutMs: ms(api.connection_timeout_seconds),
      maxInFlight: api.max_in_flight,
      maxReceiving: api.max_receiving,
      maxPerClient: api.max_per_client,
      minBodyBytesPerSecond: api.min_body_bytes_per_second,
      bodyWindowMs: ms(api.body_window_seconds),
    },
    // Every key given explicitly: buildServer spreads this over its defaults, so an undefined maxBytes would
    // replace "the upload limit" with the fetcher's own 10 MB.
    fetch: {
      allow: api.fetch.allow.map((entry) => entry.trim()),
      maxBytes: api.fetch.max_bytes ?? api.max_upload_bytes,
      timeoutMs: ms(api.fetch.timeout_seconds),
      maxRedirects: api.fetch.max_redirects,
      ...(ca === undefined ? {} : { ca }),
    },
    video: {
      enabled: api.video.enabled,
      maxSeconds: api.video.max_seconds,
      maxFrames: api.video.max_frames,
      maxPixels: api.video.max_pixels,
      maxProcessingMs: ms(api.video.max_processing_seconds),
      sampleFps: api.video.sample_fps,
      analysisFps: api.video.analysis_fps,
    },
    trustProxy: Array.isArray(api.trust_proxy) ? api.trust_proxy.map((entry) => entry.trim()) : api.trust_proxy,
    license: config.license,
    authFailures: {
      maxFailures: api.auth_failures.max_failures,
      ...(api.auth_failures.max_distinct_keys === undefined ? {} : { maxDistinctKeys: api.auth_failures.max_distinct_keys }),
      windowMs: ms(api.auth_failures.window_seconds),
      trustMs: ms(api.auth_failures.trust_seconds),
    },
  };
}

/** Problems in the `api` section that JSON Schema cannot see, each with its path. */
export function apiProblems(api: ApiConfig): string[] {
  const problems: string[] = [];
  if (api.headers_timeout_seconds > api.request_timeout_seconds) {
    // Node refuses to create such a server; say so here rather than with a stack trace at start.
    problems.push('api.headers_timeout_seconds: must not be larger than api.request_timeout_seconds');
  }
  api.fetch.allow.forEach((entry, index) => {
    if (entry.trim() === '') {
      problems.push(`api.fetch.allow[${index}]: empty entry`);
      return;
    }
    try {
      new AllowList([entry]);
    } catch {
      problems.push(`api.fetch.allow[${index}]: '${entry}' is neither a CIDR, an address nor a host name (e.g. 192.168.1.0/24, nas.local, *.lan)`);
    }
  });
  if (Array.isArray(api.trust_proxy)) {
    api.trust_proxy.forEach((entry, index) => {
      if (!isTrustProxyEntry(entry.trim())) {
        problems.push(`api.trust_proxy[${index}]: '${entry}' is not an address, a CIDR or one of ${TRUST_PROXY_NAMES.join(', ')}`);
      }
    });
  }
  return problems;
}

/**
 * What fastify's proxy-addr accepts: dotted-quad IPv4 or IPv6, optionally with a numeric prefix, or a range name.
 * Stricter than the SSRF parser (no `127.1` or octal forms), because proxy-addr throws on those at start.
 */
function isTrustProxyEntry(entry: string): boolean {
  if ((TRUST_PROXY_NAMES as readonly string[]).includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  // proxy-addr refuses a /0 prefix (trusting everyone is `true`).
  if (rest.length > 0 || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) === 0))) return false;
  const dottedQuad = /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(address);
  if (!dottedQuad && !address.includes(':')) return false;
  return parseCidr(entry) !== undefined;
}

/**
 * Read api.fetch.ca_file: every PEM certificate in it must parse, so a wrong file stops the start with its path
 * instead of failing each https image fetch later.
 */
export function readFetchCa(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new RaypackError('config_invalid', `api.fetch.ca_file: cannot read ${path}: ${reason}`, { path }, { cause: error });
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new RaypackError('config_invalid', `api.fetch.ca_file: ${path} contains no PEM certificate`, { path });
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RaypackError('config_invalid', `api.fetch.ca_file: certificate ${index + 1} in ${path} cannot be parsed: ${reason}`, { path }, { cause: error });
    }
  });
  return text;
}
