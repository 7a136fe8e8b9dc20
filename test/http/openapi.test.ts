/**
 * /openapi.json is generated from the routes: every route the server registers (API, DeepStack, cameras, dashboard,
 * metrics) appears with its method, its parameters, the content types it answers and its error answers.
 */
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { camerasPlugin } from '../../src/http/cameras.ts';
import { dashboardPlugin } from '../../src/http/dashboard/plugin.ts';
import { metricsPlugin } from '../../src/http/metrics-plugin.ts';
import { Metrics } from '../../src/integrations/metrics.ts';
import { logger } from '../../src/log.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { VERSION } from '../../src/version.ts';
import { testServer } from './helpers.ts';

type Operation = {
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, { format?: string; oneOf?: unknown[] }> } }> };
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
};
type Doc = { openapi: string; info: { version: string }; paths: Record<string, Record<string, Operation>> };

const health = () => ({ status: 'ok' as const, device: 'd', uptimeSeconds: 1, cameras: {}, mqtt: { connected: true, buffered: 0, dropped: 0 }, queue: { running: 0, waiting: 0, rejected: 0 } });

describe('/openapi.json', () => {
  const queue = new InferenceQueue();
  const metrics = new Metrics({ cameras: () => new Map(), queue: () => queue, mqtt: () => undefined });
  const registered: Array<{ method: string; url: string; hide: boolean }> = [];
  let doc: Doc;
  let app: ReturnType<typeof testServer>;

  beforeAll(async () => {
    metrics.start();
    app = testServer({
      queue,
      plugins: [
        camerasPlugin({ device: 'd', cameras: () => new Map(), health, mjpegFps: 5, mjpegMaxClients: 2, requireKey: false, log: logger('test') }),
        dashboardPlugin({ device: 'd', version: VERSION, cameras: () => new Map(), health, models: () => [], events: () => [], lang: 'en', requireKey: false, admin: () => ({}) }),
        metricsPlugin({ metrics, requireKey: false }),
      ],
    });
    // Plugins (and so every route) load at ready(): a hook added now sees them all.
    app.addHook('onRoute', (route: RouteOptions) => {
      for (const method of [route.method].flat()) registered.push({ method, url: route.url, hide: (route.schema as { hide?: boolean } | undefined)?.hide === true });
    });
    const response = await app.inject({ url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    doc = response.json() as Doc;
  });

  afterAll(async () => {
    metrics.stop();
    await app.close();
  });

  const op = (path: string, method: string): Operation => {
    const found = doc.paths[path]?.[method];
    if (!found) throw new Error(`${method.toUpperCase()} ${path} is not in the document`);
    return found;
  };

  it('lists every registered route with its method (HEAD and the hidden 405 answers aside)', () => {
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.version).toBe(VERSION);
    const routes = registered.filter((r) => r.method !== 'HEAD' && !r.hide);
    expect(routes.length).toBeGreaterThanOrEqual(15);
    const missing = routes.filter((r) => !doc.paths[r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[r.method.toLowerCase()]);
    expect(missing).toEqual([]);
    for (const url of ['/raypackfacev3', '/recog', '/v1/vision/face', '/v1/vision/detection', '/v1/vision/custom/{model}', '/v1/vision/custom/list', '/cameras', '/cameras/{id}/snapshot.jpg', '/cameras/{id}/stream.mjpeg', '/cameras/{id}/hls/index.m3u8', '/cameras/{id}/hls/{file}', '/cameras/{id}/events/{file}', '/healthz', '/metrics', '/', '/dashboard/{file}', '/api/dashboard', '/openapi.json']) {
      expect(doc.paths[url], url).toBeDefined();
    }
    // The hidden ones are the 405 answers, documented on the POST operation instead.
    expect([...new Set(registered.filter((r) => r.hide).map((r) => r.url))].sort()).toEqual(['/raypackfacev3', '/recog']);
    expect(op('/raypackfacev3', 'post').responses['405']).toBeDefined();
  });

  it('gives the content types each route answers: JPEG snapshots, MJPEG, Prometheus text, HTML, JSON', () => {
    expect(Object.keys(op('/cameras/{id}/snapshot.jpg', 'get').responses['200'].content!)).toEqual(['image/jpeg']);
    expect(Object.keys(op('/cameras/{id}/stream.mjpeg', 'get').responses['200'].content!)).toEqual(['multipart/x-mixed-replace']);
    expect(Object.keys(op('/cameras/{id}/hls/index.m3u8', 'get').responses['200'].content!)).toEqual(['application/vnd.apple.mpegurl']);
    expect(Object.keys(op('/cameras/{id}/hls/{file}', 'get').responses['200'].content!)).toEqual(['video/mp4']);
    expect(Object.keys(op('/cameras/{id}/events/{file}', 'get').responses['200'].content!)).toEqual(['image/jpeg']);
    expect(Object.keys(op('/metrics', 'get').responses['200'].content!)).toEqual(['text/plain']);
    expect(Object.keys(op('/', 'get').responses['200'].content!)).toEqual(['text/html']);
    expect(Object.keys(op('/raypackfacev3', 'post').responses['200'].content!).sort()).toEqual(['application/json', 'image/jpeg']);
    expect(Object.keys(op('/v1/vision/detection', 'post').responses['200'].content!)).toEqual(['application/json']);
    expect(Object.keys(op('/api/dashboard', 'get').responses['200'].content!)).toEqual(['application/json']);
  });

  it('documents the bodies and query parameters: the RAYPACK forms, the DeepStack upload, snapshot options', () => {
    const face = op('/raypackfacev3', 'post').requestBody!.content;
    expect(Object.keys(face).sort()).toEqual(['application/x-www-form-urlencoded', 'multipart/form-data']);
    expect(Object.keys(face['multipart/form-data'].schema.properties!)).toEqual(expect.arrayContaining(['apikey', 'threshold', 'imagef', 'mode', 'facemode', 'hex']));
    expect(face['multipart/form-data'].schema.properties!.imagef.oneOf).toHaveLength(2);
    const ds = op('/v1/vision/detection', 'post').requestBody!.content['multipart/form-data'].schema.properties!;
    expect(Object.keys(ds).sort()).toEqual(['api_key', 'image', 'min_confidence']);
    expect(ds.image.format).toBe('binary');
    const snapshot = op('/cameras/{id}/snapshot.jpg', 'get');
    // ?apikey= is the apikeyQuery security scheme, so it is listed there rather than as a parameter.
    expect(snapshot.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:id', 'query:facemode', 'query:hex']);
    expect((snapshot as { security?: unknown[] }).security).toContainEqual({ apikeyQuery: [] });
    expect(op('/cameras/{id}/stream.mjpeg', 'get').parameters!.map((p) => p.name)).toContain('facemode');
    expect(op('/v1/vision/custom/{model}', 'post').parameters!.find((p) => p.in === 'path')?.name).toBe('model');
  });

  it('spells out the error answers of every route, each with a description and a JSON body', () => {
    const expectErrors = (path: string, method: string, statuses: string[]): void => {
      const responses = op(path, method).responses;
      for (const s of statuses) {
        expect(responses[s], `${method} ${path} ${s}`).toBeDefined();
        expect(responses[s].description.length).toBeGreaterThan(5);
        expect(Object.keys(responses[s].content ?? {})).toEqual(['application/json']);
      }
    };
    expectErrors('/raypackfacev3', 'post', ['400', '401', '413', '415', '422', '429', '500', '503']);
    expectErrors('/recog', 'post', ['400', '401', '413', '415', '422', '503']);
    expectErrors('/v1/vision/face', 'post', ['400', '401', '413', '415', '422', '503']);
    expectErrors('/cameras/{id}/snapshot.jpg', 'get', ['400', '401', '404', '503']);
    expectErrors('/cameras/{id}/stream.mjpeg', 'get', ['401', '404', '503']);
    expectErrors('/metrics', 'get', ['401', '500']);
    expectErrors('/api/dashboard', 'get', ['401']);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(operation.responses)) expect(response.description, `${method} ${path} ${status}`).toBeTruthy();
      }
    }
  });
});
