/**
 * Spatial ops (TF NHWC semantics): convolutions (plain, fused, depthwise), pooling, bilinear resize and
 * DepthToSpace. Their inputs are brought to ONNX NCHW (perm [0,3,1,2]) and their outputs stay NCHW.
 */
import { attrBool, attrFloat, attrInt, attrInts, attrString, attrStrings } from './attrs.ts';
import { ConvertError, type ConvertContext, type OpHandler, type Value, dynValue, requireConst, requireDyn } from './context.ts';
import type { AttrValue } from './onnx-builder.ts';
import { NCHW_PERM, type ConstTensor, reshapeConst, scalarOrList, transposeConst } from './tensor.ts';
import type { TfNode } from './types.ts';

interface Window {
  readonly pads: [number, number, number, number]; // ONNX order: top, left, bottom, right
  readonly outH: number;
  readonly outW: number;
}

/**
 * Output size and explicit pads for a TF window op. TF 'SAME' pads total = max((out-1)*s + effK - in, 0)
 * with the odd pixel at the end (bottom/right), which ONNX only expresses through explicit pads.
 */
export function windowPads(node: TfNode, inH: number, inW: number, kH: number, kW: number, sH: number, sW: number, dH = 1, dW = 1): Window {
  const padding = attrString(node, 'padding', 'VALID');
  const effH = (kH - 1) * dH + 1;
  const effW = (kW - 1) * dW + 1;
  if (padding === 'VALID') {
    return { pads: [0, 0, 0, 0], outH: Math.floor((inH - effH) / sH) + 1, outW: Math.floor((inW - effW) / sW) + 1 };
  }
  if (padding === 'SAME') {
    const outH = Math.ceil(inH / sH);
    const outW = Math.ceil(inW / sW);
    const totH = Math.max((outH - 1) * sH + effH - inH, 0);
    const totW = Math.max((outW - 1) * sW + effW - inW, 0);
    const top = Math.floor(totH / 2);
    const left = Math.floor(totW / 2);
    return { pads: [top, left, totH - top, totW - left], outH, outW };
  }
  if (padding === 'EXPLICIT') {
    const e = attrInts(node, 'explicit_paddings');
    if (e.length !== 8) throw new ConvertError(node, `explicit_paddings must have 8 values, got ${e.length}`);
    const [top, bottom, left, right] = [e[2], e[3], e[4], e[5]];
    return { pads: [top, left, bottom, right], outH: Math.floor((inH + top + bottom - effH) / sH) + 1, outW: Math.floor((inW + left + right - effW) / sW) + 1 };
  }
  throw new ConvertError(node, `unsupported padding ${padding}`);
}

function checkNhwc(node: TfNode): void {
  const fmt = attrString(node, 'data_format', 'NHWC');
  if (fmt !== 'NHWC') throw new ConvertError(node, `data_format ${fmt} is not supported (only NHWC)`);
}

/** Emits an activation on an ONNX tensor. */
export function emitActivation(ctx: ConvertContext, kind: string, input: string, hint: string, node: TfNode, alpha?: string): string {
  const b = ctx.b;
  switch (kind) {
    case 'Relu':
      return b.addNode('Relu', [input], hint)[0];
    case 'Relu6':
      return b.addNode('Clip', [input, b.float32Scalar(0), b.float32Scalar(6)], hint)[0];
    case 'Sigmoid':
      return b.addNode('Sigmoid', [input], hint)[0];
    case 'Tanh':
      return b.addNode('Tanh', [input], hint)[0];
    case 'Elu':
      return b.addNode('Elu', [input], hint, { alpha: { float: 1 } })[0];
    case 'LeakyRelu':
      return b.addNode('LeakyRelu', [input], hint, { alpha: { float: attrFloat(node, 'leakyrelu_alpha', 0.2) } })[0];
    case 'Prelu':
      if (!alpha) throw new ConvertError(node, 'Prelu without alpha input');
      return b.addNode('PRelu', [input, alpha], hint)[0];
    default:
      throw new ConvertError(node, `unsupported fused activation ${kind}`);
  }
}

