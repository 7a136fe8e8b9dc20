/**
 * Images whose pixel count is fine but whose side is not: a 1 x 1000000 PNG (and its transpose) is 1 MP, far under
 * the pixel limit, but no JPEG can be that long (libjpeg stops at 65500 pixels a side), so every picture answer
 * failed in the encoder with a 500, and the JSON answers spent up to a second resizing it. Refused from the header
 * now, as a 413, over a real socket with real files, in every mode.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, closeDetectors, sample, testServer } from './helpers.ts';

const run = promisify(execFile);
let app: FastifyInstance;
let base = '';
let dir = '';

/** A real, fully encoded PNG of a grey strip (a few KB: the rows compress to nothing). */
async function strip(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-odd-'));
  writeFileSync(join(dir, 'wide.png'), await strip(1_000_000, 1));
  writeFileSync(join(dir, 'tall.png'), await strip(1, 1_000_000));
  writeFileSync(join(dir, 'edge.png'), await strip(65_501, 2));
  writeFileSync(join(dir, 'ok-long.png'), await strip(65_500, 2));
  writeFileSync(join(dir, 'photo.jpg'), sample(1));
  app = testServer({ authFailures: { maxFailures: 1_000_000 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // Load the models first, so the timings below are the refusals' own.
  expect((await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'imagef=@photo.jpg', '-F', 'facemode=jsonimage', `${base}/raypackfacev3`])).status).toBe(200);
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  await closeDetectors();
});

async function curl(args: string[]): Promise<{ status: number; body: Buffer; seconds: number }> {
  const out = join(dir, `out-${Math.random().toString(16).slice(2)}`);
  const { stdout } = await run('curl', ['-sS', '-o', out, '-w', '%{http_code} %{time_total}', ...args], { cwd: dir });
  const [status, seconds] = stdout.split(' ').map(Number);
  return { status, body: readFileSync(out), seconds };
}

const MODES: Array<[string, string[]]> = [
  ['mode=image facemode=pixel', ['-F', 'mode=image', '-F', 'facemode=pixel']],
  ['facemode=jsonimage', ['-F', 'facemode=jsonimage']],
  ['mode=jpg facemode=fill', ['-F', 'mode=jpg', '-F', 'facemode=fill']],
  ['mode=image facemode=black', ['-F', 'mode=image', '-F', 'facemode=black']],
  ['mode=json', ['-F', 'mode=json']],
];

describe('an image with a side no JPEG can have', () => {
  it.each(['wide.png', 'tall.png', 'edge.png'])('%s: 413 in every mode, from the header, quickly', async (file) => {
    for (const [label, fields] of MODES) {
      const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', `imagef=@${file}`, ...fields, `${base}/raypackfacev3`]);
      expect({ label, status: r.status }).toEqual({ label, status: 413 });
      const error = JSON.parse(r.body.toString()).error;
      expect(error.code).toBe('payload_too_large');
      expect(error.message).toMatch(/65500/);
      // From the header: no decode, no resize (the JSON answers took 0.3-1.2 s before). Generous: a loaded machine.
      expect(r.seconds).toBeLessThan(0.5);
    }
  });

  it('recog refuses it too', async () => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'file=@wide.png', '-F', 'model=1', `${base}/recog`]);
    expect(r.status).toBe(413);
  });

  it('a 65500-pixel side is still answered, as a JPEG of that size', async () => {
    // facemode=default (outlines): what is checked is the JPEG of that size, not the privacy tiling of a strip.
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'imagef=@ok-long.png', '-F', 'mode=image', '-F', 'facemode=default', `${base}/raypackfacev3`]);
    expect(r.status).toBe(200);
    const meta = await sharp(r.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 65_500, 2]);
  });

  it('the server still answers a photo afterwards', async () => {
    const r = await curl(['-X', 'POST', '-F', `apikey=${KEY}`, '-F', 'imagef=@photo.jpg', '-F', 'mode=json', `${base}/raypackfacev3`]);
    expect(r.status).toBe(200);
  });
});
