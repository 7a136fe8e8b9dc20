/**
 * Parity of every converted tfjs-graph model with the original tfjs model (CPU backend) on a real photo:
 * face-api's demo sample resized to the model input, normalised per the manifest, fed to both; every output
 * compared. Reports the largest absolute and relative (to the output's largest magnitude) difference.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { listManifests, type ModelManifest } from '../../src/detect/manifest.ts';
import { modelSource } from '../../scripts/build-models.ts';
import { compare, loadTfjsFromDisk, runOnnx, tf, type Diff } from './harness.ts';

const require = createRequire(import.meta.url);
const SAMPLES = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const TOLERANCE = 1e-3;

/** RGB photo stretched to the model input, (pixel - mean) / std, as NHWC and NCHW float32. */
async function photoInput(m: ModelManifest, file: string): Promise<{ nhwc: Float32Array; nchw: Float32Array }> {
  const { width: w, height: h, mean, std } = m.input;
  const rgb = await sharp(join(SAMPLES, file)).removeAlpha().resize(w, h, { fit: 'fill' }).raw().toBuffer();
  const nhwc = new Float32Array(w * h * 3);
  const nchw = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (rgb[i * 3 + c] - mean[c]) / std[c];
      nhwc[i * 3 + c] = v;
      nchw[c * w * h + i] = v;
    }
  }
  return { nhwc, nchw };
}

const report: string[] = [];
const models = listManifests()
  .filter((m) => m.source.format === 'tfjs-graph')
  .sort((a, b) => a.id.localeCompare(b.id));

describe('converted models match tfjs on a real photo', () => {
  afterAll(() => {
    console.log(`parity (max abs / max rel to the output's largest |value|):\n${report.join('\n')}`);
  });

  it('finds the manifests', () => {
    expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['blazeface-back', 'facemesh-detection-full', 'centernet', 'nanodet']));
  });

  for (const m of models) {
    it(`${m.id}`, async () => {
      const convert = m.convert!;
      const { graph, options } = await modelSource(m).load();
      const { convertTfGraph } = await import('../../scripts/tfjs2onnx/convert.ts');
      const bytes = convertTfGraph(graph, options);
      const photo = await photoInput(m, m.task === 'face' ? 'sample1.jpg' : 'sample2.jpg');
      const dims = [1, 3, m.input.height, m.input.width];
      const onnxOut = await runOnnx(bytes, { [m.input.name]: { data: photo.nchw, dims } });

      const model = await loadTfjsFromDisk(join(dirname(require.resolve(`${m.source.package}/package.json`)), m.source.path));
      const nchwInput = convert.tfInputLayout === 'NCHW';
      let x = tf.tensor(nchwInput ? photo.nchw : photo.nhwc, nchwInput ? dims : [1, m.input.height, m.input.width, 3]);
      if (convert.tfInputChannelOrder === 'BGR') {
        // The ONNX model takes RGB and swaps channels itself; the tfjs model wants BGR directly.
        const bgr = tf.reverse(x, nchwInput ? 1 : 3);
        x.dispose();
        x = bgr;
      }
      const result = model.execute({ [convert.tfInput]: x }, [...convert.tfOutputs]);
      const refs = Array.isArray(result) ? result : [result];
      const diffs: Diff[] = [];
      m.outputs.forEach((name, k) => {
        const got = onnxOut[name];
        expect(got.dims).toEqual(refs[k].shape);
        const d = compare(refs[k].dataSync() as Float32Array, got.data as Float32Array);
        diffs.push(d);
        report.push(`  ${m.id} ${name} [${got.dims.join(',')}]: max abs ${d.maxAbs.toExponential(2)}, max rel ${d.maxRel.toExponential(2)} (|ref| max ${d.refMax.toPrecision(4)})`);
      });
      tf.dispose([x, ...refs]);
      model.dispose();
      for (const d of diffs) expect(d.maxRel).toBeLessThan(TOLERANCE);
    });
  }
});
