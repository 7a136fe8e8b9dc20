/**
 * Videos on the RAYPACK API over a real listening socket (127.0.0.1, a free port): real ffmpeg, real detectors,
 * clips cut from the shared videos into a temp folder. /recog aggregates tags (and a timeline), mode=json gives
 * faces per sampled frame with stable track ids, mode=image gives the anonymized mp4 with the audio copied and the
 * faces gone (as the reference detectors see it); bad and oversized videos get clear 4xx; the temp folder the
 * server uses (TMPDIR, set for this test file) is empty afterwards. Images still answer as before.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDetectors, KEY, sample, testServer } from './helpers.ts';
import { clipWithAudio, faceJudges, facesLeft, framesAt, HAVE_VIDEO, probe, VIDEO, type FaceJudges } from '../video/helpers.ts';
import type { VideoOptions } from '../../src/http/video.ts';

const work = mkdtempSync(join(tmpdir(), 'raypack-http-video-'));
const serverTmp = join(work, 'server-tmp');
// The server's temp files go here (os.tmpdir() reads TMPDIR), so the test can see that none is left.
process.env.TMPDIR = serverTmp;
execFileSync('mkdir', ['-p', serverTmp]);

if (!HAVE_VIDEO) console.warn(`[http video] ${VIDEO} or the reference models are absent: the video API tests are skipped`);

const servers: FastifyInstance[] = [];
async function serve(video: Partial<VideoOptions> = {}, maxUploadBytes?: number): Promise<string> {
  const app = testServer({ video, ...(maxUploadBytes ? { limits: { maxUploadBytes } } : {}) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

async function post(base: string, path: string, fields: Record<string, string>, file: { name: string; bytes: Buffer; field?: string }): Promise<Response> {
  const form = new FormData();
  form.set('apikey', KEY);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set(file.field ?? (path === '/recog' ? 'file' : 'imagef'), new Blob([file.bytes]), file.name);
  return fetch(base + path, { method: 'POST', body: form });
}

let base: string;
let clip: Buffer;
let people: Buffer;
let judges: FaceJudges | undefined;

beforeAll(async () => {
  if (!HAVE_VIDEO) return;
  clip = readFileSync(clipWithAudio(work));
  // Another ASL clip (a person facing the camera, 640x480, 30 fps) as 320x240 webm (VP9, no audio): another container and codec.
  const webm = join(work, 'people.webm');
  execFileSync('ffmpeg', ['-v', 'error', '-i', join(VIDEO, 'asl_gestures/book.mkv'), '-an', '-vf', 'scale=320:240', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-y', webm]);
  people = readFileSync(webm);
  base = await serve();
}, 120_000);

afterAll(async () => {
  for (const app of servers) await app.close();
  await judges?.close();
  await closeDetectors();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!HAVE_VIDEO)('video uploads', () => {
  it('/recog on a webm: the best score per label over the sampled frames, and a timeline per second', async () => {
    const res = await post(base, '/recog', { model: '1', lang: 'en', threshold: '0.3', timeline: '1' }, { name: 'people.webm', bytes: people });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { results: { stats: { video: Record<string, number>; originalfile: string }; tags: Array<{ name: string; value: string }>; timeline: Array<{ second: number; tags: Array<{ name: string; value: string }> }> } };
    expect(body.results.stats.originalfile).toBe('people.webm');
    const video = body.results.stats.video;
    expect(video).toMatchObject({ width: 320, height: 240, fps: 30 });
    expect(video.sampled).toBe(Math.ceil(video.duration * 2 - 0.5));
    const person = body.results.tags.find((t) => t.name === 'person');
    expect(person).toBeDefined();
    // The aggregate is the best of the seconds.
    const best = Math.max(...body.results.timeline.flatMap((s) => s.tags.filter((t) => t.name === 'person').map((t) => Number(t.value))));
    expect(Number(person!.value)).toBeCloseTo(best, 6);
    expect(body.results.timeline.map((s) => s.second)).toEqual(Array.from({ length: Math.ceil(video.sampled / 2) }, (_, i) => i));
  });

  it('/raypackfacev3 mode=json: the faces of each sampled frame, one track id for the one face', async () => {
    const res = await post(base, '/raypackfacev3', { mode: 'json', threshold: '0.5', fps: '2' }, { name: 'clip.mp4', bytes: clip });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { totalfaces: number; faces: unknown[]; video: Record<string, number>; frames: Array<{ frame: number; time: number; faces: Array<{ track: number; score: number; width: number }> }> };
    // 2.1 s at 2 fps: ffmpeg's fps filter gives 0, 0.5, 1 and 1.5 s (2.0 s rounds past the last frame).
    expect(body.video).toMatchObject({ width: 640, height: 480, fps: 30, sampled: 4 });
    expect(body.frames.map((f) => f.frame)).toEqual([0, 15, 30, 45]);
    expect(body.frames.map((f) => f.time)).toEqual([0, 0.5, 1, 1.5]);
    for (const f of body.frames) expect(f.faces.length).toBeGreaterThanOrEqual(1);
    const ids = new Set(body.frames.map((f) => f.faces[0].track));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBeGreaterThan(0);
    expect(body.totalfaces).toBe(1);
    expect(body.faces).toEqual([]);
  });

  it('/raypackfacev3 mode=image: an H.264 mp4 with every frame, the audio copied and the faces gone', async () => {
    const res = await post(base, '/raypackfacev3', { mode: 'image', facemode: 'pixel' }, { name: 'clip.mp4', bytes: clip });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const out = join(work, 'answer.mp4');
    writeFileSync(out, Buffer.from(await res.arrayBuffer()));
    const input = join(work, 'clip.mp4');
    const before = probe(input);
    const after = probe(out);
    expect(after).toMatchObject({ frames: before.frames, fps: before.fps, width: 640, height: 480, videoCodec: 'h264' });
    expect(after.audio).toEqual(before.audio);
    judges ??= await faceJudges();
    const indices = [0, 1, 14, 32, 47, 62];
    const check = await facesLeft(judges, framesAt(input, indices, 640, 480), framesAt(out, indices, 640, 480), indices);
    expect(check.inputFaces).toBeGreaterThanOrEqual(indices.length * 2);
    expect(check.stillFound).toEqual([]);
  });

  it('refuses what cannot be a video answer: facemode jsonimage or black', async () => {
    const res = await post(base, '/raypackfacev3', { mode: 'image', facemode: 'black' }, { name: 'clip.mp4', bytes: clip });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/facemode=black is not available for videos/);
  });

  it('a malformed video (an mp4 header, then noise): 422 with the reason', async () => {
    const bogus = Buffer.concat([clip.subarray(0, 32), Buffer.alloc(4000, 7)]);
    const res = await post(base, '/recog', { model: '1' }, { name: 'broken.mp4', bytes: bogus });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/not a readable video|could not be decoded|no frame/);
  });

  it('over the limits: too long, too many frames, too large an upload, too slow to process (413); turned off (415)', async () => {
    const short = await serve({ maxSeconds: 1 });
    const long = await post(short, '/raypackfacev3', { mode: 'json' }, { name: 'clip.mp4', bytes: clip });
    expect(long.status).toBe(413);
    expect(((await long.json()) as { error: { message: string } }).error.message).toMatch(/2\.1 s long: the limit is 1 s/);
    const few = await serve({ maxFrames: 30 });
    const frames = await post(few, '/raypackfacev3', { mode: 'image', facemode: 'fill' }, { name: 'clip.mp4', bytes: clip });
    expect(frames.status).toBe(413);
    expect(((await frames.json()) as { error: { message: string } }).error.message).toMatch(/frames: the limit is 30|more than 30 frames/);
    const small = await serve({}, 100_000);
    const big = await post(small, '/recog', { model: '1' }, { name: 'clip.mp4', bytes: clip });
    expect(big.status).toBe(413);
    const hurried = await serve({ maxProcessingMs: 400 });
    const slow = await post(hurried, '/raypackfacev3', { mode: 'image', facemode: 'pixel' }, { name: 'clip.mp4', bytes: clip });
    expect(slow.status).toBe(413);
    expect(((await slow.json()) as { error: { message: string } }).error.message).toMatch(/took longer than the limit of 0\.4 s/);
    const off = await serve({ enabled: false });
    const refused = await post(off, '/recog', { model: '1' }, { name: 'clip.mp4', bytes: clip });
    expect(refused.status).toBe(415);
  });

  it('images answer as before', async () => {
    const res = await post(base, '/raypackfacev3', { mode: 'json' }, { name: 'sample1.jpg', bytes: sample(1) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { totalfaces: number; frames?: unknown };
    expect(body.totalfaces).toBeGreaterThanOrEqual(3);
    expect(body.frames).toBeUndefined();
  });

  it('leaves nothing in the temp folder and no ffmpeg running', async () => {
    // Only the server's own folders are ours to check (other libraries in this process write here too).
    expect(readdirSync(serverTmp).filter((name) => name.startsWith('raypack-'))).toEqual([]);
    const { childProcesses } = await import('../helpers/processes.ts');
    expect(childProcesses(process.pid, 'ffmpeg').live).toEqual([]);
    expect(childProcesses(process.pid, 'ffprobe').live).toEqual([]);
  });
});
