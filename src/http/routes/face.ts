/** `POST /raypackfacev3`: faces as RAYPACK JSON, or the picture with faces outlined or anonymised. */
import type { FastifyInstance } from 'fastify';
import { renderFaces } from '../../image/anonymize.ts';
import { buildFaceResult, faceBoxes, type FaceBox } from '../../raypack/wire.ts';
import { admissionHook, readAuthenticatedForm, type RouteContext } from '../context.ts';
import { imageInput } from '../image-input.ts';
import { RENDER_BY_FACEMODE, parseFaceParams, type FaceParams } from '../params.ts';
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
      const form = await readAuthenticatedForm(request, ctx);
      const params = parseFaceParams(form.fields);
      const input = await imageInput(form, params.imageUrl, ctx.fetcher, 'imagef');
      const started = performance.now();
      const { faces, jpeg } = await ctx.queue.run(() => answerFaces(ctx, input.bytes, params));
      const seconds = (performance.now() - started) / 1000;

      reply.header('cache-control', 'no-store');
      if (params.mode === 'json' || params.facemode === 'jsonimage') {
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

/**
 * The faces to report (at `threshold`, precision-first) and, when a picture is asked for, the picture: `pixel`,
 * `fill` and `body` hide the stage's privacy regions (recall-first: a strict `threshold` never un-hides a face),
 * `default` and `black` draw the reported boxes. JSON answers decode only what the detector needs.
 */
async function answerFaces(ctx: RouteContext, bytes: Uint8Array, params: FaceParams): Promise<{ faces: FaceBox[]; jpeg?: Buffer }> {
  const wantsImage = params.mode === 'image' || params.facemode === 'jsonimage';
  const render = RENDER_BY_FACEMODE[params.facemode];
  const hides = wantsImage && (render === 'pixel' || render === 'fill');
  const analysis = await ctx.stage.analyse(
    { bytes, limits: ctx.decode },
    { report: { face: { threshold: params.threshold } }, privacy: hides ? (params.facemode === 'body' ? 'body' : 'faces') : false, keepPixels: wantsImage },
  );
  const faces = faceBoxes(analysis.faces ?? [], analysis.width, analysis.height);
  if (!wantsImage || !analysis.image) return { faces };
  const drawn = hides ? (analysis.privacy ?? []) : faces.map((b) => ({ x: b.xpos, y: b.ypos, width: b.width, height: b.height }));
  return { faces, jpeg: await renderFaces(analysis.image, drawn, render, { colour: params.colour }) };
}
