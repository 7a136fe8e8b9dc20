/**
 * Parity of converted tfjs-graph models with the original tfjs model (CPU backend) on a real photo: face-api's
 * demo sample resized to the model input, normalised per the manifest, fed to both; every output compared.
 * Reports the largest absolute and relative (to the output's largest magnitude) difference. The face and object
 * models are two test files so vitest's two workers run them side by side.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { listManifests, type ModelManifest } from '../../src/detect/manifest.ts';
import { modelSource } from '../../scripts/build-models.ts';
import { convertTfGraph } from '../../scripts/tfjs2onnx/convert.ts';
import { compare, loadTfjsFromDisk, runOnnx, tf, type Diff } from './harness.ts';

const require = createRequire(import.meta.url);
const SAMPLES = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
export const PARITY_TOLERANCE = 1e-3;

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

/** Converts `m`, runs it and the tfjs original on `photo`, returns one Diff per output (and logs them). */
export async function parityOf(m: ModelManifest, photo: string, report: string[]): Promise<Diff[]> {
  const convert = m.convert!;
  const { graph, options } = await modelSource(m).load();
  const bytes = convertTfGraph(graph, options);
  const input = await photoInput(m, photo);
  const dims = [1, 3, m.input.height, m.input.width];
  const onnxOut = await runOnnx(bytes, { [m.input.name]: { data: input.nchw, dims } });

  const model = await loadTfjsFromDisk(join(dirname(require.resolve(`${m.source.package}/package.json`)), m.source.path));
  const nchwInput = convert.tfInputLayout === 'NCHW';
  let x = tf.tensor(nchwInput ? input.nchw : input.nhwc, nchwInput ? dims : [1, m.input.height, m.input.width, 3]);
  if (model.inputs[0]?.dtype === 'int32') {
    // An int32 placeholder (MoveNet): tfjs takes the integer pixels, the ONNX model the same values as float32.
    const ints = tf.cast(x, 'int32');
    x.dispose();
    x = ints;
  }
  if (convert.tfInputChannelOrder === 'BGR') {
    // The ONNX model takes RGB and swaps channels itself; the tfjs model wants BGR directly.
    const bgr = tf.reverse(x, nchwInput ? 1 : 3);
    x.dispose();
    x = bgr;
  }
  const result = model.execute({ [convert.tfInput]: x }, [...convert.tfOutputs]);
  const refs = Array.isArray(result) ? result : [result];
  const diffs = m.outputs.map((name, k) => {
    const got = onnxOut[name];
    expect(got.dims, name).toEqual(refs[k].shape);
    const d = compare(refs[k].dataSync() as Float32Array, got.data as Float32Array);
    report.push(`  ${m.id} ${name} [${got.dims.join(',')}]: max abs ${d.maxAbs.toExponential(2)}, max rel ${d.maxRel.toExponential(2)} (|ref| max ${d.refMax.toPrecision(4)})`);
    return d;
  });
  tf.dispose([x, ...refs]);
  model.dispose();
  return diffs;
}

/** One test per tfjs-graph manifest of `task`, on `photo`. */
export function paritySuite(task: 'face' | 'objects', photo: string, expected: readonly string[]): void {
  const models = listManifests()
    .filter((m) => m.source.format === 'tfjs-graph' && (m.task === task || (task === 'objects' && m.task === 'food')))
    .sort((a, b) => a.id.localeCompare(b.id));
  const report: string[] = [];
  describe(`converted ${task} models match tfjs on a real photo (${photo})`, () => {
    afterAll(() => {
      console.log(`parity (max abs / max rel to the output's largest |value|):\n${report.join('\n')}`);
    });

    it('finds the manifests', () => {
      expect(models.map((m) => m.id)).toEqual(expect.arrayContaining([...expected]));
    });

    for (const m of models) {
      it(m.id, async () => {
        const diffs = await parityOf(m, photo, report);
        diffs.forEach((d, k) => expect(d.maxRel, m.outputs[k]).toBeLessThan(PARITY_TOLERANCE));
      });
    }
  });
}
