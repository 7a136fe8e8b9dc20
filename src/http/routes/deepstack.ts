/**
 * DeepStack / CodeProject.AI-compatible detection, so their clients use the device as a drop-in (registered under
 * `/v1/vision`): `POST /face`, `POST /detection`, `POST /custom/<model>`, `GET|POST /custom/list`. Form fields
 * `image` (the upload), `min_confidence` (0.4), `api_key` (or our `apikey` field/header/Bearer). Boxes are in the
 * posted image's pixels, predictions best first (Frigate's deepstack detector stops at the first one under its
 * threshold). Errors are `{success:false, error, code}` with the status of the RAYPACK error they come from.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Detection, Task } from '../../detect/types.ts';
import { RaypackError } from '../../errors.ts';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../net/ip.ts';
import { reportedFor } from '../../analysis/types.ts';
import { admissionHook, type RouteContext } from '../context.ts';
import { sendError } from '../errors.ts';
import { readForm, type FormFields } from '../form.ts';
import { errorResponses } from '../openapi.ts';

/** `/v1/vision/custom/<model>`: our tasks under the names clients configure. */
export const CUSTOM_MODELS: Readonly<Record<string, Task>> = { objects: 'objects', food: 'food', face: 'face' };

export const DEFAULT_MIN_CONFIDENCE = 0.4;

export interface DeepstackOptions {
  readonly enabled?: boolean;
  /** Addresses/CIDRs that may call without a key (clients that cannot send one); a key that is sent is still checked. */
  readonly keylessClients?: readonly string[];
}

/** Whether `ip` is one of the keyless clients. */
export function keylessMatcher(entries: readonly string[] = []): (ip: string) => boolean {
  const cidrs: Cidr[] = entries.map((entry) => {
    const cidr = parseCidr(entry.includes('/') ? entry : `${entry}/${entry.includes(':') ? 128 : 32}`);
    if (!cidr) throw new RaypackError('config_invalid', `deepstack.keyless_clients: '${entry}' is neither an address nor a CIDR`);
    return cidr;
  });
  return (ip) => {
    const address = parseIp(ip.replace(/^::ffff:(?=\d+\.)/, ''));
    return address !== undefined && cidrs.some((c) => cidrContains(c, address));
  };
}
const FIELDS: FormFields = { files: new Set(['image']), keys: new Set(['api_key', 'apikey']) };
const MODULE = { moduleId: 'raypack-edge', moduleName: 'RAYPACK Edge', executionProvider: 'CPU', canUseGPU: false } as const;

export interface Prediction {
  readonly label: string;
  readonly confidence: number;
  readonly x_min: number;
  readonly y_min: number;
  readonly x_max: number;
  readonly y_max: number;
}

export interface ImageDetections {
  readonly detections: Detection[];
  readonly width: number;
  readonly height: number;
  readonly inferenceMs: number;
}

/**
 * Image bytes -> detections in the image's own pixels, through the shared inference queue. The ONE place this
 * module turns pixels into boxes (the analysis stage takes its place later).
 */
async function detectInImage(ctx: RouteContext, bytes: Uint8Array, task: Task, threshold: number): Promise<ImageDetections> {
  const analysis = await ctx.queue.run(() => ctx.stage.analyse({ bytes, limits: ctx.decode }, { report: { [task]: { threshold } } }));
  const inferenceMs = (analysis.timings.face ?? 0) + (analysis.timings.objects ?? 0);
  return { detections: reportedFor(analysis, task), width: analysis.width, height: analysis.height, inferenceMs };
}

/** DeepStack predictions: integer pixel corners clipped to the image, best first, none under `minConfidence`. */
export function toPredictions(detections: readonly Detection[], width: number, height: number, minConfidence: number): Prediction[] {
  const clip = (v: number, max: number): number => Math.min(max, Math.max(0, Math.round(v)));
  return detections
    .filter((d) => d.score >= minConfidence)
    .sort((a, b) => b.score - a.score)
    .map((d) => ({
      label: d.label,
      confidence: d.score,
      x_min: clip(d.box[0], width),
      y_min: clip(d.box[1], height),
      x_max: clip(d.box[0] + d.box[2], width),
      y_max: clip(d.box[1] + d.box[3], height),
    }))
    .filter((p) => p.x_max > p.x_min && p.y_max > p.y_min);
}

