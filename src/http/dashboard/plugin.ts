/**
 * The web dashboard: `GET /` (one page, plain HTML/CSS/JS served from this folder, nothing from the internet) and
 * `GET /api/dashboard` (what the page shows: cameras with their counters and views, recent events, models,
 * health). The page carries no data and no secret; the data route sits behind the same keys as the camera routes
 * (http.require_key_for_cameras), and its `admin` part (process and system details) answers admin keys only. Live
 * views are the anonymised MJPEG/snapshot routes themselves; the "try it" form posts to /raypackfacev3.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Camera } from '../../camera/camera.ts';
import type { Lang } from '../../detect/labels.ts';
import type { CameraEvent } from '../../integrations/events.ts';
import { cameraView } from '../../integrations/homeassistant/view.ts';
import { ApiGuard } from '../auth.ts';
import type { HealthReport } from '../cameras.ts';
import { errorResponses } from '../openapi.ts';

export interface ModelInUse {
  readonly task: string;
  readonly model: string;
}

export interface DashboardDeps {
  readonly device: string;
  readonly version: string;
  readonly cameras: () => ReadonlyMap<string, Camera>;
  readonly health: () => HealthReport;
  readonly models: () => readonly ModelInUse[];
  readonly events: () => readonly CameraEvent[];
  readonly lang: Lang;
  readonly requireKey: boolean;
  /** Shown to admin keys only. */
  readonly admin: () => Record<string, unknown>;
}

/** The page's files: a fixed list (no path from the request reaches the filesystem). */
const ASSETS: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

function asset(name: string): Buffer {
  return readFileSync(new URL(`./${name}`, import.meta.url));
}

export function dashboardPlugin(deps: DashboardDeps): FastifyPluginAsync {
  return async (app) => {
    const index = asset('index.html');
    const files = new Map(Object.keys(ASSETS).map((name) => [name, asset(name)]));
    const page = { tags: ['dashboard'], response: { 200: { description: 'The dashboard page', content: { 'text/html': { schema: { type: 'string' } } } } } };

    app.get('/', { schema: { summary: 'The web dashboard (HTML)', ...page } }, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').header('content-security-policy', CSP).type('text/html; charset=utf-8').send(index),
    );
    app.get(
      '/dashboard/:file',
      {
        schema: {
          summary: 'A file of the dashboard page (app.js, style.css)',
          tags: ['dashboard'],
          params: { type: 'object', required: ['file'], properties: { file: { type: 'string', enum: Object.keys(ASSETS) } } },
          response: {
            200: { description: 'The file', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } },
            ...errorResponses([400, 404]),
          },
        },
      },
      async (request, reply) => {
        const { file } = request.params as { file: string };
        return reply.header('cache-control', 'no-cache').type(ASSETS[file]).send(files.get(file));
      },
    );

    // A key is needed when the config says so; a key that is sent is always checked (it decides the admin part).
    const keyHook = async (request: FastifyRequest, reply: Parameters<ReturnType<typeof app.requireApiKey>>[1]): Promise<void> => {
      const query = request.query as Record<string, unknown> | undefined;
      if (deps.requireKey || ApiGuard.headerKey(request) !== undefined || typeof query?.apikey === 'string') {
        await app.requireApiKey().call(app, request, reply);
      }
    };
    app.get(
      '/api/dashboard',
      {
        onRequest: keyHook,
        schema: {
          summary: 'What the dashboard shows: cameras, recent events, models, health (admin keys also get process details)',
          tags: ['dashboard'],
          security: [{}, { apikeyHeader: [] }, { bearer: [] }, { apikeyQuery: [] }],
          querystring: { type: 'object', properties: { apikey: { type: 'string', description: 'API key (also as header apikey or Authorization: Bearer).' } } },
          response: {
            200: { description: 'Dashboard data', content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } } },
            ...errorResponses([401, 429, 500]),
          },
        },
      },
      async (request, reply) => {
        const now = Date.now();
        const cameras = [...deps.cameras().values()].map((camera) => {
          const status = camera.status();
          return { ...status, view: cameraView(status, camera.latestResult(), camera.config.fps, deps.lang, now), allowRaw: camera.config.allow_raw };
        });
        return reply.header('cache-control', 'no-store').send({
          device: deps.device,
          version: deps.version,
          time: now,
          health: deps.health(),
          load: loadavg().map((l) => Math.round(l * 100) / 100),
          models: deps.models(),
          cameras,
          events: deps.events(),
          keyRequired: deps.requireKey,
          admin: request.apiKey?.admin ? deps.admin() : undefined,
        });
      },
    );
  };
}
