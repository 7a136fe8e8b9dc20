/** POST /recog through inject() with the real object/food detectors. */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COCO_DE, COCO_EN, FOOD_CLASS_IDS } from '../../src/detect/labels.ts';
import type { Task } from '../../src/detect/types.ts';
import { detectionDecodeOptions } from '../../src/detect/registry.ts';
import { decodeForDetection } from '../../src/image/decode.ts';
import { DATA, KEY, closeDetectors, postForm, realDetectors, testServer } from './helpers.ts';

const COCO = join(DATA, 'coco/val2017-a/images');
const tennis = readFileSync(join(COCO, '000000001000.jpg')); // people with tennis rackets
const apples = readFileSync(join(COCO, '000000002149.jpg')); // apples and an orange

let app: FastifyInstance;
let images: Server;
let imagesPort = 0;

beforeAll(async () => {
  images = createServer((req, res) => {
    if (req.url === '/apples.jpg') return res.end(apples);
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imagesPort = (images.address() as AddressInfo).port;
  app = testServer({ fetch: { allow: ['127.0.0.1'] } });
});

afterAll(async () => {
  await app.close();
  images.closeAllConnections();
  await new Promise((resolve) => images.close(resolve));
  await closeDetectors();
});

interface Container {
  name: string;
  version: string;
  license: string;
  results: {
    stats: { modelname: string; modelid: string; originalfile: string; starttime: number; endtime: number; duration: number };
    tags: { name: string; value: string }[];
  };
}

/**
 * What the tags must be, computed from the detector directly: best score per label >= threshold, highest first.
 * The route decodes only as large as the detector needs (decodeForDetection), so the reference does the same.
 */
async function expectedTags(bytes: Buffer, task: Task, threshold: number, lang: 'de' | 'en'): Promise<{ name: string; value: string }[]> {
  const detector = await realDetectors(task);
  const decoded = await decodeForDetection(bytes, detectionDecodeOptions(detector));
  const detections = await detector.detect(decoded.image, { threshold });
  const best = new Map<number, number>();
  for (const d of detections) if (d.score >= threshold) best.set(d.classId!, Math.max(best.get(d.classId!) ?? 0, d.score));
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([id, score]) => ({ name: (lang === 'de' ? COCO_DE : COCO_EN)[id], value: score.toFixed(8) }));
}

const recog = (fields: [string, string | { filename: string; data: Buffer }][]) => postForm(app, '/recog', [['apikey', KEY], ...fields]);

describe('model=1 (objects)', () => {
  it('answers the Raypack_AI_Filecontainer with German tags by default', async () => {
    const before = Date.now();
    const r = await recog([['threshold', '0.3'], ['file', { filename: 'tennis.jpg', data: tennis }], ['model', '1']]);
    const after = Date.now();
    expect(r.statusCode).toBe(200);
    const body = r.json() as Container;
    expect(Object.keys(body)).toEqual(['name', 'version', 'license', 'results']);
    expect(body).toMatchObject({ name: 'Raypack_AI_Filecontainer', version: '1.0', license: 'commercial' });
    const { stats, tags } = body.results;
    expect(Object.keys(stats)).toEqual(['modelname', 'modelid', 'originalfile', 'starttime', 'endtime', 'duration']);
    expect(stats).toMatchObject({ modelname: 'Raypack_Objects', modelid: '1', originalfile: 'tennis.jpg' });
    expect(stats.starttime).toBeGreaterThanOrEqual(before);
    expect(stats.endtime).toBeLessThanOrEqual(after);
    expect(stats.duration).toBeCloseTo((stats.endtime - stats.starttime) / 1000, 3);
    expect(tags).toEqual(await expectedTags(tennis, 'objects', 0.3, 'de'));
    expect(tags.map((t) => t.name)).toContain('Person');
    expect(new Set(tags.map((t) => t.name)).size).toBe(tags.length);
    for (const t of tags) expect(t.value).toMatch(/^[01]\.\d{8}$/);
  });

  it('lang=en gives English names for the same tags', async () => {
    const r = await recog([['threshold', '0.3'], ['file', { filename: 'tennis.jpg', data: tennis }], ['model', '1'], ['lang', 'en']]);
    const tags = (r.json() as Container).results.tags;
    expect(tags).toEqual(await expectedTags(tennis, 'objects', 0.3, 'en'));
    expect(tags.map((t) => t.name)).toContain('person');
  });

  it('threshold 1.0 is accepted; the default is 0.9', async () => {
    const strict = await recog([['threshold', '1.0'], ['file', { filename: 'tennis.jpg', data: tennis }], ['model', '1'], ['lang', 'de']]);
    expect(strict.statusCode).toBe(200);
    expect((strict.json() as Container).results.tags.every((t) => Number(t.value) >= 1)).toBe(true);
    const byDefault = (await recog([['file', { filename: 'tennis.jpg', data: tennis }], ['model', '1']])).json() as Container;
    expect(byDefault.results.tags).toEqual(await expectedTags(tennis, 'objects', 0.9, 'de'));
  });
});

describe('model=2 (food)', () => {
  it('reports only food, as Raypack_Food', async () => {
    const r = await recog([['threshold', '0.3'], ['file', { filename: 'apples.jpg', data: apples }], ['model', '2'], ['lang', 'de']]);
    const body = r.json() as Container;
    expect(body.results.stats).toMatchObject({ modelname: 'Raypack_Food', modelid: '2' });
    expect(body.results.tags).toEqual(await expectedTags(apples, 'food', 0.3, 'de'));
    expect(body.results.tags.map((t) => t.name)).toContain('Apfel');
    const foodNames = new Set([...FOOD_CLASS_IDS].map((id) => COCO_DE[id]));
    for (const t of body.results.tags) expect(foodNames.has(t.name)).toBe(true);
    const tennisAsFood = (await recog([['threshold', '0.3'], ['file', { filename: 't.jpg', data: tennis }], ['model', '2']])).json() as Container;
    expect(tennisAsFood.results.tags.map((t) => t.name)).not.toContain('Person');
  });

  it('fetches a URL given as file and echoes it as originalfile', async () => {
    const url = `http://127.0.0.1:${imagesPort}/apples.jpg`;
    const viaMultipart = (await recog([['threshold', '0.3'], ['file', url], ['model', '2'], ['lang', 'en']])).json() as Container;
    expect(viaMultipart.results.stats.originalfile).toBe(url);
    expect(viaMultipart.results.tags.map((t) => t.name)).toContain('apple');
    const viaForm = await app.inject({
      method: 'POST',
      url: '/recog',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ apikey: KEY, threshold: '0.3', file: url, model: '2', lang: 'en' }).toString(),
    });
    expect((viaForm.json() as Container).results.tags).toEqual(viaMultipart.results.tags);
  });
});

describe('parameters refused with 400 naming them', () => {
  const cases: [string, [string, string][], string][] = [
    ['unknown model', [['model', '3']], 'model'],
    ['missing model', [], 'model'],
    ['unknown lang', [['model', '1'], ['lang', 'fr']], 'lang'],
    ['threshold above 1', [['model', '1'], ['threshold', '1.5']], 'threshold'],
  ];
  it.each(cases)('%s', async (_title, fields, name) => {
    const r = await recog([...fields, ['file', { filename: 'a.jpg', data: apples }]]);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message.startsWith(name)).toBe(true);
  });
});
