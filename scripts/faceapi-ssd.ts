/**
 * face-api's SSD MobileNetV1 face detector (trained on WIDER FACE) expressed as a TfGraph for our tfjs→ONNX
 * converter. face-api ships only weights (`model/ssd_mobilenetv1_model.bin` + weights manifest); the architecture
 * lives in its code (src/ssdMobilenetv1/*.ts of @vladmandic/face-api 1.7). This file rebuilds that code node by node:
 *
 * - mobileNetV1.ts: conv_0 = 3x3 conv stride 2 + bias + relu6; conv_1..13 = depthwise 3x3 (stride 2 at 2, 4, 6, 12)
 *   + batch norm (eps 0.001) + relu6, then pointwise 1x1 conv + bias + relu6; conv_11's output is kept.
 * - predictionLayer.ts: 8 extra pointwise layers (3x3 stride 2 at 1, 3, 5, 7), box predictors 0..5 on
 *   conv_11 (32x32), conv_13 (16x16), pred conv_1 (8x8), conv_3 (4x4), conv_5 (2x2), conv_7 (1x1).
 * - boxPredictionLayer.ts: 1x1 conv + bias for box encodings (reshaped [1,-1,4]) and class logits ([1,-1,3]),
 *   concatenated over the six predictors: 32*32*3 + (16*16 + 8*8 + 4*4 + 2*2 + 1)*6 = 5118 anchors.
 * - outputLayer.ts: sigmoid on the class logits is kept in the graph; the box decoding against the anchors
 *   (`Output/extra_dim`), NMS and rescaling are face-api's JS post-processing and live in src/detect/decoders/ssd.ts.
 *
 * The batch norm of each depthwise layer is folded into its filter and a bias (k = gamma / sqrt(var + eps),
 * w' = w * k, b = beta - mean * k), the exact algebra of tfjs's batchNorm kernel, so every conv is a tfjs-style
 * fused conv with `BiasAdd` followed by `Relu6`: the node forms the converter already needs for tfjs graph models.
 * Input: NHWC [1,512,512,3] already normalised to -1..1 (face-api: x / 127.5 - 1; the manifest's mean/std).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeWeights } from './tfjs2onnx/load.ts';
import type { TfGraph, TfNode, TfTensor } from './tfjs2onnx/types.ts';

export const INPUT_NAME = 'image';
export const INPUT_SIZE = 512;
export const OUTPUT_NAMES = ['box_encodings', 'class_scores'] as const;

/** mobileNetV1.ts: `epsilon` of its batchNorm calls (0.001 as float32). */
const BATCH_NORM_EPSILON = 0.0010000000474974513;
const MODEL_NAME = 'ssd_mobilenetv1_model';

interface WeightsManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string; scale?: number; min?: number } }[];
}

export interface FaceApiSsdBuild {
  graph: TfGraph;
  inputs: [{ name: string; shape: number[] }];
  outputs: string[];
  outputNames: string[];
}

