/**
 * The HTTP API as a fastify instance, built separately from listen() so tests use inject() and a real socket alike.
 * The daemon (src/commands/start.ts) maps its configuration to ApiDeps and adds its own plugins (cameras,
 * snapshots, health) through `plugins`; they can protect routes with `fastify.requireApiKey()`.
 */
import multipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { ApiKeyStore, apiKeysFromEnv, type ApiKeyEntry } from '../auth/api-keys.ts';
import { FailureLimiter, type FailureLimiterOptions } from '../auth/failure-limiter.ts';
import { AnalysisStage } from '../analysis/stage.ts';
import type { Detector, Task } from '../detect/types.ts';
import { RaypackError } from '../errors.ts';
import { DEFAULT_MAX_PIXELS, JPEG_MAX_SIDE } from '../image/decode.ts';
import { logger as makeLogger, type Logger } from '../log.ts';
import { UrlFetcher, type FetchPolicy, type Resolver } from '../net/fetch-url.ts';
import type { InferenceQueue } from '../pipeline/inference-queue.ts';
import { ApiGuard } from './auth.ts';
import type { RouteContext } from './context.ts';
import { DEFAULT_DRAIN, clientErrorHandler, installErrorHandling, sendError, shortLinger } from './errors.ts';
import { lingerClose, type LingerLimits } from './linger.ts';
import { Admission } from './admission.ts';
import { BodyPaceGuard } from './body-pace.ts';
import { registerOpenApi, registerOpenApiRoute } from './openapi.ts';
import { installRequestLog, requestLogger } from './request-log.ts';
import { registerDeepstackRoutes, type DeepstackOptions } from './routes/deepstack.ts';
import { registerFaceRoute } from './routes/face.ts';
import { registerRecogRoute } from './routes/recog.ts';
import { ERROR_RESPONSES } from './schemas.ts';
import { DEFAULT_VIDEO_OPTIONS, type VideoOptions } from './video.ts';
import { VERSION } from '../version.ts';

export interface ApiLimits {
  /** Largest uploaded image, enforced while it streams in (default 10 MB). */
  readonly maxUploadBytes?: number;
  /** Largest urlencoded/JSON body and largest text field (default 64 KB). */
  readonly maxFormBytes?: number;
  /** Largest image in pixels, checked from its header before decoding (default 40 MP). */
  readonly maxPixels?: number;
  /** Longest image side, width or height, checked from the header (default and at most 65500: a JPEG's limit). */
  readonly maxImageSide?: number;
  /** Decode timeout in seconds (default 10). */
  readonly decodeTimeoutSeconds?: number;
  /** Whole request, upload included (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** Time to receive the request headers (default 15 s). */
  readonly headersTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this (default 5 s). */
  readonly keepAliveTimeoutMs?: number;
  /** Idle socket timeout (default 30 s). */
  readonly connectionTimeoutMs?: number;
  /** API requests past their body and key at once (fetching, queued, analysed); more get 503 (default 16). */
  readonly maxInFlight?: number;
  /** API request bodies arriving at once; more get 503 before their upload is read (default 32). */
  readonly maxReceiving?: number;
  /** Per client address (IPv6: per /64), in each of the two stages above (default 8). */
  readonly maxPerClient?: number;
  /** A request body must arrive at this average rate over every bodyWindowMs, or it gets 408 (default 1024 B/s). */
  readonly minBodyBytesPerSecond?: number;
  /** The window of that rate (default 10 s). */
  readonly bodyWindowMs?: number;
  /**
   * After an answer given before the body was read (401, 413, 503...), this much more of the body is read and
   * discarded so that clients which send everything before reading still get the answer (default the larger of
   * 64 MiB and twice the upload limit).
   */
  readonly drainBytes?: number;
  /** How long a connection closed after such an answer keeps reading and discarding (default 10 s). */
  readonly lingerMs?: number;
}

export interface ApiDeps {
  /** The detector for a task; the daemon caches them (loading a model takes a while). */
  readonly detectors: (task: Task) => Promise<Detector>;
  /** The analysis stage the routes call (the daemon's, shared with the cameras); default: one over `detectors`. */
  readonly stage?: AnalysisStage;
  /** Shared with the cameras: the API answers 503 when it is full. */
  readonly queue: InferenceQueue;
  /** Keys from the configuration (SHA-256 hex digests). */
  readonly apiKeys?: readonly ApiKeyEntry[];
  /** Where RAYPACK_API_KEYS / RAYPACK_ADMIN_API_KEYS are read (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly limits?: ApiLimits;
  /** SSRF policy for image URLs. */
  readonly fetch?: FetchPolicy;
  /** DNS resolver for image URLs (tests point names at chosen addresses). */
  readonly resolver?: Resolver;
  /** Repeated key failures from one address → 429 (default 10 per minute). */
  readonly authFailures?: FailureLimiterOptions;
  /** Trust X-Forwarded-For from these proxies (fastify's trustProxy); default: trust nobody. */
  readonly trustProxy?: boolean | string | string[];
  /** The `license` field of Raypack_AI_Filecontainer (default "commercial", as RAYPACK sends). */
  readonly license?: string;
  /** Video uploads on /recog and /raypackfacev3 (default: accepted, DEFAULT_VIDEO_OPTIONS). */
  readonly video?: Partial<VideoOptions>;
  /** The DeepStack-compatible routes (default: served, every client needs a key). */
  readonly deepstack?: DeepstackOptions;
  /** Extra routes (the daemon's cameras, snapshots, health), registered after the API. */
  readonly plugins?: readonly FastifyPluginAsync[];
  readonly logger?: Logger;
}