export function parseMinConfidence(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_MIN_CONFIDENCE;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new RaypackError('bad_parameter', `min_confidence must be a number from 0 to 1, got '${raw.slice(0, 20)}'`, { parameter: 'min_confidence' });
  }
  return value;
}

/** RAYPACK error bodies leave this prefix in DeepStack's shape (CodeProject.AI adds `code`). */
function deepstackErrorBody(status: number, payload: string): string {
  try {
    const body = JSON.parse(payload) as { error?: { code?: string; message?: string } };
    if (typeof body.error?.message !== 'string') return payload;
    return JSON.stringify({ success: false, error: body.error.message, code: status, errorCode: body.error.code, ...MODULE });
  } catch {
    return payload;
  }
}

const PREDICTION_SCHEMA = {
  type: 'object',
  required: ['confidence', 'x_min', 'y_min', 'x_max', 'y_max'],
  properties: {
    label: { type: 'string', description: '`face`, or the English COCO name (person, car, dog...).' },
    confidence: { type: 'number' },
    x_min: { type: 'integer' },
    y_min: { type: 'integer' },
    x_max: { type: 'integer' },
    y_max: { type: 'integer' },
  },
} as const;

const RESULT_SCHEMA = {
  type: 'object',
  required: ['success', 'predictions', 'count'],
  properties: {
    success: { type: 'boolean' },
    predictions: { type: 'array', items: PREDICTION_SCHEMA },
    count: { type: 'integer' },
    message: { type: 'string' },
    inferenceMs: { type: 'integer', description: 'Detector time (ms).' },
    processMs: { type: 'integer', description: 'Decode + detection (ms).' },
    analysisRoundTripMs: { type: 'integer', description: 'Time in the inference queue and processing (ms).' },
    command: { type: 'string' },
    code: { type: 'integer' },
    moduleId: { type: 'string' },
    moduleName: { type: 'string' },
    executionProvider: { type: 'string' },
    canUseGPU: { type: 'boolean' },
    timestampUTC: { type: 'string' },
  },
} as const;

const DS_ERROR_SCHEMA = {
  type: 'object',
  required: ['success', 'error'],
  properties: { success: { type: 'boolean', enum: [false] }, error: { type: 'string' }, code: { type: 'integer' }, errorCode: { type: 'string' } },
} as const;

const FORM_BODY = {
  type: 'object',
  required: ['image'],
  properties: {
    image: { type: 'string', format: 'binary', description: 'The image (JPEG, PNG or WebP).' },
    min_confidence: { type: 'number', minimum: 0, maximum: 1, default: DEFAULT_MIN_CONFIDENCE, description: 'Predictions below this are left out.' },
    api_key: { type: 'string', description: 'API key (also the apikey field, an apikey header or Authorization: Bearer).' },
  },
} as const;

const ERRORS = errorResponses([400, 401, 404, 413, 415, 422, 429, 500, 503], { 'application/json': { schema: DS_ERROR_SCHEMA } });

function routeSchema(summary: string): FastifySchema {
  return {
    summary,
    tags: ['deepstack'],
    consumes: ['multipart/form-data'],
    security: [{}, { apikeyHeader: [] }, { bearer: [] }],
    response: { 200: { description: 'Predictions in the image pixels, best first.', content: { 'application/json': { schema: RESULT_SCHEMA } } } },
  };
}