/** The installed @vladmandic/face-api's `model/` folder. */
export function faceApiModelDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** Reads and dequantizes (uint8 affine, as tfjs-core's decodeWeights) face-api's SSD weights. */
export function loadFaceApiSsdWeights(modelDir = faceApiModelDir()): Map<string, TfTensor> {
  const manifestPath = join(modelDir, `${MODEL_NAME}-weights_manifest.json`);
  const groups = JSON.parse(readFileSync(manifestPath, 'utf8')) as WeightsManifestGroup[];
  const specs: WeightsManifestGroup['weights'] = [];
  const shards: Uint8Array[] = [];
  for (const group of groups) {
    for (const path of group.paths) shards.push(readFileSync(join(modelDir, path)));
    specs.push(...group.weights);
  }
  // A plain Uint8Array that owns its memory: a pooled Node Buffer's `.slice().buffer` would be the whole pool.
  return decodeWeights(specs, new Uint8Array(Buffer.concat(shards)));
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const FLOAT = { type: 'DT_FLOAT' };
const INT32 = { type: 'DT_INT32' };

function convAttrs(strides: number, depthwise: boolean): Record<string, unknown> {
  return {
    T: FLOAT,
    strides: { list: { i: ['1', String(strides), String(strides), '1'] } },
    padding: { s: b64('SAME') },
    data_format: { s: b64('NHWC') },
    dilations: { list: { i: ['1', '1', '1', '1'] } },
    explicit_paddings: { list: {} },
    fused_ops: { list: { s: [b64('BiasAdd')] } },
    num_args: { i: '1' },
    epsilon: { f: 0 },
    ...(depthwise ? {} : { use_cudnn_on_gpu: { b: true } }),
  };
}

/** Collects nodes and Const values in tfjs model.json form. */
class GraphBuilder {
  readonly nodes: TfNode[] = [];
  readonly weights = new Map<string, TfTensor>();

  constructor(private readonly source: ReadonlyMap<string, TfTensor>) {}

  weight(name: string): TfTensor {
    const t = this.source.get(name);
    if (!t) throw new Error(`face-api SSD weight missing: ${name}`);
    return t;
  }

  constant(tensor: TfTensor): string {
    const dtype = tensor.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    this.nodes.push({
      name: tensor.name,
      op: 'Const',
      input: [],
      attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: { dim: tensor.shape.map((s) => ({ size: String(s) })) } } } },
    });
    this.weights.set(tensor.name, tensor);
    return tensor.name;
  }

  /** A Const straight from face-api's weights. */
  weightConst(name: string): string {
    return this.weights.has(name) ? name : this.constant(this.weight(name));
  }

  /** An int32 Const; a scalar when `values` is a number (ConcatV2's axis), else a vector (Reshape's shape). */
  int32Const(name: string, values: number | number[]): string {
    const shape = Array.isArray(values) ? [values.length] : [];
    const data = Int32Array.from(Array.isArray(values) ? values : [values]);
    return this.weights.has(name) ? name : this.constant({ name, dtype: 'int32', shape, data });
  }

  op(name: string, op: string, input: string[], attr: Record<string, unknown>): string {
    this.nodes.push({ name, op, input, attr });
    return name;
  }

  /** Conv (or depthwise conv) + bias, as a tfjs fused node; `relu6` appends a Relu6 node. */
  conv(name: string, x: string, filter: string, bias: string, strides: number, opts: { depthwise?: boolean; relu6: boolean }): string {
    const depthwise = opts.depthwise === true;
    const op = depthwise ? 'FusedDepthwiseConv2dNative' : '_FusedConv2D';
    const out = this.op(`${name}/BiasAdd`, op, [x, filter, bias], convAttrs(strides, depthwise));
    return opts.relu6 ? this.op(`${name}/Relu6`, 'Relu6', [out], { T: FLOAT }) : out;
  }

  /** pointwiseConvLayer.ts: conv2d 'same' + batch_norm_offset + clip 0..6. */
  pointwise(prefix: string, idx: number, x: string, strides: number): string {
    const base = `${prefix}/Conv2d_${idx}_pointwise`;
    return this.conv(base, x, this.weightConst(`${base}/weights`), this.weightConst(`${base}/convolution_bn_offset`), strides, { relu6: true });
  }

  /** mobileNetV1.ts depthwiseConvLayer: depthwise 'same' + batchNorm + clip 0..6, batch norm folded. */
  depthwise(idx: number, x: string, strides: number): string {
    const base = `MobilenetV1/Conv2d_${idx}_depthwise`;
    const filter = this.weight(`${base}/depthwise_weights`);
    const gamma = this.weight(`${base}/BatchNorm/gamma`).data;
    const beta = this.weight(`${base}/BatchNorm/beta`).data;
    const mean = this.weight(`${base}/BatchNorm/moving_mean`).data;
    const variance = this.weight(`${base}/BatchNorm/moving_variance`).data;
    const channels = gamma.length;
    const k = new Float64Array(channels);
    const bias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      k[c] = gamma[c] / Math.sqrt(variance[c] + BATCH_NORM_EPSILON);
      bias[c] = beta[c] - mean[c] * k[c];
    }
    // depthwise_weights are [3, 3, C, 1]: the channel is the fastest-but-one (multiplier 1) axis.
    const folded = new Float32Array(filter.data.length);
    for (let i = 0; i < folded.length; i++) folded[i] = filter.data[i] * k[i % channels];
    const w = this.constant({ name: `${base}/folded_weights`, dtype: 'float32', shape: filter.shape, data: folded });
    const b = this.constant({ name: `${base}/folded_bias`, dtype: 'float32', shape: [channels], data: bias });
    return this.conv(base, x, w, b, strides, { depthwise: true, relu6: true });
  }

  /** boxPredictionLayer.ts: 1x1 conv + bias for encodings and class logits, reshaped per anchor. */
  boxPredictor(idx: number, x: string): { boxes: string; classes: string } {
    const head = (kind: 'BoxEncodingPredictor' | 'ClassPredictor', width: number): string => {
      const base = `Prediction/BoxPredictor_${idx}/${kind}`;
      const conv = this.conv(base, x, this.weightConst(`${base}/weights`), this.weightConst(`${base}/biases`), 1, { relu6: false });
      const shape = this.int32Const(`${base}/Reshape/shape`, [1, -1, width]);
      return this.op(`${base}/Reshape`, 'Reshape', [conv, shape], { T: FLOAT, Tshape: INT32 });
    };
    return { boxes: head('BoxEncodingPredictor', 4), classes: head('ClassPredictor', 3) };
  }
}

