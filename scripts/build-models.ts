/**
 * Builds `models/build/<id>.onnx` for every manifest in `models/*.json` (run by `npm run models` and by npm's
 * postinstall). tfjs graph models come from the installed npm packages and go through our converter
 * (scripts/tfjs2onnx); `face-api-ssd` manifests are built by scripts/faceapi-ssd.ts (imported only when such a
 * manifest exists). Output is deterministic; a model is skipped while its stamp (hash of the source files, the
 * manifest's conversion settings and the converter version) matches. Exits 1 with a message naming the model
 * and the fix when something is missing.
 *
 * Then, for every model with a committed calibration table `models/calibration/<id>.json` (written by
 * `npx tsx scripts/quantize.ts <id>`, which needs the calibration photos), it builds the int8 copy
 * `models/build/<id>.int8.onnx` from the fp32 file and the table alone (scripts/quantize/table.ts: no images, no
 * inference), byte-identical to what quantize.ts wrote, skipped while `<id>.int8.stamp` (fp32 hash, table, the
 * quantize code) matches. A table measured on other fp32 bytes fails the build with the command that re-measures it.
 *
 *   npx tsx scripts/build-models.ts [--force] [id ...]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILD_DIR, MODELS_DIR, calibrationTablePath, int8OnnxPath, listManifests, onnxPath, type ModelManifest } from '../src/detect/manifest.ts';
import { logger } from '../src/log.ts';
import { CONVERTER_VERSION, convertTfGraph, type ConvertOptions } from './tfjs2onnx/convert.ts';
import { loadTfjsGraphModel } from './tfjs2onnx/load.ts';
import type { TfGraph } from './tfjs2onnx/types.ts';
// Type only: the module itself is imported lazily, and only when a face-api-ssd manifest exists.
import type * as FaceApiSsd from './faceapi-ssd.ts';
// Type only as well: the quantizer (and the onnxruntime-node binding its calibration half loads) is imported only
// when a model has a calibration table.
import type * as Int8Table from './quantize/table.ts';

const log = logger('build-models');
const SCRIPTS_DIR = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export class BuildError extends Error {
  constructor(id: string, message: string) {
    super(`model ${id}: ${message}`);
    this.name = 'BuildError';
  }
}

/** Root folder of an installed npm package, or a BuildError that says how to get it. */
export function packageDir(id: string, pkg: string): string {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new BuildError(id, `npm package ${pkg} is not installed; run \`npm install\` in ${resolve(MODELS_DIR, '..')}`);
  }
}

export interface Source {
  /** Files whose bytes define the model (hashed into the stamp). */
  readonly files: readonly string[];
  readonly load: () => Promise<{ graph: TfGraph; options: ConvertOptions }>;
}

/** A tfjs model.json and the shards its weightsManifest lists. */
function tfjsFiles(id: string, jsonPath: string): string[] {
  if (!existsSync(jsonPath)) throw new BuildError(id, `source file ${jsonPath} not found; reinstall the package (\`npm install\`)`);
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as { weightsManifest?: { paths: string[] }[] } | { paths: string[] }[];
  const groups = Array.isArray(json) ? json : (json.weightsManifest ?? []);
  const shards = groups.flatMap((g) => g.paths.map((p) => join(dirname(jsonPath), p)));
  for (const s of shards) if (!existsSync(s)) throw new BuildError(id, `weight shard ${s} not found; reinstall the package (\`npm install\`)`);
  return [jsonPath, ...shards];
}

function tfjsGraphSource(m: ModelManifest): Source {
  const c = m.convert;
  if (!c) throw new BuildError(m.id, 'a tfjs-graph manifest needs a `convert` section (tfInput, tfInputShape, tfOutputs)');
  if (c.tfOutputs.length !== m.outputs.length) throw new BuildError(m.id, `convert.tfOutputs has ${c.tfOutputs.length} entries but outputs has ${m.outputs.length}`);
  const jsonPath = join(packageDir(m.id, m.source.package), m.source.path);
  return {
    files: tfjsFiles(m.id, jsonPath),
    load: async () => ({
      graph: loadTfjsGraphModel(jsonPath),
      options: {
        inputs: [{ name: c.tfInput, shape: c.tfInputShape, layout: c.tfInputLayout, channelOrder: c.tfInputChannelOrder }],
        outputs: c.tfOutputs,
        outputNames: m.outputs,
        onnxInputName: m.input.name,
        docString: `${m.id}: converted by raypack tfjs2onnx ${CONVERTER_VERSION} from ${m.source.package}/${m.source.path}`,
      },
    }),
  };
}

