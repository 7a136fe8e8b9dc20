/**
 * `raypack-edge detect` as a user runs it: the real bin script, real ONNX models, real photos and broken files.
 * Needs the built models (`npm run models`).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/raypack-edge.js');
const SAMPLES = join(ROOT, 'node_modules/@vladmandic/face-api/demo');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, RAYPACK_LOG_LEVEL: 'error' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed little PNG file whose header claims 30000x30000 pixels (900 megapixels). */
function hugePngHeader(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(30000, 0);
  ihdr.writeUInt32BE(30000, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(1000))), pngChunk('IEND', Buffer.alloc(0))]);
}

const RESULT_LINE = /^\{"file":"[^"]+","width":\d+,"height":\d+,"detections":\[(\{"label":"[a-z ]+","score":\d(\.\d{1,4})?,"box":\[-?\d+,-?\d+,\d+,\d+\]\},?)*\]\}$/;
const ERROR_LINE = /^\{"file":"[^"]+","error":\{"code":"[a-z_]+","message":"[^"]+"\}\}$/;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-detect-cli-'));
  mkdirSync(join(dir, 'photos/nested'), { recursive: true });
  copyFileSync(join(SAMPLES, 'sample1.jpg'), join(dir, 'photos/b-sample1.jpg'));
  copyFileSync(join(SAMPLES, 'sample6.jpg'), join(dir, 'photos/nested/a-sample6.jpg'));
  writeFileSync(join(dir, 'photos/README.txt'), 'not an image, and skipped because of its extension');
  writeFileSync(join(dir, 'photos/c-empty.jpg'), Buffer.alloc(0));
  writeFileSync(join(dir, 'photos/d-text.jpg'), 'hello, I am a text file with a .jpg name\n');
  const sample2 = readFileSync(join(SAMPLES, 'sample2.jpg'));
  writeFileSync(join(dir, 'photos/e-truncated.jpg'), sample2.subarray(0, Math.floor(sample2.length / 2)));
  writeFileSync(join(dir, 'photos/f-huge.png'), hugePngHeader());
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('raypack-edge detect', () => {
  it('prints one exact JSON line per image with faces in the image pixels', async () => {
    const file = join(SAMPLES, 'sample1.jpg');
    const r = await run(['detect', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(RESULT_LINE);
    const result = JSON.parse(lines[0]) as { file: string; width: number; height: number; detections: { label: string; score: number; box: number[] }[] };
    expect(Object.keys(result)).toEqual(['file', 'width', 'height', 'detections']);
    expect(result.file).toBe(file);
    expect([result.width, result.height]).toEqual([1920, 1280]);
    // sample1 shows three women side by side, faces in the upper half of the photo.
    const faces = result.detections.filter((d) => d.label === 'face' && d.score >= 0.5);
    expect(faces.length).toBe(3);
    for (const f of faces) {
      expect(Object.keys(f)).toEqual(['label', 'score', 'box']);
      const [x, y, w, h] = f.box;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x + w).toBeLessThanOrEqual(1920);
      expect(y + h).toBeLessThanOrEqual(800);
      expect(w).toBeGreaterThan(100);
      expect(w).toBeLessThan(400);
    }
  }, 180_000);

  it('recurses directories in sorted order, reports each bad file on its own line and exits 1', async () => {
    const missing = join(dir, 'no-such-file.jpg');
    const r = await run(['detect', join(dir, 'photos'), missing]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { file: string; error?: { code: string; message: string } });
    expect(parsed.map((p) => p.file)).toEqual([
      join(dir, 'photos/b-sample1.jpg'),
      join(dir, 'photos/c-empty.jpg'),
      join(dir, 'photos/d-text.jpg'),
      join(dir, 'photos/e-truncated.jpg'),
      join(dir, 'photos/f-huge.png'),
      join(dir, 'photos/nested/a-sample6.jpg'),
      missing,
    ]);
    expect(lines[0]).toMatch(RESULT_LINE);
    expect(lines[5]).toMatch(RESULT_LINE);
    for (const i of [1, 2, 3, 4, 6]) expect(lines[i]).toMatch(ERROR_LINE);
    expect(parsed.slice(1, 5).map((p) => p.error?.code)).toEqual(['undecodable_image', 'unsupported_media_type', 'undecodable_image', 'payload_too_large']);
    expect(parsed[6].error?.code).toBe('not_found');
    expect(parsed[4].error?.message).toContain('30000x30000');
  }, 180_000);

  it('follows symbolic links to photos and folders, lists a folder reached twice once, and reports a broken link', async () => {
    const links = join(dir, 'links');
    mkdirSync(links);
    symlinkSync(join(SAMPLES, 'sample1.jpg'), join(links, 'a-linked.jpg'));
    symlinkSync(join(dir, 'photos/nested'), join(links, 'b-folder'));
    symlinkSync(links, join(links, 'c-loop'));
    symlinkSync(join(dir, 'no-such-target.jpg'), join(links, 'd-broken.jpg'));
    const r = await run(['detect', links]);
    expect(r.code).toBe(1);
    const parsed = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { file: string; detections?: unknown[]; error?: { code: string } });
    expect(parsed.map((p) => p.file)).toEqual([join(links, 'a-linked.jpg'), join(links, 'b-folder/a-sample6.jpg'), join(links, 'd-broken.jpg')]);
    expect(parsed[0].detections?.length).toBeGreaterThanOrEqual(3);
    expect(parsed[1].detections).toBeDefined();
    expect(parsed[2].error?.code).toBe('not_found');
  }, 180_000);

  it('prints a readable table with --format table', async () => {
    const r = await run(['detect', '--format', 'table', '--threshold', '0.6', join(SAMPLES, 'sample1.jpg')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sample1\.jpg \(1920x1280\): \d+ detections?\n/);
    expect(r.stdout).toMatch(/ {2}face +0\.\d{4} {2}x=\d+ y=\d+ w=\d+ h=\d+\n/);
  }, 180_000);

  it('finds people with --task objects and nothing for --task food on a portrait photo', async () => {
    const r = await run(['detect', '--task', 'objects', join(SAMPLES, 'sample1.jpg')]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { detections: { label: string; score: number }[] };
    expect(result.detections.filter((d) => d.label === 'person').length).toBeGreaterThanOrEqual(2);
    const food = await run(['detect', '--task', 'food', '--format', 'jsonl', join(SAMPLES, 'sample1.jpg')]);
    expect(food.code).toBe(0);
    const foodResult = JSON.parse(food.stdout) as { detections: { label: string }[] };
    expect(foodResult.detections.every((d) => ['banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake'].includes(d.label))).toBe(true);
  }, 180_000);

  it('rejects bad usage with exit 2 and unknown models with exit 1', async () => {
    const noFiles = await run(['detect']);
    expect(noFiles.code).toBe(2);
    expect(noFiles.stderr).toContain('no image files');
    const badTask = await run(['detect', '--task', 'cats', join(SAMPLES, 'sample1.jpg')]);
    expect(badTask.code).toBe(2);
    const badThreshold = await run(['detect', '--threshold', '2', join(SAMPLES, 'sample1.jpg')]);
    expect(badThreshold.code).toBe(2);
    const badModel = await run(['detect', '--model', 'no-such-model', join(SAMPLES, 'sample1.jpg')]);
    expect(badModel.code).toBe(1);
    expect(badModel.stderr).toContain("no model 'no-such-model'");
    expect(badModel.stdout).toBe('');
  }, 180_000);
});
