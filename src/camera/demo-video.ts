/**
 * The DEMO camera's input: a short video made at start by ffmpeg from the sample photos that ship with
 * @vladmandic/face-api (people, several faces), a few seconds per photo. The daemon loops it with -stream_loop -1 -re,
 * so a new user sees faces detected, JSON on MQTT and anonymised snapshots without owning a camera.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RaypackError } from '../errors.ts';

export const DEMO_WIDTH = 960;
export const DEMO_HEIGHT = 640;

/**
 * Where the sample photos are: `demo/` beside src/ in an installed package (scripts/package.ts copies them there,
 * as @vladmandic/face-api is a development dependency that packages leave out), else the face-api package of a clone.
 */
export function demoPhotosDir(): string {
  const packaged = fileURLToPath(new URL('../../demo', import.meta.url));
  if (existsSync(join(packaged, 'sample1.jpg'))) return packaged;
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
  } catch {
    throw new RaypackError('internal', `no sample photos for the demo camera: neither ${packaged} nor the @vladmandic/face-api package (npm ci) is there`);
  }
}

/** The sample photos, in order. */
export function demoPhotos(): string[] {
  const dir = demoPhotosDir();
  const photos = [1, 2, 3, 4, 5, 6].map((n) => join(dir, `sample${n}.jpg`)).filter((p) => existsSync(p));
  if (photos.length === 0) throw new RaypackError('internal', `no sample photos found in ${dir}`);
  return photos;
}

/** ffmpeg arguments: each photo letterboxed to DEMO_WIDTH x DEMO_HEIGHT for `secondsEach`, concatenated, MPEG-4 part 2 (every ffmpeg build has it). */
export function demoVideoArgs(photos: readonly string[], output: string, secondsEach = 3, fps = 10): string[] {
  const inputs = photos.flatMap((p) => ['-loop', '1', '-framerate', String(fps), '-t', String(secondsEach), '-i', p]);
  const scaled = photos.map(
    (_, i) =>
      `[${i}:v]scale=${DEMO_WIDTH}:${DEMO_HEIGHT}:force_original_aspect_ratio=decrease,` +
      `pad=${DEMO_WIDTH}:${DEMO_HEIGHT}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=${fps}[v${i}]`,
  );
  const concat = `${photos.map((_, i) => `[v${i}]`).join('')}concat=n=${photos.length}:v=1:a=0,format=yuv420p[out]`;
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    ...inputs,
    '-filter_complex', [...scaled, concat].join(';'),
    '-map', '[out]', '-c:v', 'mpeg4', '-q:v', '3', '-g', String(fps * 2), '-f', 'mp4', output,
  ];
}

/** Make (or reuse) `<dir>/demo-faces.mp4`. */
export async function ensureDemoVideo(dir: string, ffmpegPath = 'ffmpeg'): Promise<string> {
  const output = join(dir, 'demo-faces.mp4');
  if (existsSync(output)) return output;
  mkdirSync(dir, { recursive: true });
  const partial = `${output}.partial`;
  const args = demoVideoArgs(demoPhotos(), partial);
  const stderr: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (t: string) => stderr.push(t));
    child.on('error', (e) => reject(new RaypackError('internal', `cannot run ${ffmpegPath} to make the demo video: ${e.message}`)));
    child.on('close', resolve);
  });
  if (code !== 0) throw new RaypackError('internal', `ffmpeg could not make the demo video (exit ${code}): ${stderr.join('').slice(-500)}`);
  renameSync(partial, output);
  return output;
}
