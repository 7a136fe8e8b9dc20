/**
 * The dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core, against the daemon with
 * its demo camera (ffmpeg, the real detectors). The page loads with no console error, shows the camera and a live
 * (MJPEG) image that changes, and the upload form returns a picture in which the face detector finds none of the
 * faces it finds in the photo. Screenshots go to $RAYPACK_SCREENSHOTS (default: a temp folder; the paths are printed).
 * The data route's keys (http.require_key_for_cameras, admin part) are checked over HTTP below.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/auth/api-keys.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { RgbImage } from '../../src/core/image.ts';
import type { Detector } from '../../src/detect/types.ts';
import { dashboardPlugin } from '../../src/http/dashboard/plugin.ts';
import { buildServer } from '../../src/http/server.ts';
import { setLogSink } from '../../src/log.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { DEMO_ADMIN_KEY, startDemoDaemon, waitForDemoFaces, type DemoDaemon } from '../helpers/demo-daemon.ts';
import { sleep, waitFor } from '../helpers/processes.ts';
import { SAMPLES } from './helpers.ts';

setLogSink(() => {});

const CHROMIUM = '/usr/bin/chromium';
/** Real footage for a second camera with a zone and a line, whose overlay the page draws over its live view. */
const SHOP_VIDEO = join(import.meta.dirname, '../../../shared/data/video/one-by-one-person-detection.mp4');
const SHOP = {
  id: 'shop',
  url: SHOP_VIDEO,
  loop: true,
  fps: 1,
  width: 768,
  height: 432,
  tasks: ['objects'],
  zones: [{ name: 'table', points: [[0.3, 0.7], [0.72, 0.7], [0.72, 1], [0.3, 1]] }],
  lines: [{ name: 'exit', a: [0.75, 1], b: [0.75, 0] }],
};
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

async function rgb(bytes: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

function countPixels(image: RgbImage, test: (r: number, g: number, b: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < image.data.length; i += 3) if (test(image.data[i], image.data[i + 1], image.data[i + 2])) n += 1;
  return n;
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in headless Chromium (demo camera)', () => {
  let d: DemoDaemon;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let verifier: Detector;
  const consoleErrors: string[] = [];
  let state: string | undefined;
  const shots = process.env.RAYPACK_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'raypack-dashboard-'));

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    // A state directory of its own: the shop camera's counts are saved there (counting/persist.ts), and another
    // test file's camera 'shop' must not restore them.
    state = mkdtempSync(join(tmpdir(), 'raypack-dashboard-state-'));
    d = await startDemoDaemon(existsSync(SHOP_VIDEO) ? { cameras: [SHOP], state_dir: state } : { state_dir: state });
    profile = mkdtempSync(join(tmpdir(), 'raypack-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    verifier = await loadDetector('face', { threads: 1 });
    await waitForDemoFaces(d);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await d?.daemon.stop();
    if (state) rmSync(state, { recursive: true, force: true });
    await verifier?.close();
  });

  it('shows every camera with its state, counters and faces, and a live image that changes', async () => {
    await page.goto(`${d.http}/`);
    await page.waitForSelector('#camera-demo img');
    expect(await page.locator('article.camera').count()).toBe(d.daemon.cameraIds().length);
    await waitFor(async () => (await page.locator('#camera-demo .state').textContent()) === 'streaming', 30_000, 'the state badge to say streaming');
    const img = page.locator('#camera-demo img');
    expect(await img.getAttribute('src')).toBe('/cameras/demo/stream.mjpeg');
    await waitFor(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth > 0), 30_000, 'the MJPEG image to show a frame');
    const first = await img.screenshot();
    // The demo shows a new photo every 3 s: the live image must change on its own, without a reload.
    const changed = await waitFor(async () => {
      await sleep(500);
      const next = await img.screenshot();
      return next.equals(first) ? undefined : next;
    }, 20_000, 'the live image to change');
    expect(changed.equals(first)).toBe(false);
    const stats = await page.locator('#camera-demo .stats').textContent();
    expect(stats).toMatch(/faces now\d+/);
    expect(stats).toMatch(/received\d+/);
    await waitFor(async () => ((await page.locator('#models li').allTextContents()).join(' ').includes('face: ')), 10_000, 'the models list');
    await waitFor(async () => (await page.locator('#events li').count()) > 0, 20_000, 'recent events');
    expect(await page.locator('#health').textContent()).toContain('MQTT');
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
    console.info(`screenshot: ${join(shots, 'dashboard.png')}`);
  }, 90_000);

  it.skipIf(!existsSync(SHOP_VIDEO))('draws a camera\'s zones and lines over its live view, with their counts', async () => {
    const overlay = page.locator('#camera-shop svg.overlay');
    await overlay.waitFor({ state: 'visible', timeout: 20_000 });
    expect(await overlay.getAttribute('viewBox')).toBe('0 0 768 432');
    const zone = overlay.locator('g[data-zone=table]');
    const points = (await zone.locator('polygon').getAttribute('points'))!.split(' ').map((p) => p.split(',').map(Number));
    expect(points).toEqual([[0.3 * 768, 0.7 * 432], [0.72 * 768, 0.7 * 432], [0.72 * 768, 432], [0.3 * 768, 432]]);
    expect(await zone.locator('text').textContent()).toMatch(/^table: \d+ now · \d+ entered · \d+ left$/);
    const line = overlay.locator('g[data-line=exit]');
    expect(await line.locator('line').first().getAttribute('x1')).toBe(String(0.75 * 768));
    expect(await line.locator('text').textContent()).toMatch(/^exit: \d+ in · \d+ out$/);
    // in is left_to_right of a (bottom) -> b (top): the arrow points right on the screen.
    const arrow = line.locator('line.overlay-arrow');
    expect(Number(await arrow.getAttribute('x2'))).toBeGreaterThan(Number(await arrow.getAttribute('x1')));
    // Drawn over the picture: the overlay covers the image box exactly, and the zone's outline shows in its pixels.
    const [imageBox, overlayBox] = [await page.locator('#camera-shop img').boundingBox(), await overlay.boundingBox()];
    expect(overlayBox).toEqual(imageBox);
    const shot = await rgb(await page.locator('#camera-shop .view').screenshot());
    const green = countPixels(shot, (r, g, b) => g > 150 && r < 80 && b > 60 && b < 160);
    expect(green).toBeGreaterThan(100);
    await page.locator('#camera-shop').screenshot({ path: join(shots, 'dashboard-zones.png') });
    console.info(`screenshot: ${join(shots, 'dashboard-zones.png')}`);
  }, 40_000);

  it('shows the admin part only once an admin key is entered', async () => {
    expect(await page.locator('#admin').isHidden()).toBe(true);
    await page.fill('#key', DEMO_ADMIN_KEY);
    await page.click('#key-form button[type=submit]');
    await page.waitForSelector('#admin:not([hidden])', { timeout: 10_000 });
    expect(await page.locator('#admin-details').textContent()).toContain('rssMiB');
    await page.screenshot({ path: join(shots, 'dashboard-admin.png'), fullPage: true });
  }, 30_000);

  it('answers an uploaded photo with an anonymised picture: the detector finds none of the faces it finds in the photo', async () => {
    const photo = join(SAMPLES, 'sample1.jpg');
    const { readFileSync } = await import('node:fs');
    const original = await verifier.detect(await rgb(readFileSync(photo)));
    expect(original.length).toBeGreaterThanOrEqual(3);

    await page.click('#tab-try');
    await page.setInputFiles('#try-file', photo);
    await page.selectOption('#try-facemode', 'pixel');
    await page.click('#try-submit');
    await page.waitForSelector('#try-image:not([hidden])', { timeout: 30_000 });
    const src = (await page.locator('#try-image').getAttribute('src'))!;
    expect(src.startsWith('data:image/jpeg;base64,')).toBe(true);
    const shown = Buffer.from(src.slice('data:image/jpeg;base64,'.length), 'base64');
    const found = await verifier.detect(await rgb(shown));
    expect(await page.locator('#try-status').textContent()).toMatch(/\d+ face\(s\) found and pixelated/);
    const reported = JSON.parse((await page.locator('#try-json').textContent())!) as { totalfaces: number };
    console.info(`try page: the photo has ${original.length} faces (verifier), the API reported ${reported.totalfaces}, found again in the answer ${found.length}`);
    expect(reported.totalfaces).toBeGreaterThanOrEqual(3);
    expect(found.length).toBe(0);
    await page.screenshot({ path: join(shots, 'try.png'), fullPage: true });

    // Filled faces too (mode=image): the picture comes back as a blob.
    await page.selectOption('#try-facemode', 'fill');
    await page.click('#try-submit');
    await waitFor(async () => ((await page.locator('#try-image').getAttribute('src')) ?? '').startsWith('blob:'), 30_000, 'the filled picture');
    console.info(`screenshot: ${join(shots, 'try.png')}`);
  }, 60_000);

  it('logged no console error and no page error', () => {
    expect(consoleErrors).toEqual([]);
  });
});

