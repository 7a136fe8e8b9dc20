/**
 * Camera routes, as a fastify plugin added to the API server: status, anonymised snapshots, anonymised MJPEG and
 * a health check. Routes are thin: a schema, a permission check, one call. Un-anonymised faces (`default`, `raw`)
 * need BOTH the camera's allow_raw and an admin key; privacy masks were applied before any of this.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { RaypackError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Camera, CameraStatus } from '../camera/camera.ts';
import { SNAPSHOT_MODES, showsFaces, type SnapshotMode } from '../camera/snapshot.ts';
import type { HlsWriter } from '../camera/hls.ts';
import { hlsUrl, registerHlsRoutes } from './camera-hls.ts';

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly device: string;
  readonly uptimeSeconds: number;
  readonly cameras: Record<string, string>;
  readonly mqtt: { readonly connected: boolean; readonly buffered: number; readonly dropped: number };
  readonly queue: { readonly running: number; readonly waiting: number; readonly rejected: number };
}

export interface CamerasPluginDeps {
  readonly device: string;
  readonly cameras: () => ReadonlyMap<string, Camera>;
  readonly health: () => HealthReport;
  readonly mjpegFps: number;
  readonly mjpegMaxClients: number;
  /** Require an API key for status, snapshots and streams (raw always needs an admin key). */
  readonly requireKey: boolean;
  /** A camera's anonymised HLS writer, when its hls.enabled is set. */
  readonly hls?: (camera: string) => HlsWriter | undefined;
  readonly log: Logger;
}

const BOUNDARY = 'raypackframe';

const IMAGE_QUERY = {
  type: 'object',
  properties: {
    facemode: { type: 'string', enum: [...SNAPSHOT_MODES], description: 'Override the camera facemode; default/raw need allow_raw and an admin key.' },
    hex: { type: 'string', pattern: '^#?[0-9A-Fa-f]{6}$', description: 'Colour for fill boxes and outlines.' },
    apikey: { type: 'string', description: 'API key (also as header apikey or Authorization: Bearer).' },
  },
} as const;

const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;
const EVENT_PARAMS = {
  type: 'object',
  required: ['id', 'file'],
  properties: { id: { type: 'string', maxLength: 64 }, file: { type: 'string', pattern: '^[0-9]{1,15}\\.jpg$', description: '<track id>.jpg, as linked from the event message.' } },
} as const;

