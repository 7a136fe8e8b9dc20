/** `POST /raypackfacev3`: faces as RAYPACK JSON, or the picture with faces outlined or anonymised. */
import type { FastifyInstance } from 'fastify';
import { decodeImage } from '../../image/decode.ts';
import { renderFaces } from '../../image/anonymize.ts';
import { buildFaceResult, faceBoxes, type FaceBox } from '../../raypack/wire.ts';
import { detectorFor, admissionHook, type RouteContext } from '../context.ts';
import { readForm } from '../form.ts';
import { imageInput } from '../image-input.ts';
import { RENDER_BY_FACEMODE, parseFaceParams } from '../params.ts';
import { ERROR_RESPONSES, FACE_RESULT_SCHEMA } from '../schemas.ts';

export function registerFaceRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    '/raypackfacev3',
    {
      schema: {
        summary: 'Detect faces; answer JSON or a JPEG with faces outlined or anonymised',
        consumes: ['multipart/form-data', 'application/x-www-form-urlencoded'],
        response: {
          200: {
            content: {
              'application/json': { schema: FACE_RESULT_SCHEMA },
              'image/jpeg': { schema: { type: 'string', format: 'binary' } },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
      onRequest: [ctx.guard.onRequest, admissionHook(ctx)],
    },
    async (request, reply) => {
      const form = await readForm(request, ctx.form, (key) => {
        if (!request.apiKey) ctx.guard.accept(request, key);
      });
      ctx.guard.requireAuthenticated(request, form.fields.apikey);
      const params = parseFaceParams(form.fields);
      const input = await imageInput(form, params.imageUrl, ctx.fetcher, 'imagef');
      const wantsJson = params.mode === 'json' || params.facemode === 'jsonimage';
      const wantsImage = params.mode === 'image' || params.facemode === 'jsonimage';

      const started = performance.now();
      const { faces, jpeg } = await ctx.queue.run(async () => {
        const image = await decodeImage(input.bytes, ctx.decode);
        const detector = await detectorFor(ctx, 'face');
        const render = RENDER_BY_FACEMODE[params.facemode];
        // Privacy first: a strict `threshold` limits what is reported, never what is anonymised. Pixelated and
        // filled pictures also hide faces the detector is only moderately sure of (its own default threshold).
        const anonymising = wantsImage && (render === 'pixel' || render === 'fill');
        const floor = anonymising ? Math.min(params.threshold, detector.defaultThreshold) : params.threshold;
        const detections = (await detector.detect(image, { threshold: floor })).filter((d) => d.score >= floor);
        const all = faceBoxes(detections, image.width, image.height);
        const reported: FaceBox[] = all.filter((b) => b.score >= params.threshold);
        const drawn = anonymising ? all : reported;
        const rects = drawn.map((b) => ({ x: b.xpos, y: b.ypos, width: b.width, height: b.height }));
        const rendered = wantsImage ? await renderFaces(image, rects, render, { colour: params.colour }) : undefined;
        return { faces: reported, jpeg: rendered };
      });
      const seconds = (performance.now() - started) / 1000;

      reply.header('cache-control', 'no-store');
      if (wantsJson) {
        const result = buildFaceResult(faces, seconds);
        if (params.facemode === 'jsonimage' && jpeg) {
          return reply.type('application/json; charset=utf-8').send({ ...result, image: jpeg.toString('base64'), imagetype: 'image/jpeg' });
        }
        return reply.type('application/json; charset=utf-8').send(result);
      }
      return reply.type('image/jpeg').send(jpeg);
    },
  );
}