describe('/api/dashboard keys', () => {
  const USER = 'dash-user-key-0123456789';
  const ADMIN = 'dash-admin-key-0123456789';
  const server = (requireKey: boolean) =>
    buildServer({
      detectors: () => Promise.reject(new Error('no detectors in this test')),
      queue: new InferenceQueue(),
      apiKeys: [{ sha256: sha256Hex(USER) }, { sha256: sha256Hex(ADMIN), admin: true }],
      env: {},
      plugins: [
        dashboardPlugin({
          device: 'keys',
          version: '0',
          cameras: () => new Map(),
          health: () => ({ status: 'ok', device: 'keys', uptimeSeconds: 1, cameras: {}, mqtt: { connected: true, buffered: 0, dropped: 0 }, queue: { running: 0, waiting: 0, rejected: 0 } }),
          models: () => [],
          events: () => [],
          lang: 'en',
          requireKey,
          admin: () => ({ secretish: 'admin only' }),
        }),
      ],
    });

  it('needs a key when require_key_for_cameras is on; admin details go to admin keys only; the page itself is public', async () => {
    const app = server(true);
    try {
      expect((await app.inject({ url: '/api/dashboard' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/api/dashboard', headers: { authorization: 'Bearer wrong-key-0123456789' } })).statusCode).toBe(401);
      const user = await app.inject({ url: '/api/dashboard', headers: { authorization: `Bearer ${USER}` } });
      expect(user.statusCode).toBe(200);
      expect(user.json().admin).toBeUndefined();
      const admin = await app.inject({ url: `/api/dashboard?apikey=${ADMIN}` });
      expect(admin.json().admin).toEqual({ secretish: 'admin only' });
      const index = await app.inject({ url: '/' });
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(index.headers['content-security-policy']).toContain("default-src 'self'");
      expect(index.body).not.toMatch(/https?:\/\//);
      expect((await app.inject({ url: '/dashboard/app.js' })).headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect((await app.inject({ url: '/dashboard/..%2Fplugin.ts' })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('answers without a key when the cameras are open, and still checks a key that is sent', async () => {
    const app = server(false);
    try {
      expect((await app.inject({ url: '/api/dashboard' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/api/dashboard', headers: { apikey: 'wrong-key-0123456789' } })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

