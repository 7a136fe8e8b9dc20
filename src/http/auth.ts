/**
 * API key checks for the HTTP API. A key sent in a header (`apikey: ...` or `Authorization: Bearer ...`) is
 * checked in onRequest, before a byte of the upload is read; a key sent as the `apikey` form field is checked as
 * soon as that field arrives. Missing and wrong keys get the same 401 body, and a client address that keeps
 * failing gets 429 for a while. Keys are never logged.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { ApiKeyIdentity, ApiKeyStore } from '../auth/api-keys.ts';
import type { FailureLimiter } from '../auth/failure-limiter.ts';
import { RaypackError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The identity of the accepted key, once one was accepted. */
    apiKey?: ApiKeyIdentity;
  }
  interface FastifyInstance {
    /**
     * An onRequest hook for routes registered by plugins (cameras, snapshots): the key must come in a header,
     * `Authorization: Bearer`, or the `apikey` query parameter (for <img src> in browsers); `admin` demands an
     * admin key.
     */
    requireApiKey(options?: { admin?: boolean }): onRequestAsyncHookHandler;
  }
}

const UNAUTHORIZED_MESSAGE = 'a valid API key is required (form field apikey, header apikey, or Authorization: Bearer)';

export class ApiGuard {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly failures: FailureLimiter,
  ) {}

  /** The key from the `apikey` header or a Bearer token; undefined when neither is present. */
  static headerKey(request: FastifyRequest): string | undefined {
    const direct = request.headers.apikey;
    if (typeof direct === 'string' && direct !== '') return direct;
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (m) return m[1];
    }
    return undefined;
  }

  /** 429 for a client that failed too often recently. */
  assertNotBlocked(request: FastifyRequest): void {
    const retryAfterSeconds = this.failures.retryAfterSeconds(request.ip);
    if (retryAfterSeconds > 0) {
      throw new RaypackError('too_many_requests', 'too many failed API key attempts from this address; try again later', {
        retryAfterSeconds,
      });
    }
  }

  /** Accept `plaintext` for this request or throw 401 (and count the failure). */
  accept(request: FastifyRequest, plaintext: string | undefined, options: { admin?: boolean } = {}): ApiKeyIdentity {
    const identity = this.keys.verify(plaintext);
    if (!identity || (options.admin === true && !identity.admin)) {
      this.failures.recordFailure(request.ip);
      throw new RaypackError('unauthorized', UNAUTHORIZED_MESSAGE);
    }
    this.failures.recordSuccess(request.ip);
    request.apiKey = identity;
    return identity;
  }

  /** onRequest for the API routes: refuse blocked clients, check a header key before the body is read. */
  readonly onRequest: onRequestAsyncHookHandler = async (request) => {
    this.assertNotBlocked(request);
    const key = ApiGuard.headerKey(request);
    if (key !== undefined) this.accept(request, key);
  };

  /** After the form was read: the request must be authenticated by now, by header or by form field. */
  requireAuthenticated(request: FastifyRequest, formKey: string | undefined): ApiKeyIdentity {
    return request.apiKey ?? this.accept(request, formKey);
  }

  install(app: FastifyInstance): void {
    app.decorateRequest('apiKey', undefined);
    app.decorate('requireApiKey', (options: { admin?: boolean } = {}): onRequestAsyncHookHandler => async (request) => {
      this.assertNotBlocked(request);
      const query = request.query as Record<string, unknown> | undefined;
      const queryKey = typeof query?.apikey === 'string' ? query.apikey : undefined;
      this.accept(request, ApiGuard.headerKey(request) ?? queryKey, options);
    });
  }
}
