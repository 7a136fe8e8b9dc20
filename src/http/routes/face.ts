/** `POST /raypackfacev3`: faces as RAYPACK JSON, or the picture with faces outlined or anonymised. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RaypackError } from '../../errors.ts';
import { sniffVideo } from '../../video/sniff.ts';
import { anonymizedVideo, facesOfVideo } from '../video.ts';
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
              'video/mp4': { schema: { type: 'string', format: 'binary', description: 'A video upload with mode=image: the anonymized video (H.264, audio copied).' } },
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
      if (sniffVideo(input.bytes)) return answerVideo(ctx, input.bytes, params, reply);
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

/**
 * A video: `mode=json` the faces of each sampled frame with track ids; a picture mode the anonymized video. Only
 * anonymized videos leave: `default` (outlines on the original picture, for images) pixelates a video, and the
 * modes that cannot be a video (`jsonimage`, `black`) are refused.
 */
async function answerVideo(ctx: RouteContext, bytes: Uint8Array, params: FaceParams, reply: FastifyReply): Promise<FastifyReply> {
  if (params.facemode === 'jsonimage' || params.facemode === 'black') {
    throw new RaypackError('bad_parameter', `facemode=${params.facemode} is not available for videos: use mode=json, or mode=image with facemode pixel, fill or body`, { parameter: 'facemode' });
  }
  const started = performance.now();
  reply.header('cache-control', 'no-store');
  if (params.mode === 'json') {
    const answer = await facesOfVideo(ctx, bytes, { threshold: params.threshold, fps: params.fps });
    const time = (performance.now() - started) / 1000;
    return reply.type('application/json; charset=utf-8').send({ totalfaces: answer.totalfaces, time, faces: [], video: answer.video, frames: answer.frames });
  }
  const render = RENDER_BY_FACEMODE[params.facemode] === 'fill' ? 'fill' : 'pixel';
  const mp4 = await anonymizedVideo(ctx, bytes, { privacy: params.facemode === 'body' ? 'body' : 'faces', render, colour: params.colour });
  return reply.type('video/mp4').send(mp4);
}