/** mobileNetV1.ts getStridesForLayerIdx. */
const depthwiseStrides = (layerIdx: number): number => ([2, 4, 6, 12].includes(layerIdx) ? 2 : 1);

export function buildFaceApiSsdGraph(weights: ReadonlyMap<string, TfTensor> = loadFaceApiSsdWeights()): FaceApiSsdBuild {
  const g = new GraphBuilder(weights);
  const shape = [1, INPUT_SIZE, INPUT_SIZE, 3];
  g.op(INPUT_NAME, 'Placeholder', [], { dtype: FLOAT, shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } } });

  // mobileNetV1.ts
  let x = g.pointwise('MobilenetV1', 0, INPUT_NAME, 2);
  let conv11 = '';
  for (let layer = 1; layer <= 13; layer++) {
    x = g.depthwise(layer, x, depthwiseStrides(layer));
    x = g.pointwise('MobilenetV1', layer, x, 1);
    if (layer === 11) conv11 = x;
  }

  // predictionLayer.ts
  const pred: string[] = [];
  let p = x;
  for (let i = 0; i <= 7; i++) {
    p = g.pointwise('Prediction', i, p, i % 2 === 1 ? 2 : 1);
    pred.push(p);
  }
  const features = [conv11, x, pred[1], pred[3], pred[5], pred[7]];
  const heads = features.map((f, i) => g.boxPredictor(i, f));
  const axis = g.int32Const('concat/axis', 1);
  const concatAttr = { T: FLOAT, Tidx: INT32, N: { i: String(heads.length) } };
  const boxes = g.op(OUTPUT_NAMES[0], 'ConcatV2', [...heads.map((h) => h.boxes), axis], concatAttr);
  const logits = g.op('class_logits', 'ConcatV2', [...heads.map((h) => h.classes), axis], concatAttr);
  // outputLayer.ts applies the sigmoid to every class column (it then reads column 1, "face"); so do we.
  const scores = g.op(OUTPUT_NAMES[1], 'Sigmoid', [logits], { T: FLOAT });

  return {
    graph: { nodes: g.nodes, weights: g.weights },
    inputs: [{ name: INPUT_NAME, shape }],
    outputs: [boxes, scores],
    outputNames: [...OUTPUT_NAMES],
  };
}