function faceApiSsdSource(m: ModelManifest): Source {
  const builder = join(SCRIPTS_DIR, 'faceapi-ssd.ts');
  const jsonPath = join(packageDir(m.id, m.source.package), m.source.path);
  return {
    files: [builder, ...tfjsFiles(m.id, jsonPath)],
    load: async () => {
      if (!existsSync(builder)) throw new BuildError(m.id, `${builder} is missing (face-api-ssd manifests are built by it)`);
      const mod = (await import(pathToFileURL(builder).href)) as typeof FaceApiSsd;
      const built = mod.buildFaceApiSsdGraph();
      return {
        graph: built.graph,
        options: {
          inputs: built.inputs,
          outputs: built.outputs,
          outputNames: built.outputNames,
          onnxInputName: m.input.name,
          docString: `${m.id}: built by scripts/faceapi-ssd.ts and raypack tfjs2onnx ${CONVERTER_VERSION} from ${m.source.package}/${m.source.path}`,
        },
      };
    },
  };
}

/** How to get a manifest's TfGraph and conversion options (also used by the parity tests). */
export function modelSource(m: ModelManifest): Source {
  if (!m.source || typeof m.source.package !== 'string') throw new BuildError(m.id, 'manifest has no source.package');
  if (m.source.format === 'tfjs-graph') return tfjsGraphSource(m);
  if (m.source.format === 'face-api-ssd') return faceApiSsdSource(m);
  throw new BuildError(m.id, `unknown source.format ${String(m.source.format)}`);
}

/** The converter's own sources: any change to them rebuilds every model, no manual version bump needed. */
function converterFiles(): string[] {
  const dir = join(SCRIPTS_DIR, 'tfjs2onnx');
  return [join(SCRIPTS_DIR, 'build-models.ts'), ...readdirSync(dir).filter((f) => f.endsWith('.ts')).sort().map((f) => join(dir, f))];
}

/**
 * Stamp = hash of the converter (version and sources), the manifest fields that shape the ONNX file, and the
 * source bytes.
 */
