/**
 * config `models`: which detector each task runs reaches the daemon's detectors, for the HTTP API as for cameras.
 * Real daemons (real models, embedded broker, HTTP on 127.0.0.1), real photos.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon.ts';
import { setLogSink } from '../../src/log.ts';

const logs: Record<string, unknown>[] = [];
setLogSink((line) => {
  logs.push(JSON.parse(line) as Record<string, unknown>);
  if (logs.length > 5000) logs.splice(0, 1000);
});

const KEY = 'models-config-test-key-0123456789';
const DEMO = join(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo');
const TEAM = readFileSync(join(DEMO, 'sample1.jpg'));
const started: Daemon[] = [];
let defaultUrl = '';
type Tags = { results: { tags: { name: string; value: string }[] } };

afterAll(async () => {
  await Promise.all(started.map((d) => d.stop()));
}, 30_000);

async function startDaemon(device: string, models?: Record<string, unknown>): Promise<{ url: string; ready: Record<string, unknown>[] }> {
  const text = JSON.stringify({
    device,
    mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
    http: { host: '127.0.0.1', port: 0 },
    api_keys: [{ env: 'MODELS_TEST_KEY' }],
    ...(models ? { models } : {}),
  });
  const daemon = new Daemon(loadConfig({ text, env: { MODELS_TEST_KEY: KEY } }));
  started.push(daemon);
  const from = logs.length;
  const endpoints = await daemon.start();
  const ready = logs.slice(from).filter((l) => typeof l.msg === 'string' && (l.msg as string).endsWith('detector ready'));
  return { url: endpoints.httpUrl!, ready };
}

async function post(base: string, path: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append('apikey', KEY);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append(path === '/recog' ? 'file' : 'imagef', new Blob([TEAM], { type: 'image/jpeg' }), 'team.jpg');
  const response = await fetch(`${base}${path}`, { method: 'POST', body: form });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('config models', () => {
  it('by default runs the int8 face copy and loads no objects detector until one is needed', async () => {
    const { url, ready } = await startDaemon('models-default');
    defaultUrl = url;
    expect(ready.map((l) => [l.msg, l.model])).toEqual([['face detector ready', 'ssd-mobilenetv1-face.int8']]);
    const face = await post(url, '/raypackfacev3', { mode: 'json', threshold: '0.5' });
    expect(face.status).toBe(200);
    expect(face.body.totalfaces).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('models.face.variant fp32 and models.objects.model centernet reach the API, and the objects model loads at start', async () => {
    const { url, ready } = await startDaemon('models-chosen', { face: { variant: 'fp32' }, objects: { model: 'centernet' } });
    expect(ready.map((l) => [l.msg, l.model])).toEqual([
      ['face detector ready', 'ssd-mobilenetv1-face'],
      ['objects detector ready', 'centernet'],
    ]);
    const face = await post(url, '/raypackfacev3', { mode: 'json', threshold: '0.5' });
    expect(face.body.totalfaces).toBeGreaterThanOrEqual(3);
    // The same photo through both daemons: both see the people, with the scores of different networks
    // (CenterNet here, NanoDet in the default daemon), so the configured model is the one that answered.
    const fields = { model: '1', threshold: '0.3', lang: 'en' };
    const [chosen, byDefault] = [await post(url, '/recog', fields), await post(defaultUrl, '/recog', fields)];
    expect([chosen.status, byDefault.status]).toEqual([200, 200]);
    const tags = (r: { body: unknown }): string[] => (r.body as Tags).results.tags.map((t) => `${t.name} ${t.value}`);
    expect(tags(chosen).some((t) => t.startsWith('person '))).toBe(true);
    expect(tags(byDefault).some((t) => t.startsWith('person '))).toBe(true);
    expect(tags(chosen)).not.toEqual(tags(byDefault));
  }, 120_000);
});
