/**
 * Converts one tfjs graph model by hand, or lists which of its ops the converter lacks (for adding a model):
 *
 *   npx tsx scripts/tfjs2onnx/cli.ts <model.json> --check
 *   npx tsx scripts/tfjs2onnx/cli.ts <model.json> --input NAME=1,256,256,3 [--nchw] [--bgr]
 *       --outputs Identity,Identity_1 [--names a,b] [--onnx-input input] --out model.onnx
 *
 * For the product's models use `npm run models` (manifests in models/*.json) instead.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { convertTfGraph, supportedOps } from './convert.ts';
import { loadTfjsGraphModel } from './load.ts';

const USAGE = 'usage: cli.ts <model.json> --check | --input NAME=d0,d1,... [--nchw] [--bgr] --outputs T1,T2 [--names N1,N2] [--onnx-input NAME] --out FILE';

export function run(argv: readonly string[], print: (line: string) => void = console.log): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      check: { type: 'boolean' },
      input: { type: 'string' },
      nchw: { type: 'boolean' },
      bgr: { type: 'boolean' },
      outputs: { type: 'string' },
      names: { type: 'string' },
      'onnx-input': { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    print(USAGE);
    return 2;
  }
  const graph = loadTfjsGraphModel(positionals[0]);
  if (values.check) {
    const known = new Set(supportedOps());
    const counts = new Map<string, number>();
    for (const n of graph.nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
    const missing = [...counts].filter(([op]) => !known.has(op));
    for (const [op, n] of [...counts].sort()) print(`${known.has(op) ? 'ok     ' : 'MISSING'} ${op} x${n}`);
    print(missing.length ? `${missing.length} op type(s) unsupported (fine if they sit after the outputs you cut at)` : 'all ops supported');
    return missing.length ? 1 : 0;
  }
  const m = /^([^=]+)=([\d,]+)$/.exec(values.input ?? '');
  if (!m || !values.outputs || !values.out) {
    print(USAGE);
    return 2;
  }
  const bytes = convertTfGraph(graph, {
    inputs: [{ name: m[1], shape: m[2].split(',').map(Number), layout: values.nchw ? 'NCHW' : 'NHWC', channelOrder: values.bgr ? 'BGR' : 'RGB' }],
    outputs: values.outputs.split(','),
    outputNames: values.names?.split(','),
    onnxInputName: values['onnx-input'],
  });
  writeFileSync(values.out, bytes);
  print(`wrote ${values.out} (${bytes.length} bytes)`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = run(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