/** Fused ops list → [hasBias, activation | undefined]. */
function fusedOps(node: TfNode): { bias: boolean; activation?: string } {
  const ops = attrStrings(node, 'fused_ops');
  if (ops.length === 0) return { bias: false };
  if (ops[0] !== 'BiasAdd') throw new ConvertError(node, `unsupported fused_ops ${ops.join(',')} (only BiasAdd[,activation])`);
  if (ops.length > 2) throw new ConvertError(node, `unsupported fused_ops ${ops.join(',')}`);
  return { bias: true, activation: ops[1] };
}

function conv(node: TfNode, inputs: readonly Value[], ctx: ConvertContext, depthwise: boolean, fused: boolean): Value[] {
  checkNhwc(node);
  const x = requireDyn(node, inputs[0], 'input', 4);
  const filter = requireConst(node, inputs[1], 'filter');
  if (filter.shape.length !== 4) throw new ConvertError(node, `filter must be 4-D, got [${filter.shape}]`);
  const [kH, kW, fIn, fOut] = filter.shape;
  const [, sH, sW] = attrInts(node, 'strides', [1, 1, 1, 1]);
  const [, dH, dW] = attrInts(node, 'dilations', [1, 1, 1, 1]);
  const [n, inH, inW, cIn] = x.shape;
  const win = windowPads(node, inH, inW, kH, kW, sH, sW, dH, dW);
  let weight: ConstTensor;
  let group: number;
  let cOut: number;
  if (depthwise) {
    // TF depthwise filter [kH,kW,C,M], output channel c*M+m → ONNX grouped conv weight [C*M,1,kH,kW], group C.
    if (fIn !== cIn) throw new ConvertError(node, `depthwise filter expects ${fIn} channels, input has ${cIn}`);
    weight = reshapeConst(transposeConst(filter, [2, 3, 0, 1]), [fIn * fOut, 1, kH, kW]);
    group = cIn;
    cOut = fIn * fOut;
  } else {
    // HWIO → OIHW. A filter with fewer input channels than the input is a grouped convolution.
    weight = transposeConst(filter, [3, 2, 0, 1]);
    if (cIn % fIn !== 0) throw new ConvertError(node, `input channels ${cIn} not a multiple of filter channels ${fIn}`);
    group = cIn / fIn;
    cOut = fOut;
  }
  const xName = ctx.materialize(x, NCHW_PERM, `${node.name}/x`);
  const convInputs = [xName, ctx.b.addInitializer(`${node.name}/weight`, 'float32', weight.shape, weight.data)];
  let activation: string | undefined;
  let alphaName: string | undefined;
  if (fused) {
    const f = fusedOps(node);
    if (f.bias) {
      const bias = requireConst(node, inputs[2], 'bias');
      if (bias.data.length !== cOut) throw new ConvertError(node, `bias has ${bias.data.length} values for ${cOut} channels`);
      convInputs.push(ctx.b.addInitializer(`${node.name}/bias`, 'float32', [cOut], bias.data));
    }
    activation = f.activation;
    if (activation === 'Prelu') {
      const alpha = requireConst(node, inputs[3], 'prelu alpha');
      const a = reshapeConst(alpha, [cOut, 1, 1]);
      alphaName = ctx.b.addInitializer(`${node.name}/alpha`, 'float32', a.shape, a.data);
    }
  }
  const attrs: Record<string, AttrValue> = { kernel_shape: [kH, kW], strides: [sH, sW], dilations: [dH, dW], pads: win.pads, group };
  let out = ctx.b.addNode('Conv', convInputs, activation ? `${node.name}/conv` : node.name, attrs)[0];
  if (activation) out = emitActivation(ctx, activation, out, node.name, node, alphaName);
  return [dynValue(out, [n, win.outH, win.outW, cOut], 'float32', NCHW_PERM)];
}

