/**
 * The anonymised HLS routes of a camera: its playlist and the files it names, read from the writer's temp folder.
 * Only the three kinds of name ffmpeg writes are served (index.m3u8, init.mp4, seg<number>.m4s): a name is
 * matched whole, never joined as a path, so nothing else in the folder or outside it can be asked for.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifySchema, onRequestHookHandler } from 'fastify';
import { RaypackError } from '../errors.ts';
import type { Camera } from '../camera/camera.ts';
import type { HlsWriter } from '../camera/hls.ts';
import { HLS_PLAYLIST } from '../camera/hls-args.ts';

export interface HlsRoutesDeps {
  readonly cameras: () => ReadonlyMap<string, Camera>;
  readonly hls: (camera: string) => HlsWriter | undefined;
}

export const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
export const SEGMENT_TYPE = 'video/mp4';

export function hlsUrl(camera: string): string {
  return `/cameras/${camera}/hls/${HLS_PLAYLIST}`;
}

const PARAMS = {
  type: 'object',
  required: ['id', 'file'],
  properties: { id: { type: 'string', maxLength: 64 }, file: { type: 'string', maxLength: 40, description: 'init.mp4 or seg<number>.m4s, as the playlist names them.' } },
} as const;
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;
const KEY_QUERY = { type: 'object', properties: { apikey: { type: 'string', description: 'API key; the playlist then carries it on the URIs it lists.' } } } as const;

/**
 * The playlist with `apikey` added to every URI in it, so players that only know the playlist URL (VLC, an NVR)
 * fetch the segments with the same key. Pure.
 */
export function withKey(playlist: string, key: string | undefined): string {
  if (key === undefined) return playlist;
  const suffix = `?apikey=${encodeURIComponent(key)}`;
  return playlist
    .split('\n')
    .map((line) => {
      if (line.startsWith('#EXT-X-MAP:')) return line.replace(/URI="([^"?]+)"/, (_m, uri: string) => `URI="${uri}${suffix}"`);
      return line !== '' && !line.startsWith('#') ? `${line}${suffix}` : line;
    })
    .join('\n');
}

export function registerHlsRoutes(app: FastifyInstance, deps: HlsRoutesDeps, keyHook: onRequestHookHandler[]): void {
  const writerOf = (id: string): HlsWriter => {
    if (!deps.cameras().has(id)) throw new RaypackError('not_found', `no camera '${id}'`);
    const writer = deps.hls(id);
    if (!writer) throw new RaypackError('not_found', `camera '${id}' has no HLS stream (set hls.enabled in its config)`);
    return writer;
  };

  app.get(
    '/cameras/:id/hls/index.m3u8',
    { onRequest: keyHook, schema: { summary: 'Anonymised live HLS playlist (H.264, fMP4 segments)', params: ID_PARAMS, querystring: KEY_QUERY } as FastifySchema },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const writer = writerOf(id);
      const path = writer.file(HLS_PLAYLIST);
      const text = path && writer.segmentFiles().length > 0 ? await readFile(path, 'utf8').catch(() => undefined) : undefined;
      if (text === undefined) throw new RaypackError('busy', `camera '${id}' has no HLS segment yet`, { retryAfterSeconds: Math.ceil(writer.status('').segmentSeconds) });
      const { apikey } = request.query as { apikey?: string };
      return reply.header('cache-control', 'no-cache, no-store').type(PLAYLIST_TYPE).send(withKey(text, apikey));
    },
  );

  app.get(
    '/cameras/:id/hls/:file',
    { onRequest: keyHook, schema: { summary: 'A file the HLS playlist names: the init segment or a media segment', params: PARAMS, querystring: KEY_QUERY } as FastifySchema },
    async (request, reply) => {
      const { id, file } = request.params as { id: string; file: string };
      const writer = writerOf(id);
      const path = file === HLS_PLAYLIST ? undefined : writer.file(file);
      if (!path) throw new RaypackError('not_found', `no HLS file '${file}'`);
      // A segment the playlist no longer lists may be deleted at any time: gone is a 404.
      const bytes = await readFile(path).catch(() => undefined);
      if (!bytes) throw new RaypackError('not_found', `HLS file '${file}' is gone (older than the playlist)`);
      return reply.header('cache-control', 'private, max-age=60').type(SEGMENT_TYPE).send(bytes);
    },
  );
}