export function registerDeepstackRoutes(app: FastifyInstance, ctx: RouteContext, options: DeepstackOptions = {}): void {
  const isKeyless = keylessMatcher(options.keylessClients);
  /** A key sent is checked where it arrives (header in onRequest, field as it is read); none at all passes only for keyless clients. */
  const authenticate = (request: FastifyRequest, key: string | undefined): void => {
    if ((key === undefined || key === '') && !request.apiKey && isKeyless(request.ip)) return;
    ctx.guard.requireAuthenticated(request, key);
  };
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
    return deepstackErrorBody(reply.statusCode, payload);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new RaypackError('not_found', `no route ${request.method} ${request.url.split('?')[0].slice(0, 200)} (served: face, detection, custom/<model>, custom/list)`)),
  );

  const detect = (task: Task | ((request: FastifyRequest) => Task), command: string) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const started = performance.now();
      const taskOf = typeof task === 'function' ? task(request) : task;
      // An empty key field (Frigate's default api_key "") counts as no key.
      const form = await readForm(request, ctx.form, (key) => {
        if (key !== '' && !request.apiKey) ctx.guard.accept(request, key);
      }, FIELDS);
      authenticate(request, form.fields.api_key ?? form.fields.apikey);
      ctx.admission.admit(request);
      const minConfidence = parseMinConfidence(form.fields.min_confidence);
      if (!form.file) throw new RaypackError('bad_parameter', 'image is required: upload the picture as the form field image', { parameter: 'image' });
      const queued = performance.now();
      const result = await detectInImage(ctx, form.file.bytes, taskOf, minConfidence);
      const predictions = toPredictions(result.detections, result.width, result.height, minConfidence);
      const labels = [...new Set(predictions.map((p) => p.label))];
      const done = performance.now();
      return reply.header('cache-control', 'no-store').send({
        success: true,
        message: predictions.length === 0 ? 'No objects found' : `Found ${labels.join(', ')}`,
        count: predictions.length,
        predictions,
        inferenceMs: Math.round(result.inferenceMs),
        processMs: Math.round(done - queued),
        analysisRoundTripMs: Math.round(done - started),
        command,
        code: 200,
        ...MODULE,
        timestampUTC: new Date().toUTCString(),
      });
    };

  const onRequest = [ctx.guard.onRequest, admissionHook(ctx)];
  // The form is read by readForm (multipart): its schema is documentation only (config.openapiBody), not validation.
  // Error answers are reshaped in onSend (after serialisation), so they are documented only (config.openapiResponses).
  const config = { openapiBody: FORM_BODY, openapiResponses: ERRORS };
  app.post('/face', { onRequest, config, schema: routeSchema('DeepStack face detection') }, detect('face', 'detect'));
  app.post('/detection', { onRequest, config, schema: routeSchema('DeepStack object detection (80 COCO classes)') }, detect('objects', 'detect'));
  app.route({
    method: ['GET', 'POST'],
    url: '/custom/list',
    onRequest: [ctx.guard.onRequest],
    schema: {
      summary: 'The custom models served (CodeProject.AI list-custom)',
      tags: ['deepstack'],
      response: {
        200: {
          description: 'Model names for /v1/vision/custom/<model>.',
          content: { 'application/json': { schema: { type: 'object', properties: { success: { type: 'boolean' }, models: { type: 'array', items: { type: 'string' } } } } } },
        },
      },
    },
    config: { openapiResponses: ERRORS },
    handler: async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const key = [query.api_key, query.apikey, body.api_key, body.apikey].find((k): k is string => typeof k === 'string');
      authenticate(request, key);
      return reply.send({ success: true, models: Object.keys(CUSTOM_MODELS), command: 'list-custom', code: 200, ...MODULE, timestampUTC: new Date().toUTCString() });
    },
  });
  app.post(
    '/custom/:model',
    {
      onRequest: [
        ...onRequest,
        async (request: FastifyRequest) => {
          const { model } = request.params as { model: string };
          if (!(model in CUSTOM_MODELS)) throw new RaypackError('not_found', `no custom model '${model.slice(0, 40)}' (served: ${Object.keys(CUSTOM_MODELS).join(', ')})`);
        },
      ],
      config,
      schema: {
        ...routeSchema('DeepStack custom model: objects (COCO), food (COCO food classes) or face'),
        params: { type: 'object', required: ['model'], properties: { model: { type: 'string', enum: Object.keys(CUSTOM_MODELS) } } },
      },
    },
    detect((request) => CUSTOM_MODELS[(request.params as { model: string }).model], 'custom'),
  );
}