export function camerasPlugin(deps: CamerasPluginDeps): FastifyPluginAsync {
  return async (app) => {
    const streams = new Set<() => void>();
    const keyHook = deps.requireKey ? [app.requireApiKey()] : [];

    // MJPEG responses never end by themselves: end them before the server waits for open connections.
    app.addHook('preClose', async () => {
      for (const end of [...streams]) end();
    });

    app.get('/healthz', { schema: { summary: 'Liveness and a short status of cameras, MQTT and the queue' } as FastifySchema }, async (_request, reply) => {
      return reply.header('cache-control', 'no-store').send(deps.health());
    });

    app.get('/cameras', { onRequest: keyHook, schema: { summary: 'Status of every camera' } as FastifySchema }, async (_request, reply) => {
      const cameras: Array<CameraStatus & { hls?: unknown }> = [...deps.cameras().values()].map((c) => {
        const hls = deps.hls?.(c.id);
        return hls ? { ...c.status(), hls: hls.status(hlsUrl(c.id)) } : c.status();
      });
      return reply.header('cache-control', 'no-store').send({ device: deps.device, cameras });
    });

    app.get(
      '/cameras/:id/snapshot.jpg',
      { onRequest: keyHook, schema: { summary: 'Latest analysed frame as JPEG, faces anonymised', params: ID_PARAMS, querystring: IMAGE_QUERY } as FastifySchema },
      async (request, reply) => {
        const { camera, mode, hex } = await resolveImageRequest(app, deps, request, reply);
        const result = latestOrBusy(camera);
        const jpeg = await camera.snapshots.get(result, mode, hex);
        return reply
          .header('cache-control', 'no-store')
          .header('x-raypack-frame', String(result.frame.seq))
          .header('x-raypack-faces', String(result.faces.length))
          .type('image/jpeg')
          .send(jpeg);
      },
    );

    app.get(
      '/cameras/:id/events/:file',
      { onRequest: keyHook, schema: { summary: "A track event's anonymised JPEG (camera facemode), as linked from its MQTT message", params: EVENT_PARAMS } as FastifySchema },
      async (request, reply) => {
        const { id, file } = request.params as { id: string; file: string };
        const camera = deps.cameras().get(id);
        if (!camera) throw new RaypackError('not_found', `no camera '${id}'`);
        const track = Number(file.slice(0, -'.jpg'.length));
        const jpeg = await camera.eventSnapshots.get(track)?.catch(() => undefined);
        if (!jpeg) throw new RaypackError('not_found', `no snapshot of track ${track} on camera '${id}' (only the latest ${camera.config.event_snapshots ?? 0} are kept)`);
        return reply.header('cache-control', 'private, max-age=3600').type('image/jpeg').send(jpeg);
      },
    );

    registerHlsRoutes(app, { cameras: deps.cameras, hls: (id) => deps.hls?.(id) }, keyHook);

    app.get(
      '/cameras/:id/stream.mjpeg',
      { onRequest: keyHook, schema: { summary: 'Live MJPEG of anonymised frames (multipart/x-mixed-replace)', params: ID_PARAMS, querystring: IMAGE_QUERY } as FastifySchema },
      async (request, reply) => {
        const { camera, mode, hex } = await resolveImageRequest(app, deps, request, reply);
        const viewers = countViewers(streams, camera.id);
        if (viewers >= deps.mjpegMaxClients) {
          throw new RaypackError('busy', `camera '${camera.id}' already has ${viewers} MJPEG viewers (mjpeg_max_clients)`, { retryAfterSeconds: 5 });
        }
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
          'cache-control': 'no-store, no-cache, must-revalidate',
          pragma: 'no-cache',
          connection: 'close',
        });
        let lastSeq = -1;
        let busy = false;
        const tick = async (): Promise<void> => {
          const result = camera.latestResult();
          // Skip while the client is slow (backpressure) or nothing new was analysed.
          if (busy || res.writableNeedDrain || !result || result.frame.seq === lastSeq) return;
          busy = true;
          try {
            const jpeg = await camera.snapshots.get(result, mode, hex);
            if (res.writableEnded) return;
            res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\nX-Raypack-Frame: ${result.frame.seq}\r\n\r\n`);
            res.write(jpeg);
            res.write('\r\n');
            lastSeq = result.frame.seq;
          } catch (error) {
            deps.log.warn('mjpeg frame failed', { camera: camera.id, error: (error as Error).message });
          } finally {
            busy = false;
          }
        };
        const timer = setInterval(() => void tick(), Math.max(33, Math.round(1000 / deps.mjpegFps)));
        const end = (): void => {
          clearInterval(timer);
          streams.delete(end);
          if (!res.writableEnded) res.end();
        };
        Object.assign(end, { camera: camera.id });
        streams.add(end);
        request.raw.socket.once('close', end);
        res.once('close', end);
        void tick();
      },
    );
  };
}

function countViewers(streams: Set<() => void>, camera: string): number {
  return [...streams].filter((s) => (s as unknown as { camera: string }).camera === camera).length;
}

async function resolveImageRequest(
  app: FastifyInstance,
  deps: CamerasPluginDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ camera: Camera; mode: SnapshotMode; hex: string }> {
  const { id } = request.params as { id: string };
  const camera = deps.cameras().get(id);
  if (!camera) throw new RaypackError('not_found', `no camera '${id}'`);
  const query = request.query as { facemode?: SnapshotMode; hex?: string };
  const mode: SnapshotMode = query.facemode ?? camera.config.facemode;
  if (mode === 'body' && camera.config.facemode !== 'body') {
    // Persons are found for hiding only on a camera analysed in body mode: asking for it elsewhere would hide less than asked.
    throw new RaypackError('bad_parameter', `camera '${id}' is not analysed in body mode: set its facemode to body to hide people whole`);
  }
  if (showsFaces(mode)) {
    if (!camera.config.allow_raw) {
      throw new RaypackError('bad_parameter', `camera '${id}' does not allow un-anonymised images (allow_raw is false)`);
    }
    await app.requireApiKey({ admin: true }).call(app, request, reply);
  }
  return { camera, mode, hex: query.hex ?? camera.config.hex };
}

function latestOrBusy(camera: Camera): NonNullable<ReturnType<Camera['latestResult']>> {
  const result = camera.latestResult();
  if (!result) {
    throw new RaypackError('busy', `no analysed frame from camera '${camera.id}' yet (state: ${camera.status().state})`, { retryAfterSeconds: 2 });
  }
  return result;
}
