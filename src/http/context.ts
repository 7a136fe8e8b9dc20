/** What the API routes share: built once by buildServer, read by every route. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AnalysisStage } from '../analysis/stage.ts';
import { RaypackError } from '../errors.ts';
import type { DecodeLimits } from '../image/decode.ts';
import type { Logger } from '../log.ts';
import type { UrlFetcher } from '../net/fetch-url.ts';
import type { InferenceQueue } from '../pipeline/inference-queue.ts';
import type { ApiGuard } from './auth.ts';
import { readForm, type Form, type FormLimits } from './form.ts';

export interface RouteContext {
  readonly guard: ApiGuard;
  readonly queue: InferenceQueue;
  readonly stage: AnalysisStage;
  readonly fetcher: UrlFetcher;
  readonly form: FormLimits;
  readonly decode: DecodeLimits;
  readonly license: string;
  readonly log: Logger;
  /** API requests admitted at once (reading, fetching, queued or running); more get 503. Bounds upload memory. */
  readonly maxInFlight: number;
  readonly inFlight: { count: number };
}

/**
 * The request's form, read only by an authenticated client: a key in the form is checked as soon as its field
 * arrives (before the upload that follows it is read) unless a header key was already accepted in onRequest, and
 * a request that carried no key at all is refused before anything else is done with the form.
 */
export async function readAuthenticatedForm(request: FastifyRequest, ctx: RouteContext): Promise<Form> {
  const form = await readForm(request, ctx.form, (key) => {
    if (!request.apiKey) ctx.guard.accept(request, key);
  });
  ctx.guard.requireAuthenticated(request, form.fields.apikey);
  return form;
}

/**
 * onRequest: answer 503 at once, before the upload is read, when the inference queue has no room or too many API
 * requests are already in flight (each may hold an upload of up to the limit in memory).
 */
export function admissionHook(ctx: RouteContext) {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!ctx.queue.hasRoom()) {
      throw new RaypackError('busy', 'the inference queue is full, try again shortly', { retryAfterSeconds: 1 });
    }
    if (ctx.inFlight.count >= ctx.maxInFlight) {
      throw new RaypackError('busy', 'too many requests in progress, try again shortly', { retryAfterSeconds: 1 });
    }
    ctx.inFlight.count += 1;
    // 'close' fires once whether the answer was sent or the client went away.
    reply.raw.once('close', () => {
      ctx.inFlight.count -= 1;
    });
  };
}
