import { describe, expect, it } from 'vitest';
import { parseFaceParams, parseRecogParams } from '../../src/http/params.ts';
import { RaypackError } from '../../src/errors.ts';

function refusal(fn: () => unknown): RaypackError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RaypackError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parseFaceParams', () => {
  it('applies the RAYPACK defaults', () => {
    expect(parseFaceParams({})).toEqual({ threshold: 0.9, mode: 'image', facemode: 'default', colour: [0, 255, 0], imageUrl: undefined });
    expect(parseFaceParams({ threshold: '', mode: '' }).threshold).toBe(0.9);
  });

  it('reads every parameter, names case-insensitively', () => {
    const p = parseFaceParams({ threshold: '0.5', Mode: 'json', facemode: 'fill', hex: 'FF0080', imagef: 'https://example.com/a.jpg' });
    expect(p).toEqual({ threshold: 0.5, mode: 'json', facemode: 'fill', colour: [255, 0, 128], imageUrl: 'https://example.com/a.jpg' });
    expect(parseFaceParams({ mode: 'jpg' }).mode).toBe('image');
    expect(parseFaceParams({ threshold: '1.0' }).threshold).toBe(1);
    expect(parseFaceParams({ threshold: '0' }).threshold).toBe(0);
    expect(parseFaceParams({ hex: '#00ff00' }).colour).toEqual([0, 255, 0]);
    expect(parseFaceParams({ file: 'http://x/y.png' }).imageUrl).toBe('http://x/y.png');
  });

  it.each([
    [{ threshold: '1.5' }, 'threshold'],
    [{ threshold: '-0.1' }, 'threshold'],
    [{ threshold: 'high' }, 'threshold'],
    [{ mode: 'png' }, 'mode'],
    [{ facemode: 'blur' }, 'facemode'],
    [{ hex: 'green' }, 'hex'],
    [{ hex: '00ff0' }, 'hex'],
  ])('%o is refused naming %s', (fields, parameter) => {
    const error = refusal(() => parseFaceParams(fields));
    expect(error.status).toBe(400);
    expect(error.message.startsWith(parameter)).toBe(true);
  });
});

describe('parseRecogParams', () => {
  it('model 1 = objects, model 2 = food, lang de by default', () => {
    const objects = parseRecogParams({ model: '1' });
    expect(objects.model.task).toBe('objects');
    expect(objects.lang).toBe('de');
    expect(objects.threshold).toBe(0.9);
    const food = parseRecogParams({ model: '2', lang: 'en', threshold: '1.0', file: 'https://x/y.jpg' });
    expect(food).toMatchObject({ lang: 'en', threshold: 1, imageUrl: 'https://x/y.jpg' });
    expect(food.model.modelname).toBe('Raypack_Food');
  });

  it.each([
    [{ model: '3' }, 'model'],
    [{}, 'model'],
    [{ model: '1', lang: 'fr' }, 'lang'],
    [{ model: '1', threshold: '2' }, 'threshold'],
  ])('%o is refused naming %s', (fields, parameter) => {
    const error = refusal(() => parseRecogParams(fields));
    expect(error.status).toBe(400);
    expect(error.message.startsWith(parameter)).toBe(true);
  });
});
