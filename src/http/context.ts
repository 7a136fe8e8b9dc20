/** What the API routes share: built once by buildServer, read by every route. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Detector, Task } from '../detect/types.ts';
import { RaypackError } from '../errors.ts';
import type { DecodeLimits } from '../image/decode.ts';
import type { Logger } from '../log.ts';
import type { UrlFetcher } from '../net/fetch-url.ts';
import type { InferenceQueue } from '../pipeline/inference-queue.ts';
import type { ApiGuard } from './auth.ts';
import type { FormLimits } from './form.ts';

export interface RouteContext {
  readonly guard: ApiGuard;
  readonly queue: InferenceQueue;
  readonly detectors: (task: Task) => Promise<Detector>;
  readonly fetcher: UrlFetcher;
  readonly form: FormLimits;
  readonly decode: DecodeLimits;
  readonly license: string;
  readonly log: Logger;
}

/** The detector for `task`; a detector that cannot be loaded is a 503, not a 500 with internals. */
export async function detectorFor(ctx: RouteContext, task: Task): Promise<Detector> {
  try {
    return await ctx.detectors(task);
  } catch (error) {
    if (error instanceof RaypackError) throw error;
    ctx.log.error('detector unavailable', { task, reason: error instanceof Error ? error.message : String(error) });
    throw new RaypackError('model_unavailable', `the ${task} model is not available`, { retryAfterSeconds: 30 }, { cause: error });
  }
}

/** onRequest: answer 503 at once, before the upload is read, when the inference queue has no room. */
export function queueRoomHook(ctx: RouteContext) {
  return async (_request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!ctx.queue.hasRoom()) {
      throw new RaypackError('busy', 'the inference queue is full, try again shortly', { retryAfterSeconds: 1 });
    }
  };
}
