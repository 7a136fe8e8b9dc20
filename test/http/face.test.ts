/** POST /raypackfacev3 through inject() with the real face detector; image answers checked by their pixels. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/core/image.ts';
import { expandWithMargin } from '../../src/core/geometry.ts';
import { strokeWidth } from '../../src/image/anonymize.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { INT8_SAME_FACE_IOU } from '../helpers/box-agreement.ts';
import { KEY, closeDetectors, iou, postForm, realDetectors, sample, testServer, type Part } from './helpers.ts';

let app: FastifyInstance;
let images: Server;
let imagesPort = 0;
const photo = sample(1);
let original: RgbImage;
/** What the detector itself finds in sample1 at 0.5, as [x, y, w, h]. */
let expected: number[][];

beforeAll(async () => {
  images = createServer((req, res) => {
    if (req.url === '/sample1.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      return res.end(photo);
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imagesPort = (images.address() as AddressInfo).port;
  app = testServer({ fetch: { allow: ['127.0.0.1/32'] } });
  original = await decodeImage(photo);
  const detector = await realDetectors('face');
  expected = (await detector.detect(original, { threshold: 0.5 })).filter((d) => d.score >= 0.5).map((d) => [...d.box]);
});

afterAll(async () => {
  await app.close();
  images.closeAllConnections();
  await new Promise((resolve) => images.close(resolve));
  await closeDetectors();
});

const upload = (data = photo, filename = 'photo.jpg'): Part => ({ filename, data });
const face = (fields: [string, Part][], headers?: Record<string, string>) => postForm(app, '/raypackfacev3', [['apikey', KEY], ...fields], headers);

interface FaceJson {
  totalfaces: number;
  time: number;
  faces: { xpos: number; ypos: number; width: number; height: number; score: number }[];
  image?: string;
  imagetype?: string;
}

function pixel(image: RgbImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 3;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}
const near = (a: number[], b: readonly number[], tolerance: number) => a.every((v, i) => Math.abs(v - b[i]) <= tolerance);

async function facesIn(jpeg: Buffer, threshold: number): Promise<number[][]> {
  const detector = await realDetectors('face');
  return (await detector.detect(await decodeImage(jpeg), { threshold })).map((d) => [...d.box]);
}

describe('mode=json', () => {
  it('answers exactly {totalfaces,time,faces[{xpos,ypos,width,height,score}]} in integer pixels of the original', async () => {
    const r = await face([['threshold', '0.5'], ['imagef', upload()], ['mode', 'json'], ['facemode', 'default'], ['hex', '00ff00']]);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json() as FaceJson;
    expect(Object.keys(body)).toEqual(['totalfaces', 'time', 'faces']);
    expect(body.totalfaces).toBe(expected.length);
    expect(body.totalfaces).toBeGreaterThanOrEqual(3);
    expect(body.time).toBeGreaterThan(0);
    expect(body.time).toBeLessThan(30);
    for (const f of body.faces) {
      expect(Object.keys(f)).toEqual(['xpos', 'ypos', 'width', 'height', 'score']);
      for (const k of ['xpos', 'ypos', 'width', 'height'] as const) expect(Number.isInteger(f[k])).toBe(true);
      expect(f.score).toBeGreaterThanOrEqual(0.5);
      expect(f.xpos + f.width).toBeLessThanOrEqual(original.width);
      expect(f.ypos + f.height).toBeLessThanOrEqual(original.height);
      // `expected` comes from a full decode, JSON answers from the reduced one: the int8 default's boxes agree
      // within a step of its uint8 box encodings (test/helpers/box-agreement.ts).
      expect(expected.some((e) => iou(e, [f.xpos, f.ypos, f.width, f.height]) > INT8_SAME_FACE_IOU)).toBe(true);
    }
    expect(body.faces.map((f) => f.score)).toEqual([...body.faces.map((f) => f.score)].sort((a, b) => b - a));
  });

  it('threshold defaults to 0.9 and 1.0 is accepted', async () => {
    const byDefault = (await face([['imagef', upload()], ['mode', 'json']])).json() as FaceJson;
    expect(byDefault.faces.every((f) => f.score >= 0.9)).toBe(true);
    expect(byDefault.totalfaces).toBeLessThanOrEqual(expected.length);
    const strict = await face([['threshold', '1.0'], ['imagef', upload()], ['mode', 'json']]);
    expect(strict.statusCode).toBe(200);
    expect((strict.json() as FaceJson).faces.every((f) => f.score >= 1)).toBe(true);
    const all = (await face([['threshold', '0'], ['imagef', upload()], ['mode', 'json']])).json() as FaceJson;
    expect(all.totalfaces).toBeGreaterThanOrEqual(expected.length);
  });

  it('accepts the upload under `file`, PNG and WebP, and mode=json ignores image facemodes', async () => {
    const png = await sharp(photo).png({ compressionLevel: 1 }).toBuffer();
    const webp = await sharp(photo).webp().toBuffer();
    for (const [data, name, field] of [[photo, 'a.jpg', 'file'], [png, 'a.png', 'imagef'], [webp, 'a.webp', 'imagef']] as const) {
      const r = await face([['threshold', '0.5'], [field, upload(data, name)], ['mode', 'json'], ['facemode', 'fill']]);
      expect(r.statusCode).toBe(200);
      const body = r.json() as FaceJson;
      expect(body.image).toBeUndefined();
      expect(body.totalfaces).toBeGreaterThanOrEqual(expected.length - 1);
    }
  });

  it('fetches an http URL given as imagef (multipart text field and urlencoded) and finds the same faces', async () => {
    const url = `http://127.0.0.1:${imagesPort}/sample1.jpg`;
    const viaMultipart = (await face([['threshold', '0.5'], ['imagef', url], ['mode', 'json']])).json() as FaceJson;
    const viaForm = await app.inject({
      method: 'POST',
      url: '/raypackfacev3',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ apikey: KEY, threshold: '0.5', imagef: url, mode: 'json' }).toString(),
    });
    expect(viaForm.statusCode).toBe(200);
    for (const body of [viaMultipart, viaForm.json() as FaceJson]) {
      expect(body.totalfaces).toBe(expected.length);
    }
    const missing = await face([['imagef', `http://127.0.0.1:${imagesPort}/nothing.jpg`], ['mode', 'json']]);
    expect(missing.statusCode).toBe(422);
    expect(missing.json().error.code).toBe('fetch_failed');
  });
});

describe('image answers, checked by their pixels', () => {
  async function jpegAnswer(fields: [string, Part][]): Promise<{ jpeg: Buffer; image: RgbImage }> {
    const r = await face([['threshold', '0.5'], ['imagef', upload()], ...fields]);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
    const jpeg = r.rawPayload;
    const image = await decodeImage(jpeg);
    expect([image.width, image.height]).toEqual([original.width, original.height]);
    return { jpeg, image };
  }

  it('mode image (the default) and jpg with facemode default: faces outlined in hex, not anonymised', async () => {
    for (const fields of [[], [['mode', 'jpg']], [['mode', 'image'], ['facemode', 'default'], ['hex', '00ff00']]] as [string, Part][][]) {
      const { image } = await jpegAnswer(fields);
      for (const [x, y, w, h] of expected) {
        const cx = Math.round(x + w / 2);
        const cy = Math.round(y + h / 2);
        expect(near(pixel(image, cx, cy), pixel(original, cx, cy), 30)).toBe(true);
        expect(near(pixel(image, Math.round(x) + 1, cy), [0, 255, 0], 60)).toBe(true);
      }
    }
    const { image } = await jpegAnswer([['hex', 'ff00ff']]);
    const [x, y, , h] = expected[0];
    expect(near(pixel(image, Math.round(x) + 1, Math.round(y + h / 2)), [255, 0, 255], 60)).toBe(true);
  });

  it('facemode pixel: our detector finds none of the faces it found before', async () => {
    const { jpeg, image } = await jpegAnswer([['mode', 'jpg'], ['facemode', 'pixel']]);
    const after = await facesIn(jpeg, 0.3);
    expect(expected.filter((e) => after.some((a) => iou(a, e) > 0.3))).toEqual([]);
    // Outside the faces the picture is the original.
    expect(near(pixel(image, 10, 10), pixel(original, 10, 10), 20)).toBe(true);
  });

  it('facemode fill: the face regions, margin included, have the hex colour', async () => {
    const { image } = await jpegAnswer([['facemode', 'fill'], ['hex', '3366cc']]);
    for (const [x, y, w, h] of expected) {
      const region = expandWithMargin({ x, y, width: w, height: h }, original.width, original.height);
      for (const [px, py] of [
        [region.x + 3, region.y + 3],
        [region.x + region.width - 4, region.y + region.height - 4],
        [Math.round(x + w / 2), Math.round(y + h / 2)],
        [Math.round(x + w / 2), Math.round(y - h * 0.2)],
      ]) {
        expect(near(pixel(image, px, py), [0x33, 0x66, 0xcc], 20), `(${px},${py})`).toBe(true);
      }
    }
  });

  it('facemode black: black outside the drawn boxes, the boxes drawn in hex', async () => {
    const { image } = await jpegAnswer([['facemode', 'black'], ['hex', 'ffff00']]);
    const stroke = strokeWidth(original.width, original.height);
    const nearOutline = (px: number, py: number) =>
      expected.some(([x, y, w, h]) => px >= x - 5 && px <= x + w + 5 && py >= y - 5 && py <= y + h + 5 && !(px > x + stroke + 5 && px < x + w - stroke - 5 && py > y + stroke + 5 && py < y + h - stroke - 5));
    let dark = 0;
    for (let py = 0; py < image.height; py += 9) {
      for (let px = 0; px < image.width; px += 9) {
        if (nearOutline(px, py)) continue;
        const [r, g, b] = pixel(image, px, py);
        expect(r + g + b).toBeLessThanOrEqual(24);
        dark += 1;
      }
    }
    expect(dark).toBeGreaterThan(25_000);
    for (const [x, y, w] of expected) expect(near(pixel(image, Math.round(x + w / 2), Math.round(y) + 1), [255, 255, 0], 60)).toBe(true);
  });

  it('facemode jsonimage: the JSON plus a base64 JPEG with pixelated faces in `image`', async () => {
    for (const mode of ['image', 'json']) {
      const r = await face([['threshold', '0.5'], ['imagef', upload()], ['mode', mode], ['facemode', 'jsonimage']]);
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      const body = r.json() as FaceJson;
      expect(Object.keys(body)).toEqual(['totalfaces', 'time', 'faces', 'image', 'imagetype']);
      expect(body.totalfaces).toBe(expected.length);
      expect(body.imagetype).toBe('image/jpeg');
      const jpeg = Buffer.from(body.image!, 'base64');
      expect(jpeg.subarray(0, 3).toString('hex')).toBe('ffd8ff');
      const after = await facesIn(jpeg, 0.3);
      expect(expected.filter((e) => after.some((a) => iou(a, e) > 0.3))).toEqual([]);
    }
  });
});

describe('privacy first', () => {
  it('a strict threshold limits the faces reported, not the faces anonymised', async () => {
    // A threshold between the best and the second-best face's score: only the best one is reported.
    const scores = ((await face([['threshold', '0.5'], ['imagef', upload()], ['mode', 'json']])).json() as FaceJson).faces.map((f) => f.score);
    const strict = ((scores[0] + scores[1]) / 2).toFixed(6);
    const r = await face([['threshold', strict], ['imagef', upload()], ['facemode', 'jsonimage']]);
    const body = r.json() as FaceJson;
    expect(body.totalfaces).toBe(1);
    const after = await facesIn(Buffer.from(body.image!, 'base64'), 0.3);
    expect(expected.filter((e) => after.some((a) => iou(a, e) > 0.3))).toEqual([]);
    // Outlines (facemode=default) show only what is reported.
    const outlined = await decodeImage((await face([['threshold', strict], ['imagef', upload()]])).rawPayload);
    const unreported = expected.filter((e) => !body.faces.some((f) => iou(e, [f.xpos, f.ypos, f.width, f.height]) > 0.9));
    expect(unreported.length).toBeGreaterThan(0);
    for (const [x, y, , h] of unreported) expect(near(pixel(outlined, Math.round(x) + 1, Math.round(y + h / 2)), [0, 255, 0], 60)).toBe(false);
  });
});

describe('every mode x facemode combination', () => {
  const combos = ['json', 'jpg', 'image'].flatMap((mode) => ['default', 'pixel', 'fill', 'black', 'jsonimage'].map((facemode) => [mode, facemode]));

  it.each(combos)('mode=%s facemode=%s', async (mode, facemode) => {
    const r = await face([['threshold', '0.5'], ['imagef', upload()], ['mode', mode], ['facemode', facemode], ['hex', 'ff0000']]);
    expect(r.statusCode).toBe(200);
    if (facemode === 'jsonimage' || mode === 'json') {
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      const body = r.json() as FaceJson;
      expect(body.totalfaces).toBe(expected.length);
      expect(body.image !== undefined).toBe(facemode === 'jsonimage');
      return;
    }
    expect(r.headers['content-type']).toBe('image/jpeg');
    const image = await decodeImage(r.rawPayload);
    expect([image.width, image.height]).toEqual([original.width, original.height]);
    for (const [x, y, w, h] of expected) {
      const cx = Math.round(x + w / 2);
      const cy = Math.round(y + h / 2);
      const centre = pixel(image, cx, cy);
      if (facemode === 'default') expect(near(centre, pixel(original, cx, cy), 30)).toBe(true);
      if (facemode === 'fill') expect(near(centre, [255, 0, 0], 30)).toBe(true);
      if (facemode === 'black') expect(near(centre, [0, 0, 0], 12)).toBe(true);
      if (facemode === 'pixel') {
        // Inside one mosaic cell (the region's top-left one is at least a quarter of the region) all pixels agree.
        const region = expandWithMargin({ x, y, width: w, height: h }, original.width, original.height);
        const px = region.x + Math.floor(region.width / 8);
        const py = region.y + Math.floor(region.height / 8);
        expect(near(pixel(image, px, py), pixel(image, px + 6, py + 6), 12)).toBe(true);
        expect(near(pixel(image, px, py), pixel(original, px, py), 3) && near(pixel(image, px + 6, py + 6), pixel(original, px + 6, py + 6), 3)).toBe(false);
      }
    }
  });
});

describe('parameters refused with 400 naming them', () => {
  it.each([
    ['threshold', '1.01'],
    ['threshold', 'abc'],
    ['mode', 'gif'],
    ['facemode', 'blur'],
    ['hex', 'red'],
  ])('%s=%s', async (name, value) => {
    const r = await face([[name, value], ['imagef', upload()]]);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('bad_parameter');
    expect(r.json().error.message.startsWith(name)).toBe(true);
  });

  it('no image at all', async () => {
    const r = await face([['mode', 'json']]);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toMatch(/^imagef/);
    const notUrl = await face([['imagef', 'ftp://example.com/a.jpg']]);
    expect(notUrl.statusCode).toBe(400);
    expect(notUrl.json().error.message).toMatch(/^imagef/);
  });
});