export function stampOf(m: ModelManifest, files: readonly string[]): string {
  const h = createHash('sha256');
  h.update(`tfjs2onnx ${CONVERTER_VERSION}\n`);
  for (const f of converterFiles()) h.update(readFileSync(f));
  h.update(JSON.stringify({ source: m.source, input: m.input, outputs: m.outputs, convert: m.convert ?? null }));
  for (const f of files) {
    h.update(`\n${f.slice(f.lastIndexOf('/') + 1)}\n`);
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

const stampPath = (id: string): string => join(BUILD_DIR, `${id}.stamp`);

/** Where an int8 copy's stamp goes (the table and the copy: calibrationTablePath and int8OnnxPath in manifest.ts). */
const int8StampPath = (id: string): string => join(BUILD_DIR, `${id}.int8.stamp`);

/** The quantizer's sources (all of scripts/quantize): a change to any of them rebuilds the int8 copies. */
function quantizeFiles(): string[] {
  const dir = join(SCRIPTS_DIR, 'quantize');
  return [join(SCRIPTS_DIR, 'build-models.ts'), ...readdirSync(dir).filter((f) => f.endsWith('.ts')).sort().map((f) => join(dir, f))];
}

/** int8 stamp = hash of the fp32 file's SHA-256, the table's bytes and the quantize code. */
export function int8StampOf(fp32Sha256: string, tableBytes: Uint8Array): string {
  const h = createHash('sha256');
  h.update(`int8 from table\nfp32 ${fp32Sha256}\n`);
  h.update(tableBytes);
  for (const f of quantizeFiles()) {
    h.update(`\n${f.slice(f.lastIndexOf('/') + 1)}\n`);
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

export interface BuildResult {
  readonly id: string;
  readonly status: 'built' | 'up-to-date';
  readonly bytes: number;
  readonly ms: number;
}

export async function buildModel(m: ModelManifest, force = false): Promise<BuildResult> {
  const started = performance.now();
  const source = modelSource(m);
  const stamp = stampOf(m, source.files);
  const out = onnxPath(m.id);
  if (!force && existsSync(out) && existsSync(stampPath(m.id)) && readFileSync(stampPath(m.id), 'utf8').trim() === stamp) {
    return { id: m.id, status: 'up-to-date', bytes: readFileSync(out).length, ms: performance.now() - started };
  }
  const { graph, options } = await source.load();
  let bytes: Uint8Array;
  try {
    bytes = convertTfGraph(graph, options);
  } catch (err) {
    throw new BuildError(m.id, (err as Error).message);
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  // Write-then-rename so a crash never leaves a truncated model behind a valid stamp.
  // The pid keeps two concurrent builds (e.g. postinstall and a test run) from sharing a temporary file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, out);
  writeFileSync(stampPath(m.id), `${stamp}\n`);
  return { id: m.id, status: 'built', bytes: bytes.length, ms: performance.now() - started };
}

/**
 * Builds `<id>.int8.onnx` from the built fp32 model and `models/calibration/<id>.json`; undefined when the model
 * has no table (no int8 copy is built at install then).
 */
export async function buildInt8(id: string, force = false, tableFile = calibrationTablePath(id)): Promise<BuildResult | undefined> {
  if (!existsSync(tableFile)) return undefined;
  const started = performance.now();
  const fp32File = onnxPath(id);
  if (!existsSync(fp32File)) throw new BuildError(id, `${fp32File} is not built, so its int8 copy cannot be; run \`npm run models\``);
  const table = (await import(pathToFileURL(join(SCRIPTS_DIR, 'quantize', 'table.ts')).href)) as typeof Int8Table;
  const fp32 = readFileSync(fp32File);
  const tableBytes = readFileSync(tableFile);
  let parsed: Int8Table.CalibrationTable;
  try {
    parsed = table.parseTable(tableBytes.toString('utf8'), tableFile);
  } catch (err) {
    throw new BuildError(id, `${(err as Error).message}; re-calibrate with \`npx tsx scripts/quantize.ts ${id}\``);
  }
  const fp32Sha256 = table.sha256(fp32);
  // Checked even when the stamp matches: the message says what to do, and the hash is needed for the stamp anyway.
  if (parsed.fp32Sha256 !== fp32Sha256) throw new BuildError(id, table.staleTableMessage(parsed, fp32Sha256, id));
  const stamp = int8StampOf(fp32Sha256, tableBytes);
  const out = int8OnnxPath(id);
  if (!force && existsSync(out) && existsSync(int8StampPath(id)) && readFileSync(int8StampPath(id), 'utf8').trim() === stamp) {
    return { id: `${id}.int8`, status: 'up-to-date', bytes: statSync(out).size, ms: performance.now() - started };
  }
  let bytes: Uint8Array;
  try {
    bytes = table.applyTable(fp32, parsed).bytes;
  } catch (err) {
    throw new BuildError(id, `int8 from ${tableFile}: ${(err as Error).message}`);
  }
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, out);
  writeFileSync(int8StampPath(id), `${stamp}\n`);
  return { id: `${id}.int8`, status: 'built', bytes: bytes.length, ms: performance.now() - started };
}

export async function main(argv: readonly string[]): Promise<number> {
  const force = argv.includes('--force');
  const ids = argv.filter((a) => !a.startsWith('--'));
  let manifests: ModelManifest[];
  try {
    manifests = listManifests();
  } catch (err) {
    log.error('cannot read model manifests', { dir: MODELS_DIR, error: (err as Error).message });
    return 1;
  }
  const unknown = ids.filter((id) => !manifests.some((m) => m.id === id));
  if (unknown.length) {
    log.error('no manifest for these model ids', { ids: unknown, known: manifests.map((m) => m.id) });
    return 1;
  }
  const selected = ids.length ? manifests.filter((m) => ids.includes(m.id)) : manifests;
  const started = performance.now();
  let failed = 0;
  const builtFp32: string[] = [];
  for (const m of selected) {
    try {
      const r = await buildModel(m, force);
      builtFp32.push(m.id);
      log.info(r.status === 'built' ? 'built model' : 'model up to date', { id: r.id, file: onnxPath(r.id), bytes: r.bytes, ms: Math.round(r.ms) });
    } catch (err) {
      failed++;
      log.error('model build failed', { id: m.id, error: (err as Error).message });
    }
  }
  // int8 copies after all fp32 models, and only of those that built (a failed fp32 build is reported once).
  for (const id of builtFp32) {
    try {
      const r = await buildInt8(id, force);
      if (r) log.info(r.status === 'built' ? 'built int8 model' : 'int8 model up to date', { id: r.id, file: int8OnnxPath(id), bytes: r.bytes, ms: Math.round(r.ms) });
    } catch (err) {
      failed++;
      log.error('int8 model build failed', { id, error: (err as Error).message });
    }
  }
  log.info('models done', { models: selected.length, failed, ms: Math.round(performance.now() - started) });
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      log.error('model build crashed', { error: (err as Error).stack ?? String(err) });
      process.exit(1);
    },
  );
}
