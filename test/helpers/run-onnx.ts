/**
 * Child process for test/convert/int8-cpu-paths.test.ts: runs one ONNX model on one float32 input read from a file
 * and prints its outputs (name, dims, float32 bytes as base64) as JSON. It does nothing else, so that running it
 * under an emulated CPU exercises ONNX Runtime's kernels for that CPU and nothing of ours.
 *
 *   node --import tsx test/helpers/run-onnx.ts model.onnx input.f32 1,3,512,512
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [model, inputFile, dimsText] = process.argv.slice(2);
const bytes = readFileSync(inputFile);
const input = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const dims = dimsText.split(',').map(Number);
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, dims) });
const outputs = session.outputNames.map((name) => {
  const t = result[name];
  const data = t.data as Float32Array;
  return { name, dims: t.dims, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
});
await session.release();
process.stdout.write(JSON.stringify(outputs));
