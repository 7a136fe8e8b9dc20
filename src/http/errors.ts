/**
 * Every error leaves the API as `{"error":{"code","message"}}` with the status of its code (src/errors.ts).
 * Fastify's and @fastify/multipart's own errors are translated here; a 5xx is logged with its details and the
 * client only learns that something went wrong on our side.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RaypackError, isRaypackError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { lingerAfterAnswer, lingerClose, type LingerLimits } from './linger.ts';

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

export function errorBody(error: RaypackError): ErrorBody {
  return { error: { code: error.code, message: error.message } };
}

const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'bad_parameter',
  401: 'unauthorized',
  404: 'not_found',
  408: 'request_timeout',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'undecodable_image',
  429: 'too_many_requests',
  431: 'headers_too_large',
  503: 'busy',
};

/** Messages for framework errors whose own text is too terse for a client. */
const MESSAGE_BY_FASTIFY_CODE: Readonly<Record<string, string>> = {
  FST_REQ_FILE_TOO_LARGE: 'the uploaded file is larger than the upload limit',
  FST_FILES_LIMIT: 'send one image file per request',
  FST_FIELDS_LIMIT: 'too many form fields',
  FST_PARTS_LIMIT: 'too many form parts',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is larger than the limit',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'send multipart/form-data or application/x-www-form-urlencoded',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'the request is not valid multipart/form-data',
  FST_PROTO_VIOLATION: 'a form field has a forbidden name',
  FST_MP_PREMATURE_CLOSE: 'the request ended before the multipart body was complete',
};

/** Any thrown value as a RaypackError with a client-safe message. */
export function toRaypackError(error: unknown): RaypackError {
  if (isRaypackError(error)) return error;
  const fastifyError = error as Partial<FastifyError> | undefined;
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'bad_parameter';
    const message = MESSAGE_BY_FASTIFY_CODE[fastifyError?.code ?? ''] ?? fastifyError?.message ?? 'bad request';
    return new RaypackError(code, message, undefined, { cause: error });
  }
  // Busboy reports a malformed body with plain Errors ("Unexpected end of form", "Malformed part header"...).
  const message = error instanceof Error ? error.message : '';
  if (/multipart|unexpected end of form|malformed|part terminated|boundary/i.test(message)) {
    return new RaypackError('bad_parameter', 'the multipart/form-data body is malformed', undefined, { cause: error });
  }
  return new RaypackError('internal', 'internal error', undefined, { cause: error });
}

/** After an early answer, this much of the rest of a body is read and thrown away, for at most this long; see sendError. */
export const DEFAULT_DRAIN: LingerLimits = { maxBytes: 64 * 1024 * 1024, maxMs: 10_000 };

/** The linger after an answer to a client that was too slow anyway (408s): at most 2 s. */
export function shortLinger(drain: LingerLimits): LingerLimits {
  return { maxBytes: drain.maxBytes, maxMs: Math.min(drain.maxMs, 2_000) };
}

/**
 * Send `error` in the RAYPACK error shape, with Retry-After where it helps.
 *
 * An error may come before the client finished sending its body (a 413 mid-upload, a 401 on a header key, a 503
 * before the upload). Many clients (fetch/undici, Python requests) read the answer only once they have sent
 * everything, and a socket closed with their bytes unread turns into a RST that destroys the answer. So the rest of
 * the body is always read and discarded (bytes, not memory): a body of declared size up to `drain.maxBytes` to its
 * end, keeping the connection; anything larger or of unknown size gets `Connection: close`, our side is ended right
 * after the answer and what still comes is read and discarded until the client closes, `drain.maxBytes` more
 * arrived or `drain.maxMs` passed (linger.ts).
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: RaypackError, drain: LingerLimits = DEFAULT_DRAIN): FastifyReply {
  // Every 503 says when to come back; a model that failed to load is not retried by clients every second.
  const retryAfter = error.details?.retryAfterSeconds ?? (error.status === 503 ? 30 : undefined);
  if (typeof retryAfter === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
  const raw = request.raw;
  if (!raw.complete && !raw.destroyed) {
    const declared = Number(raw.headers['content-length']);
    const sized = raw.headers['transfer-encoding'] === undefined && Number.isFinite(declared);
    raw.unpipe();
    raw.resume();
    // A body too slow to wait for (408) is not drained either: the connection is closed after the answer, with a
    // short linger (such a client has next to nothing unsent).
    const tooSlow = error.code === 'request_timeout';
    if (!(sized && declared <= drain.maxBytes) || tooSlow) {
      reply.header('connection', 'close');
      lingerAfterAnswer(raw.socket, tooSlow ? shortLinger(drain) : drain);
    }
  }
  return reply.code(error.status).type('application/json; charset=utf-8').send(errorBody(error));
}

export function installErrorHandling(app: FastifyInstance, log: Logger, drain: LingerLimits = DEFAULT_DRAIN): void {
  app.setErrorHandler((error, request, reply) => {
    const mapped = toRaypackError(error);
    if (mapped.status >= 500 && mapped.code !== 'busy') {
      const cause = mapped.cause ?? error;
      log.error('request failed', {
        method: request.method,
        path: request.routeOptions.url ?? 'unknown',
        code: mapped.code,
        reason: cause instanceof Error ? cause.message : String(cause),
        stack: cause instanceof Error ? cause.stack : undefined,
      });
    }
    return sendError(request, reply, mapped, drain);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new RaypackError('not_found', `no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}`), drain),
  );
}

interface HttpSocket extends Socket {
  /** The response Node has attached to this socket, if any (node:_http_server). */
  _httpMessage?: { headersSent?: boolean } | null;
}

const REASONS: Readonly<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * fastify's clientErrorHandler: Node's own refusals (a malformed request line, header or chunk; headers too large;
 * the headers or request timeout) answered in the API's error shape, then a lingering close (see linger.ts).
 * Fastify's default writes another shape and destroys the socket at once, which can turn its answer into a RST.
 */
export function clientErrorHandler(limits: LingerLimits): (error: Error & { code?: string }, socket: Socket) => void {
  const handled = new WeakSet<Socket>();
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed || handled.has(socket)) return;
    handled.add(socket);
    // An answer already under way on this socket (a request timing out while its early answer drains): no second one.
    const answered = (socket as HttpSocket)._httpMessage?.headersSent === true;
    if (socket.writable && !answered) {
      const refusal =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new RaypackError('request_timeout', 'the request did not arrive in time')
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? new RaypackError('headers_too_large', 'the request headers are too large')
            : new RaypackError('bad_parameter', 'the request is not valid HTTP/1.1');
      const body = JSON.stringify(errorBody(refusal));
      socket.write(
        `HTTP/1.1 ${refusal.status} ${REASONS[refusal.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    lingerClose(socket, limits);
  };
}
