/**
 * API key checks for the HTTP API. A key sent in a header (`apikey: ...` or `Authorization: Bearer ...`) is
 * checked in onRequest, before a byte of the upload is read; a key sent as the `apikey` form field is checked as
 * soon as that field arrives. Missing and wrong keys get the same 401 body; a client address that keeps failing
 * gets 429 for keys it has not used successfully before, and for every key once it tries many different ones
 * (src/auth/failure-limiter.ts). Keys are never logged.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiKeyStore, type ApiKeyIdentity } from '../auth/api-keys.ts';
import { MISSING_KEY, type FailureLimiter } from '../auth/failure-limiter.ts';
import { RaypackError } from '../errors.ts';
import { clientKey } from './client-address.ts';

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

function tooManyFailures(retryAfterSeconds: number): RaypackError {
  return new RaypackError('too_many_requests', 'too many failed API key attempts from this address; try again later', { retryAfterSeconds });
}

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

  /** 429 before the body is read for an address on a hard block (no key from it is checked). */
  assertNotBlocked(request: FastifyRequest): void {
    const retryAfterSeconds = this.failures.hardRetryAfterSeconds(clientKey(request.ip));
    if (retryAfterSeconds > 0) throw tooManyFailures(retryAfterSeconds);
  }

  /** Accept `plaintext` for this request, or throw 429 (the limiter refuses to check it) or 401 (counted). */
  accept(request: FastifyRequest, plaintext: string | undefined, options: { admin?: boolean } = {}): ApiKeyIdentity {
    const client = clientKey(request.ip);
    const digest = ApiKeyStore.digest(plaintext);
    const keyId = digest ? digest.toString('hex', 0, 8) : MISSING_KEY;
    const verdict = this.failures.verdict(client, keyId);
    if (!verdict.check) {
      this.failures.recordRefusal(client, keyId);
      throw tooManyFailures(verdict.retryAfterSeconds);
    }
    const identity = this.keys.verifyDigest(digest);
    if (!identity || (options.admin === true && !identity.admin)) {
      this.failures.recordFailure(client, keyId);
      throw new RaypackError('unauthorized', UNAUTHORIZED_MESSAGE);
    }
    this.failures.recordSuccess(client, keyId);
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
