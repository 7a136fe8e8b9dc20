/**
 * A tiny TfGraph interpreter on @tensorflow/tfjs ops (CPU backend), for the ops buildFaceApiSsdGraph emits.
 * It checks the graph itself against face-api, independently of the ONNX converter.
 */
import { createRequire } from 'node:module';
import type * as TfModule from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import type { TfGraph, TfNode } from '../../scripts/tfjs2onnx/types.ts';

type Tf = typeof TfModule;

const require = createRequire(import.meta.url);

/** The CommonJS @tensorflow/tfjs: the same instance face-api's node-wasm bundle requires. */
export function loadTf(): Tf {
  return require('@tensorflow/tfjs') as Tf;
}

const unb64 = (attr: unknown): string => Buffer.from((attr as { s: string }).s, 'base64').toString('utf8');
const ints = (attr: unknown): number[] => (attr as { list: { i: string[] } }).list.i.map(Number);

function strides2(node: TfNode): [number, number] {
  const s = ints(node.attr.strides);
  return [s[1], s[2]];
}

export function runTfGraph(tf: Tf, graph: TfGraph, feeds: Record<string, Tensor>, outputs: readonly string[]): Tensor[] {
  return tf.tidy(() => {
    const values = new Map<string, Tensor>();
    const get = (name: string): Tensor => {
      const v = values.get(name.replace(/:0$/, ''));
      if (!v) throw new Error(`interpreter: ${name} not computed yet`);
      return v;
    };
    for (const node of graph.nodes) {
      const x = (): Tensor => get(node.input[0]);
      let out: Tensor;
      switch (node.op) {
        case 'Placeholder':
          out = feeds[node.name];
          if (!out) throw new Error(`interpreter: no feed for ${node.name}`);
          break;
        case 'Const': {
          const w = graph.weights.get(node.name);
          if (!w) throw new Error(`interpreter: no value for Const ${node.name}`);
          out = tf.tensor(w.data as Float32Array | Int32Array, [...w.shape], w.dtype === 'bool' ? 'bool' : w.dtype);
          break;
        }
        case '_FusedConv2D':
        case 'FusedDepthwiseConv2dNative': {
          const fused = (node.attr.fused_ops as { list: { s: string[] } }).list.s.map((s) => unb64({ s }));
          if (fused.join(',') !== 'BiasAdd') throw new Error(`interpreter: fused ops ${fused.join(',')} not supported`);
          const pad = unb64(node.attr.padding) === 'SAME' ? 'same' : 'valid';
          const conv = node.op === '_FusedConv2D'
            ? tf.conv2d(x() as never, get(node.input[1]) as never, strides2(node), pad)
            : tf.depthwiseConv2d(x() as never, get(node.input[1]) as never, strides2(node), pad);
          out = tf.add(conv, get(node.input[2]));
          break;
        }
        case 'Relu6':
          out = tf.clipByValue(x(), 0, 6);
          break;
        case 'Sigmoid':
          out = tf.sigmoid(x());
          break;
        case 'Reshape':
          out = tf.reshape(x(), Array.from(get(node.input[1]).dataSync()));
          break;
        case 'ConcatV2': {
          const parts = node.input.slice(0, -1).map(get);
          out = tf.concat(parts, get(node.input[node.input.length - 1]).dataSync()[0]);
          break;
        }
        default:
          throw new Error(`interpreter: op ${node.op} not supported`);
      }
      values.set(node.name, out);
    }
    return outputs.map((o) => get(o).clone());
  });
}
