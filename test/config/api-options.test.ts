/**
 * The `api` section: defaults equal to the API's own, every value mapped to ApiDeps, problems reported with their
 * paths, and the CA file checked when it is read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FailureLimiter } from '../../src/auth/failure-limiter.ts';
import { apiOptions, readFetchCa } from '../../src/config/api-options.ts';
import { configReference } from '../../src/config/describe.ts';
import { loadConfig } from '../../src/config/load.ts';
import { isRaypackError, type RaypackError } from '../../src/errors.ts';
import { buildServer } from '../../src/http/server.ts';
import { DEFAULT_MAX_PIXELS, JPEG_MAX_SIDE } from '../../src/image/decode.ts';
import { setLogSink } from '../../src/log.ts';
import { UrlFetcher } from '../../src/net/fetch-url.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';

setLogSink(() => undefined);

const dir = mkdtempSync(join(tmpdir(), 'raypack-apiopts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(text: string): string[] {
  try {
    loadConfig({ text });
  } catch (error) {
    expect(isRaypackError(error)).toBe(true);
    return (error as RaypackError).details!.problems as string[];
  }
  throw new Error('expected the configuration to be rejected');
}

const noDetectors = async (): Promise<never> => {
  throw new Error('not used');
};

describe('api defaults', () => {
  const defaults = apiOptions(loadConfig({ text: '' }).config);

  it('equal the defaults of the HTTP API, the URL fetcher and the key-failure limiter', () => {
    expect(defaults.limits).toEqual({
      maxUploadBytes: 10 * 1024 * 1024,
      maxFormBytes: 64 * 1024,
      maxPixels: DEFAULT_MAX_PIXELS,
      maxImageSide: JPEG_MAX_SIDE,
      decodeTimeoutSeconds: 10,
      requestTimeoutMs: 60_000,
      headersTimeoutMs: 15_000,
      keepAliveTimeoutMs: 5_000,
      connectionTimeoutMs: 30_000,
      maxInFlight: 16,
      maxReceiving: 32,
      maxPerClient: 8,
      minBodyBytesPerSecond: 1024,
      bodyWindowMs: 10_000,
    });
    expect(defaults.trustProxy).toBe(false);
    expect(defaults.license).toBe('commercial');
    const fetcher = new UrlFetcher();
    expect(defaults.fetch).toEqual({ allow: [], maxBytes: fetcher.maxBytes, timeoutMs: fetcher.timeoutMs, maxRedirects: fetcher.maxRedirects });
    const limiter = new FailureLimiter();
    expect(defaults.authFailures).toEqual({ maxFailures: limiter.maxFailures, windowMs: limiter.windowMs, trustMs: limiter.trustMs });
    expect(new FailureLimiter(defaults.authFailures).maxDistinctKeys).toBe(limiter.maxDistinctKeys);
  });

  it('build the same HTTP server as buildServer without options (timeouts and body limit as Node/fastify see them)', async () => {
    const queue = new InferenceQueue();
    const plain = buildServer({ detectors: noDetectors, queue });
    const configured = buildServer({ detectors: noDetectors, queue, ...defaults });
    const view = (app: typeof plain) => ({
      bodyLimit: app.initialConfig.bodyLimit,
      connectionTimeout: app.initialConfig.connectionTimeout,
      keepAliveTimeout: app.initialConfig.keepAliveTimeout,
      requestTimeout: app.server.requestTimeout,
      headersTimeout: app.server.headersTimeout,
    });
    expect(view(configured)).toEqual(view(plain));
    expect(view(configured)).toMatchObject({ requestTimeout: 60_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 });
    await Promise.all([plain.close(), configured.close()]);
  });

  it('config/default.yaml spells out the api section and the reference documents every api key', () => {
    const file = parseYaml(readFileSync('config/default.yaml', 'utf8')) as { api: unknown; license: unknown };
    expect(file.api).toEqual(loadConfig({ text: '' }).config.api);
    expect(file.license).toBe('commercial');
    const reference = configReference();
    for (const key of ['api.max_upload_bytes', 'api.max_pixels', 'api.trust_proxy', 'api.fetch.allow', 'api.fetch.ca_file', 'api.max_in_flight', 'license']) {
      expect(reference).toContain(`| \`${key}\` |`);
    }
  });
});

describe('api values', () => {
  it('map to ApiDeps in its units (seconds to ms), fetch.max_bytes defaulting to the upload limit', () => {
    const { config } = loadConfig({
      text: [
        'license: edge-lab',
        'api:',
        '  max_upload_bytes: 200000',
        '  max_form_bytes: 4096',
        '  max_pixels: 1000000',
        '  decode_timeout_seconds: 3',
        '  request_timeout_seconds: 20.5',
        '  headers_timeout_seconds: 2.5',
        '  keep_alive_timeout_seconds: 1',
        '  connection_timeout_seconds: 9',
        '  max_image_side: 4000',
        '  max_in_flight: 2',
        '  max_receiving: 5',
        '  max_per_client: 3',
        '  min_body_bytes_per_second: 0',
        '  body_window_seconds: 2.5',
        '  trust_proxy: [" 10.0.0.0/8", loopback, "fd00::/8"]',
        '  auth_failures: { max_failures: 3, max_distinct_keys: 7, window_seconds: 0.5, trust_seconds: 3600 }',
        '  fetch: { allow: [192.168.1.0/24, nas.lan, "*.cams"], timeout_seconds: 4, max_redirects: 0 }',
      ].join('\n'),
    });
    const options = apiOptions(config, 'PEM');
    expect(options).toEqual({
      limits: {
        maxUploadBytes: 200_000,
        maxFormBytes: 4096,
        maxPixels: 1_000_000,
        maxImageSide: 4000,
        decodeTimeoutSeconds: 3,
        requestTimeoutMs: 20_500,
        headersTimeoutMs: 2_500,
        keepAliveTimeoutMs: 1_000,
        connectionTimeoutMs: 9_000,
        maxInFlight: 2,
        maxReceiving: 5,
        maxPerClient: 3,
        minBodyBytesPerSecond: 0,
        bodyWindowMs: 2_500,
      },
      fetch: { allow: ['192.168.1.0/24', 'nas.lan', '*.cams'], maxBytes: 200_000, timeoutMs: 4_000, maxRedirects: 0, ca: 'PEM' },
      video: { enabled: true, maxSeconds: 60, maxFrames: 3600, maxPixels: 2_088_960, maxProcessingMs: 120_000, sampleFps: 2, analysisFps: 10 },
      trustProxy: ['10.0.0.0/8', 'loopback', 'fd00::/8'],
      license: 'edge-lab',
      authFailures: { maxFailures: 3, maxDistinctKeys: 7, windowMs: 500, trustMs: 3_600_000 },
    });
    expect(apiOptions(loadConfig({ text: 'api: { max_upload_bytes: 200000, fetch: { max_bytes: 5000000 } }' }).config).fetch.maxBytes).toBe(5_000_000);
    expect(apiOptions(loadConfig({ text: 'api: { trust_proxy: true }' }).config).trustProxy).toBe(true);
  });

  it('trust_proxy entries are ones fastify accepts: a server builds with them', async () => {
    const { config } = loadConfig({ text: 'api: { trust_proxy: [127.0.0.1, "10.0.0.0/8", loopback, linklocal, uniquelocal, "::1", "fe80::/10"] }' });
    const app = buildServer({ detectors: noDetectors, queue: new InferenceQueue(), ...apiOptions(config) });
    await app.ready();
    await app.close();
  });
});

describe('api problems', () => {
  it('are reported together, each with its path', () => {
    const problems = problemsOf(
      [
        'license: ""',
        'api:',
        '  max_uploads: 1',
        '  max_upload_bytes: 10',
        '  decode_timeout_seconds: 1.5',
        '  request_timeout_seconds: 0',
        '  max_in_flight: 0',
        '  trust_proxy: yes please',
        '  fetch: { allow: 192.168.1.0/24, max_redirects: -1, proxy: http://p }',
      ].join('\n'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'api.max_uploads: unknown key',
        'api.max_upload_bytes: must be >= 1024',
        'api.decode_timeout_seconds: must be integer',
        'api.request_timeout_seconds: must be > 0',
        'api.max_in_flight: must be >= 1',
        'api.trust_proxy: must be boolean or array',
        'api.fetch.allow: must be array',
        'api.fetch.max_redirects: must be >= 0',
        'api.fetch.proxy: unknown key',
        'license: must NOT have fewer than 1 characters',
      ]),
    );
  });

  it('include what the schema cannot see: entries that do not parse, headers timeout above the request timeout', () => {
    const problems = problemsOf(
      [
        'api:',
        '  request_timeout_seconds: 10',
        '  headers_timeout_seconds: 30',
        '  trust_proxy: [127.0.0.1, "127.1", "0.0.0.0/0", "10.0.0.0/33", proxy.lan]',
        '  fetch: { allow: [192.168.1.0/24, "http://nas.lan", "  "] }',
      ].join('\n'),
    );
    expect(problems).toEqual([
      'api.headers_timeout_seconds: must not be larger than api.request_timeout_seconds',
      "api.fetch.allow[1]: 'http://nas.lan' is neither a CIDR, an address nor a host name (e.g. 192.168.1.0/24, nas.local, *.lan)",
      'api.fetch.allow[2]: empty entry',
      "api.trust_proxy[1]: '127.1' is not an address, a CIDR or one of loopback, linklocal, uniquelocal",
      "api.trust_proxy[2]: '0.0.0.0/0' is not an address, a CIDR or one of loopback, linklocal, uniquelocal",
      "api.trust_proxy[3]: '10.0.0.0/33' is not an address, a CIDR or one of loopback, linklocal, uniquelocal",
      "api.trust_proxy[4]: 'proxy.lan' is not an address, a CIDR or one of loopback, linklocal, uniquelocal",
    ]);
  });
});

describe('readFetchCa', () => {
  it('returns the PEM of a real CA certificate', () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=raypack ca test'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const pem = readFetchCa(join(dir, 'ca.pem'));
    expect(pem).toContain('-----BEGIN CERTIFICATE-----');
  });

  it('names the path when the file is missing, unreadable, not PEM or a broken certificate', () => {
    const missing = join(dir, 'missing.pem');
    expect(() => readFetchCa(missing)).toThrow(`api.fetch.ca_file: cannot read ${missing}: ENOENT`);
    expect(() => readFetchCa(dir)).toThrow(`api.fetch.ca_file: cannot read ${dir}: EISDIR`);
    const key = join(dir, 'only-a-key.pem');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    expect(() => readFetchCa(key)).toThrow(`api.fetch.ca_file: ${key} contains no PEM certificate`);
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    expect(() => readFetchCa(broken)).toThrow(`api.fetch.ca_file: certificate 1 in ${broken} cannot be parsed`);
    try {
      readFetchCa(missing);
    } catch (error) {
      expect((error as RaypackError).code).toBe('config_invalid');
    }
  });
});
