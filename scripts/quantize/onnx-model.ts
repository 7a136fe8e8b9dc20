/** Reading, editing and writing ONNX models with `onnx-proto` (protobufjs classes generated from onnx.proto). */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { onnx as OnnxNamespace } from 'onnx-proto';

const require = createRequire(import.meta.url);
export const onnx = (require('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
export type ModelProto = OnnxNamespace.ModelProto;
export type NodeProto = OnnxNamespace.INodeProto;
export type TensorProto = OnnxNamespace.ITensorProto;

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

export function loadModel(path: string): ModelProto {
  return onnx.ModelProto.decode(readFileSync(path));
}

export function saveModel(model: ModelProto, path: string): void {
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
}

/** A protobuf int64 (number or Long) as a JS number. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** The float32 contents of a FLOAT tensor (raw_data or float_data), or undefined for other types. */
export function floatData(tensor: TensorProto): Float32Array | undefined {
  if (tensor.dataType !== DataType.FLOAT) return undefined;
  if (tensor.rawData && tensor.rawData.length > 0) {
    // Copy: raw_data may not be 4-byte aligned inside the decoded buffer.
    const bytes = new Uint8Array(tensor.rawData);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

export function dimsOf(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map((d) => toNumber(d));
}

function rawOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export function makeTensor(name: string, dataType: number, dims: readonly number[], data: Float32Array | Int8Array | Uint8Array | Int32Array): TensorProto {
  return onnx.TensorProto.create({ name, dataType, dims: [...dims], rawData: rawOf(data) });
}

/** The constant tensors of a graph by name: initializers, and Constant nodes with a `value` tensor. */
export function constantTensors(model: ModelProto): Map<string, TensorProto> {
  const constants = new Map<string, TensorProto>();
  for (const tensor of model.graph?.initializer ?? []) if (tensor.name) constants.set(tensor.name, tensor);
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'Constant' || !node.output?.[0]) continue;
    const value = node.attribute?.find((a) => a.name === 'value')?.t;
    if (value) constants.set(node.output[0], value);
  }
  return constants;
}

export function attribute(node: NodeProto, name: string): OnnxNamespace.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export function defaultOpset(model: ModelProto): number {
  const entry = model.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx');
  return toNumber(entry?.version);
}