const API_PATHS = ['/raypackfacev3', '/recog'] as const;

export function buildServer(deps: ApiDeps): FastifyInstance {
  const log = deps.logger ?? makeLogger('http');
  const limits = deps.limits ?? {};
  const maxFormBytes = limits.maxFormBytes ?? 64 * 1024;
  const maxUploadBytes = limits.maxUploadBytes ?? 10 * 1024 * 1024;
  // What is read and discarded after an early answer so that it reaches the client (errors.ts sendError).
  const drain: LingerLimits = {
    maxBytes: limits.drainBytes ?? Math.max(DEFAULT_DRAIN.maxBytes, 2 * maxUploadBytes),
    maxMs: limits.lingerMs ?? DEFAULT_DRAIN.maxMs,
  };
  const app = Fastify({
    loggerInstance: requestLogger(log),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxFormBytes,
    requestTimeout: limits.requestTimeoutMs ?? 60_000,
    connectionTimeout: limits.connectionTimeoutMs ?? 30_000,
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? 5_000,
    trustProxy: deps.trustProxy ?? false,
    return503OnClosing: true,
    // Node's own refusals (parse errors, header and request timeouts) come from clients that sent little or too slowly.
    clientErrorHandler: clientErrorHandler(shortLinger(drain)),
    http: {
      headersTimeout: limits.headersTimeoutMs ?? 15_000,
      // Node checks the headers/request timeouts on this interval (30 s by default): check often enough that a
      // slow-headers client is dropped close to headersTimeout.
      connectionsCheckingInterval: Math.min(5_000, limits.headersTimeoutMs ?? 15_000),
    },
  });

  const keys = new ApiKeyStore([...(deps.apiKeys ?? []), ...apiKeysFromEnv(deps.env ?? process.env)]);
  if (keys.size === 0) log.warn('no API keys configured: every API request will be refused with 401');
  const guard = new ApiGuard(keys, new FailureLimiter(deps.authFailures));
  const ctx: RouteContext = {
    guard,
    queue: deps.queue,
    stage: deps.stage ?? new AnalysisStage({ detectors: deps.detectors }),
    fetcher: new UrlFetcher({ maxBytes: maxUploadBytes, ...deps.fetch }, deps.resolver),
    form: { maxUploadBytes, maxFieldBytes: maxFormBytes },
    decode: {
      maxPixels: limits.maxPixels ?? DEFAULT_MAX_PIXELS,
      maxImageSide: limits.maxImageSide ?? JPEG_MAX_SIDE,
      timeoutSeconds: limits.decodeTimeoutSeconds ?? 10,
    },
    license: deps.license ?? 'commercial',
    video: { ...DEFAULT_VIDEO_OPTIONS, ...deps.video },
    log,
    admission: new Admission(
      { maxInFlight: limits.maxInFlight ?? 16, maxReceiving: limits.maxReceiving ?? 32, maxPerClient: limits.maxPerClient ?? 8 },
      deps.queue,
    ),
  };

  installErrorHandling(app, log, drain);
  guard.install(app);
  // Every request body must keep arriving (API uploads, and bodies drained after an early answer).
  const minBodyBytesPerSecond = limits.minBodyBytesPerSecond ?? 1024;
  const bodyWindowMs = limits.bodyWindowMs ?? 10_000;
  const pace = new BodyPaceGuard(
    { minBytesPerSecond: minBodyBytesPerSecond, windowMs: bodyWindowMs },
    (request, reply) => {
      const error = new RaypackError('request_timeout', `the request body arrived too slowly (under ${minBodyBytesPerSecond} bytes/s over ${bodyWindowMs / 1000} s)`);
      sendError(request, reply, error, drain);
    },
    (socket) => lingerClose(socket, drain),
  );
  app.addHook('onRequest', async (request, reply) => pace.watch(request, reply));
  app.addHook('onClose', async () => pace.close());
  // Only forms (and JSON, fastify's default) carry API parameters; a text/plain body is a 415, not a 400.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  installRequestLog(app);
  registerOpenApi(app, VERSION);

  app.register(multipart, { throwFileSizeLimit: true });
  app.register(async (api) => {
    registerFaceRoute(api, ctx);
    registerRecogRoute(api, ctx);
    for (const url of API_PATHS) {
      api.route({
        method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
        url,
        schema: { hide: true, response: ERROR_RESPONSES },
        handler: async (request, reply) => {
          reply.header('allow', 'POST');
          return sendError(request, reply, new RaypackError('method_not_allowed', `${url} accepts POST only`), drain);
        },
      });
    }
    if (deps.deepstack?.enabled !== false) api.register(async (ds) => registerDeepstackRoutes(ds, ctx, deps.deepstack), { prefix: '/v1/vision' });
    registerOpenApiRoute(api);
  });
  for (const plugin of deps.plugins ?? []) app.register(plugin);
  return app;
}
