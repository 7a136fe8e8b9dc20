/**
 * Request logging through fastify's own logger (pino), written as our log lines (src/log.ts: one JSON object per
 * line with `ns`). Every request gets one line when its answer is done: 5xx at error with the error's code and
 * message, everything else at info. Keys never reach a line: the query string keeps its keys' names only, pino
 * redacts credential headers, and every string is scrubbed once more on its way out (URL userinfo, key=value pairs).
 */
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { pino, type DestinationStream } from 'pino';
import { isRaypackError } from '../errors.ts';
import { redactUrl, type Level, type Logger } from '../log.ts';
import { toRaypackError } from './errors.ts';

/** Parameter, field and header names whose values are credentials. */
const SECRET_NAMES = ['apikey', 'api_key', 'api-key', 'x-api-key', 'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'password', 'passwd', 'token', 'access_token', 'secret', 'key'];
const SECRET_NAME_SET = new Set(SECRET_NAMES);
const REDACTED = '[redacted]';

const PINO_LEVELS: Record<string, Level> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', error: 'error', fatal: 'error' };

/** `name=value` (query strings, form bodies, free text) and `Bearer xyz` with the value removed. */
const KEY_VALUE = new RegExp(`\\b(${SECRET_NAMES.map((n) => n.replace(/[-_]/g, '[-_]?')).join('|')})(["']?\\s*[=:]\\s*["']?)([^&\\s"',;}]+)`, 'gi');
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** One string with every credential we can recognise removed. */
export function scrubText(text: string): string {
  return redactUrl(text).replace(BEARER, `$1 ${REDACTED}`).replace(KEY_VALUE, `$1$2${REDACTED}`);
}

/** Deep copy of a log record with secret-named keys redacted and every string scrubbed. */
export function scrubFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubFields(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_NAME_SET.has(k.toLowerCase()) ? REDACTED : scrubFields(v, depth + 1);
  return out;
}

/** `path` and (when there is one) `query` of a request URL for the log, secrets removed as by loggableUrl. */
export function loggablePath(url: string): { path: string; query?: string } {
  const safe = loggableUrl(url);
  const q = safe.indexOf('?');
  return q < 0 ? { path: safe } : { path: safe.slice(0, q), query: safe.slice(q + 1) };
}

/** The request URL with the values of secret query parameters removed (names kept, so a log shows how a key came). */
export function loggableUrl(url: string): string {
  const cut = url.slice(0, 400);
  const q = cut.indexOf('?');
  if (q < 0) return scrubText(cut);
  const params = new URLSearchParams(cut.slice(q + 1));
  const kept = [...params.entries()].map(([k, v]) => `${encodeURIComponent(k)}=${SECRET_NAME_SET.has(k.toLowerCase()) ? REDACTED : encodeURIComponent(scrubText(v))}`);
  return `${scrubText(cut.slice(0, q))}?${kept.join('&')}`;
}

/** A pino logger whose lines come out as our own (namespace `log.namespace`, the same level filter and sink). */
export function requestLogger(log: Logger): FastifyBaseLogger {
  const destination: DestinationStream = {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        log.warn('unparsable http log line');
        return;
      }
      const { level, msg, ...fields } = record;
      const target = PINO_LEVELS[String(level)] ?? 'info';
      log[target](scrubText(String(msg ?? '')), scrubFields(fields) as Record<string, unknown>);
    },
  };
  return pino(
    {
      level: 'debug',
      base: null,
      timestamp: false,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.apikey', 'req.headers["x-api-key"]', 'req.headers.cookie', 'headers.authorization', 'headers.apikey', 'body.apikey', 'body.api_key'],
        censor: REDACTED,
      },
      // fastify's own request/response serializers are not used (disableRequestLogging): the line is written below.
      serializers: { err: (error: Error) => ({ type: error.name, message: scrubText(error.message) }) },
    },
    destination,
  );
}

const failures = new WeakMap<FastifyRequest, unknown>();

/** One line per answered request; install at the root, before the routes. */
export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onError', async (request, _reply, error: FastifyError) => {
    failures.set(request, error);
  });
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const fields: Record<string, unknown> = {
      method: request.method,
      route: request.routeOptions.url,
      ...loggablePath(request.url),
      status,
      ms: Math.round(reply.elapsedTime),
      client: request.ip,
    };
    const failure = failures.get(request);
    if (failure !== undefined) {
      const mapped = toRaypackError(failure);
      fields.code = mapped.code;
      // The client saw only a generic message for a 5xx; the log gets what really happened.
      const cause = isRaypackError(failure) ? (failure.cause ?? failure) : failure;
      fields.error = cause instanceof Error ? cause.message : String(cause);
    }
    if (status >= 500) request.log.error(fields, 'request');
    else request.log.info(fields, 'request');
  });
}
