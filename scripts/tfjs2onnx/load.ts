/**
 * Reads a tfjs graph model (model.json + weight shards) into a TfGraph, dequantizing the weights exactly like
 * tfjs-core's `decodeWeights` (io_utils.ts): float16 through the same lookup tables, uint8/uint16 affine
 * `q * scale + min` computed in double precision and stored as float32 (int32 weights are rounded), shards of
 * all groups concatenated in manifest order with each weight read at the running offset.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TfGraph, TfNode, TfTensor } from './types.ts';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ModelJson {
  modelTopology?: { node?: TfNode[] };
  weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
}

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Float16 → float32 by the tables of http://www.fox-toolkit.org/ftp/fasthalffloatconversion.pdf, as tfjs does. */
function float16Tables(): { mantissa: Uint32Array; exponent: Uint32Array; offset: Uint32Array } {
  const mantissa = new Uint32Array(2048);
  for (let i = 1; i < 1024; i++) {
    let m = i << 13;
    let e = 0;
    while ((m & 0x00800000) === 0) {
      e -= 0x00800000;
      m <<= 1;
    }
    m &= ~0x00800000;
    e += 0x38800000;
    mantissa[i] = m | e;
  }
  for (let i = 1024; i < 2048; i++) mantissa[i] = 0x38000000 + ((i - 1024) << 13);
  const exponent = new Uint32Array(64);
  exponent[31] = 0x47800000;
  exponent[32] = 0x80000000;
  exponent[63] = 0xc7800000;
  for (let i = 1; i < 31; i++) exponent[i] = i << 23;
  for (let i = 33; i < 63; i++) exponent[i] = 0x80000000 + ((i - 32) << 23);
  const offset = new Uint32Array(64).fill(1024);
  offset[0] = 0;
  offset[32] = 0;
  return { mantissa, exponent, offset };
}

let tables: ReturnType<typeof float16Tables> | undefined;

export function decodeFloat16(halfs: Uint16Array): Float32Array {
  tables ??= float16Tables();
  const { mantissa, exponent, offset } = tables;
  const bits = new Uint32Array(halfs.length);
  for (let i = 0; i < halfs.length; i++) {
    const h = halfs[i];
    bits[i] = mantissa[offset[h >> 10] + (h & 0x3ff)] + exponent[h >> 10];
  }
  return new Float32Array(bits.buffer);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Decodes one weight from its bytes (a copy, so the result owns an aligned buffer). */
export function decodeWeight(spec: WeightSpec, bytes: Uint8Array): TfTensor {
  const size = elementCount(spec.shape);
  const copy = (n: number): ArrayBuffer => bytes.slice(0, n).buffer;
  const q = spec.quantization;
  if (q) {
    if (q.dtype === 'float16') {
      if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: float16 quantization needs dtype float32, not ${spec.dtype}`);
      return { name: spec.name, dtype: 'float32', shape: spec.shape, data: decodeFloat16(new Uint16Array(copy(size * 2))) };
    }
    if (q.dtype !== 'uint8' && q.dtype !== 'uint16') throw new Error(`weight ${spec.name}: unknown quantization dtype ${q.dtype}`);
    if (typeof q.scale !== 'number' || typeof q.min !== 'number') throw new Error(`weight ${spec.name}: ${q.dtype} quantization without scale/min`);
    const raw = q.dtype === 'uint8' ? new Uint8Array(copy(size)) : new Uint16Array(copy(size * 2));
    if (spec.dtype === 'float32') {
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = raw[i] * q.scale + q.min;
      return { name: spec.name, dtype: 'float32', shape: spec.shape, data: out };
    }
    if (spec.dtype === 'int32') {
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) out[i] = Math.round(raw[i] * q.scale + q.min);
      return { name: spec.name, dtype: 'int32', shape: spec.shape, data: out };
    }
    throw new Error(`weight ${spec.name}: quantized dtype ${spec.dtype} is not supported`);
  }
  switch (spec.dtype) {
    case 'float32':
      return { name: spec.name, dtype: 'float32', shape: spec.shape, data: new Float32Array(copy(size * 4)) };
    case 'int32':
      return { name: spec.name, dtype: 'int32', shape: spec.shape, data: new Int32Array(copy(size * 4)) };
    case 'bool':
      return { name: spec.name, dtype: 'bool', shape: spec.shape, data: new Uint8Array(copy(size)) };
    default:
      throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not supported`);
  }
}

function weightByteLength(spec: WeightSpec): number {
  const per = BYTES_PER_VALUE[spec.quantization?.dtype ?? spec.dtype];
  if (per === undefined) throw new Error(`weight ${spec.name}: dtype ${spec.quantization?.dtype ?? spec.dtype} is not supported`);
  return elementCount(spec.shape) * per;
}

/** Decodes all weights of a manifest from the concatenation of its shards. */
export function decodeWeights(specs: readonly WeightSpec[], data: Uint8Array): Map<string, TfTensor> {
  const out = new Map<string, TfTensor>();
  let offset = 0;
  for (const spec of specs) {
    const length = weightByteLength(spec);
    if (offset + length > data.length) {
      throw new Error(`weight ${spec.name} needs bytes ${offset}..${offset + length} but the shards hold ${data.length}`);
    }
    out.set(spec.name, decodeWeight(spec, data.subarray(offset, offset + length)));
    offset += length;
  }
  return out;
}

export function loadTfjsGraphModel(jsonPath: string): TfGraph {
  if (!existsSync(jsonPath)) throw new Error(`tfjs model not found: ${jsonPath} (is the npm package installed? run npm install)`);
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as ModelJson;
  const nodes = json.modelTopology?.node;
  if (!Array.isArray(nodes)) throw new Error(`${jsonPath} is not a tfjs graph model (no modelTopology.node)`);
  const specs: WeightSpec[] = [];
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const path of group.paths) {
      const file = join(dirname(jsonPath), path);
      if (!existsSync(file)) throw new Error(`weight shard not found: ${file} (referenced by ${jsonPath})`);
      shards.push(readFileSync(file));
    }
    specs.push(...group.weights);
  }
  const data = Buffer.concat(shards);
  return { nodes, weights: decodeWeights(specs, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
}
