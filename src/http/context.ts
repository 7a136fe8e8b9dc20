/** What the API routes share: built once by buildServer, read by every route. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AnalysisStage } from '../analysis/stage.ts';
import type { DecodeLimits } from '../image/decode.ts';
import type { Logger } from '../log.ts';
import type { UrlFetcher } from '../net/fetch-url.ts';
import type { InferenceQueue } from '../pipeline/inference-queue.ts';
import type { Admission } from './admission.ts';
import type { VideoOptions } from './video.ts';
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
  readonly video: VideoOptions;
  readonly log: Logger;
  /** Receiving places and in-flight slots (admission.ts). */
  readonly admission: Admission;
}

/**
 * The request's form, read only by an authenticated client: a key in the form is checked as soon as its field
 * arrives (before the upload that follows it is read) unless a header key was already accepted in onRequest, and
 * a request that carried no key at all is refused before anything else is done with the form. Only then, with its
 * body in and its key accepted, does the request take an in-flight slot (503 when none is free).
 */
export async function readAuthenticatedForm(request: FastifyRequest, ctx: RouteContext): Promise<Form> {
  const form = await readForm(request, ctx.form, (key) => {
    if (!request.apiKey) ctx.guard.accept(request, key);
  });
  ctx.guard.requireAuthenticated(request, form.fields.apikey);
  ctx.admission.admit(request);
  return form;
}

/**
 * onRequest of the API routes: 503 at once, before the upload is read, when the inference queue has no room or no
 * receiving place is free (in all, or for this client address). The in-flight slot comes later (readAuthenticatedForm).
 */
export function admissionHook(ctx: RouteContext): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return ctx.admission.onRequest;
}
