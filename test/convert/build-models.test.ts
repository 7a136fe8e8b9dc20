/**
 * scripts/build-models.ts on a real manifest: deterministic bytes equal to a direct conversion, the stamp skips
 * an up-to-date model, and missing packages or settings fail with a message that names the model and the fix.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onnxPath, readManifest, type ModelManifest } from '../../src/detect/manifest.ts';
import { buildModel, main, modelSource, stampOf } from '../../scripts/build-models.ts';
import { calibrationTablePath, int8OnnxPath as int8Path } from '../../src/detect/manifest.ts';
import { convertTfGraph } from '../../scripts/tfjs2onnx/convert.ts';

describe('build-models', () => {
  const manifest = readManifest('blazeface-front');

  it('builds the ONNX file deterministically, then skips it while the stamp matches', async () => {
    const first = await buildModel(manifest, true);
    expect(first.status).toBe('built');
    const built = readFileSync(onnxPath(manifest.id));
    const { graph, options } = await modelSource(manifest).load();
    expect(Buffer.from(convertTfGraph(graph, options)).equals(built)).toBe(true);
    const second = await buildModel(manifest);
    expect(second.status).toBe('up-to-date');
    expect(readFileSync(onnxPath(manifest.id)).equals(built)).toBe(true);
  });

  it('the stamp depends on the conversion settings, not only on the weights', () => {
    const { files } = modelSource(manifest);
    const other: ModelManifest = { ...manifest, convert: { ...manifest.convert!, tfOutputs: [...manifest.convert!.tfOutputs].reverse() } };
    expect(stampOf(manifest, files)).toBe(stampOf(manifest, files));
    expect(stampOf(other, files)).not.toBe(stampOf(manifest, files));
  });

  it('says which package is missing and how to get it', () => {
    const broken: ModelManifest = { ...manifest, source: { ...manifest.source, package: '@raypack/not-installed' } };
    expect(() => modelSource(broken)).toThrow(/model blazeface-front: npm package @raypack\/not-installed is not installed; run `npm install`/);
  });

  it('says which file is missing', () => {
    const broken: ModelManifest = { ...manifest, source: { ...manifest.source, path: 'models/no-such-model.json' } };
    expect(() => modelSource(broken)).toThrow(/source file .*no-such-model\.json not found/);
  });

  it('rejects a tfjs-graph manifest without conversion settings or with mismatched outputs', () => {
    expect(() => modelSource({ ...manifest, convert: undefined })).toThrow(/needs a `convert` section/);
    expect(() => modelSource({ ...manifest, outputs: ['only_one'] })).toThrow(/convert.tfOutputs has 4 entries but outputs has 1/);
  });

  it('builds int8 copies only for models with a calibration table (models/calibration/<id>.json)', { timeout: 60_000 }, async () => {
    expect(existsSync(calibrationTablePath(manifest.id))).toBe(false);
    expect(existsSync(calibrationTablePath('nanodet'))).toBe(true);
    const before = existsSync(int8Path(manifest.id)) ? statSync(int8Path(manifest.id)).mtimeMs : undefined;
    expect(await main([manifest.id, 'nanodet'])).toBe(0);
    // blazeface-front has no table: its int8 file (if a developer made one) is not touched.
    expect(existsSync(int8Path(manifest.id)) ? statSync(int8Path(manifest.id)).mtimeMs : undefined).toBe(before);
    expect(existsSync(int8Path('nanodet'))).toBe(true);
  });
});