function pool(node: TfNode, inputs: readonly Value[], ctx: ConvertContext, kind: 'MaxPool' | 'AveragePool'): Value[] {
  checkNhwc(node);
  const x = requireDyn(node, inputs[0], 'input', 4);
  const [, kH, kW] = attrInts(node, 'ksize');
  const [, sH, sW] = attrInts(node, 'strides', [1, 1, 1, 1]);
  const [n, inH, inW, c] = x.shape;
  const win = windowPads(node, inH, inW, kH, kW, sH, sW);
  // TF average pooling never counts padded cells; ONNX count_include_pad=0 matches.
  const attrs: Record<string, AttrValue> = { kernel_shape: [kH, kW], strides: [sH, sW], pads: win.pads };
  if (kind === 'AveragePool') attrs.count_include_pad = 0;
  const [out] = ctx.b.addNode(kind, [ctx.materialize(x, NCHW_PERM, `${node.name}/x`)], node.name, attrs);
  return [dynValue(out, [n, win.outH, win.outW, c], 'float32', NCHW_PERM)];
}

/** TF resize flags → ONNX coordinate_transformation_mode. */
export function resizeCoordinateMode(alignCorners: boolean, halfPixelCenters: boolean): string {
  if (alignCorners) return 'align_corners';
  // TF half_pixel_centers: in = (out + 0.5) * scale - 0.5, with the source clamped to the edge as ORT does.
  if (halfPixelCenters) return 'half_pixel';
  return 'asymmetric';
}

const resizeBilinear: OpHandler = (node, inputs, ctx) => {
  const x = requireDyn(node, inputs[0], 'images', 4);
  const [outH, outW] = scalarOrList(requireConst(node, inputs[1], 'size'));
  const [n, , , c] = x.shape;
  const mode = resizeCoordinateMode(attrBool(node, 'align_corners'), attrBool(node, 'half_pixel_centers'));
  const sizes = ctx.b.int64([n, c, outH, outW]);
  const [out] = ctx.b.addNode('Resize', [ctx.materialize(x, NCHW_PERM, `${node.name}/x`), '', '', sizes], node.name, {
    mode: 'linear',
    coordinate_transformation_mode: mode,
  });
  return [dynValue(out, [n, outH, outW, c], 'float32', NCHW_PERM)];
};

/** TF DepthToSpace (NHWC) reads depth as (row, col, channel) = ONNX DCR on NCHW. */
const depthToSpace: OpHandler = (node, inputs, ctx) => {
  checkNhwc(node);
  const x = requireDyn(node, inputs[0], 'input', 4);
  const bs = attrInt(node, 'block_size');
  const [n, h, w, c] = x.shape;
  if (c % (bs * bs) !== 0) throw new ConvertError(node, `depth ${c} not divisible by block_size² ${bs * bs}`);
  const [out] = ctx.b.addNode('DepthToSpace', [ctx.materialize(x, NCHW_PERM, `${node.name}/x`)], node.name, { blocksize: bs, mode: 'DCR' });
  return [dynValue(out, [n, h * bs, w * bs, c / (bs * bs)], 'float32', NCHW_PERM)];
};

export const NN_OPS: Record<string, OpHandler> = {
  Conv2D: (node, inputs, ctx) => conv(node, inputs, ctx, false, false),
  _FusedConv2D: (node, inputs, ctx) => conv(node, inputs, ctx, false, true),
  DepthwiseConv2dNative: (node, inputs, ctx) => conv(node, inputs, ctx, true, false),
  FusedDepthwiseConv2dNative: (node, inputs, ctx) => conv(node, inputs, ctx, true, true),
  MaxPool: (node, inputs, ctx) => pool(node, inputs, ctx, 'MaxPool'),
  AvgPool: (node, inputs, ctx) => pool(node, inputs, ctx, 'AveragePool'),
  ResizeBilinear: resizeBilinear,
  DepthToSpace: depthToSpace,
};
