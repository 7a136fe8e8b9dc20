/** `POST /recog`: objects (model 1) or food (model 2) as a Raypack_AI_Filecontainer with one tag per label. */
import type { FastifyInstance } from 'fastify';
import { buildFileContainer, recogTags } from '../../raypack/wire.ts';
import { admissionHook, readAuthenticatedForm, type RouteContext } from '../context.ts';
import { imageInput } from '../image-input.ts';
import { parseRecogParams } from '../params.ts';
import { ERROR_RESPONSES, FILECONTAINER_SCHEMA } from '../schemas.ts';
import { sniffVideo } from '../../video/sniff.ts';
import { recogVideo } from '../video.ts';

export function registerRecogRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    '/recog',
    {
      schema: {
        summary: 'Recognise objects or food; answer a Raypack_AI_Filecontainer',
        consumes: ['multipart/form-data', 'application/x-www-form-urlencoded'],
        response: { 200: FILECONTAINER_SCHEMA, ...ERROR_RESPONSES },
      },
      onRequest: [ctx.guard.onRequest, admissionHook(ctx)],
    },
    async (request, reply) => {
      const form = await readAuthenticatedForm(request, ctx);
      const params = parseRecogParams(form.fields);
      const input = await imageInput(form, params.imageUrl, ctx.fetcher, 'file');
      if (sniffVideo(input.bytes)) {
        const started = Date.now();
        const answer = await recogVideo(ctx, input.bytes, { task: params.model.task, threshold: params.threshold, lang: params.lang, fps: params.fps, timeline: params.timeline });
        const container = buildFileContainer({ model: params.model, originalfile: input.originalName, starttime: started, endtime: Date.now(), tags: answer.tags, license: ctx.license });
        const body = { ...container, results: { ...container.results, stats: { ...container.results.stats, video: answer.video }, ...(answer.timeline ? { timeline: answer.timeline } : {}) } };
        return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
      }

      const starttime = Date.now();
      // Only labels leave this route: the stage decodes just as many pixels as the detector uses.
      const task = params.model.task;
      const analysis = await ctx.queue.run(() => ctx.stage.analyse({ bytes: input.bytes, limits: ctx.decode }, { report: { [task]: { threshold: params.threshold } } }));
      const detections = analysis[task] ?? [];
      const endtime = Date.now();
      const container = buildFileContainer({
        model: params.model,
        originalfile: input.originalName,
        starttime,
        endtime,
        tags: recogTags(detections, params.threshold, params.lang),
        license: ctx.license,
      });
      return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(container);
    },
  );
}
