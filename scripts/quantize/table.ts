/**
 * Calibration tables: everything the int8 rewrite needs that only photos can give (activation ranges, the
 * bias-correction input means), measured once by a developer (`npx tsx scripts/quantize.ts <id>`), committed as
 * `models/calibration/<id>.json`, and applied at install by scripts/build-models.ts without images or a session.
 *
 * Numbers are stored exactly (ranges as JSON numbers, which round-trip every double; means as little-endian
 * float32 in base64, quantize.ts rounding them to float32 before it uses them) so that applying a table gives the
 * very bytes quantize.ts wrote. float32 halves the tables (the means are ~95 % of them) and, measured on both
 * default models, gives the same int8 bytes as the float64 means did.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { onnx, type ModelProto } from './onnx-model.ts';
import { applyQdq, planQuantization, type QdqSummary } from './qdq.ts';
import { simplify } from './simplify.ts';

export const TABLE_FORMAT = 'raypack-int8-calibration/1';

/** The options that shape the int8 graph (the plan) and the numbers chosen for it. */
export interface TableOptions {
  /** Percentile kept at each end of every activation (100 = min/max). */
  readonly percentile: number;
  readonly perChannel: boolean;
  readonly floatHead: boolean;
  readonly keepFloat: readonly string[];
  readonly biasCorrection: boolean;
}

export interface CalibrationTable {
  readonly format: typeof TABLE_FORMAT;
  readonly model: string;
  /** SHA-256 (hex) of the fp32 .onnx the numbers were measured on: applying to another file is refused. */
  readonly fp32Sha256: string;
  readonly options: TableOptions;
  /** How the numbers were made: photo counts and their names (package- or data-relative, never local paths). */
  readonly calibration: { readonly photos: number; readonly heldOut: number; readonly sources: readonly string[]; readonly heldOutSources: readonly string[] };
  /** Activation (tensor name) -> [min, max]. */
  readonly ranges: ReadonlyMap<string, readonly [number, number]>;
  /** Conv (first output) -> offset means of its float input (bias-correction.ts), float32 values. */
  readonly inputMeans: ReadonlyMap<string, Float64Array>;
}

export class TableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableError';
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Means as float32 values in a Float64Array (what applyQdq takes): the rounding a table stores exactly. */
export function toFloat32Means(means: ReadonlyMap<string, Float64Array>): Map<string, Float64Array> {
  return new Map([...means].map(([name, values]) => [name, Float64Array.from(values, (v) => Math.fround(v))]));
}

function float32ToBase64(name: string, values: Float64Array): string {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => {
    // Refuse silently losing precision: the table would no longer reproduce quantize.ts's bytes.
    if (Math.fround(v) !== v) throw new TableError(`input means of ${name} are not float32 values (round them with toFloat32Means first)`);
    view.setFloat32(i * 4, v, true);
  });
  return Buffer.from(view.buffer).toString('base64');
}

function base64ToFloat32(name: string, text: string): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) throw new TableError(`input means of ${name}: ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float64Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** JSON text of a table: keys sorted so the file only changes when the numbers do. */
export function serializeTable(table: CalibrationTable): string {
  const ranges: Record<string, [number, number]> = {};
  for (const name of [...table.ranges.keys()].sort()) {
    const [min, max] = table.ranges.get(name) as readonly [number, number];
    ranges[name] = [min, max];
  }
  const means: Record<string, string> = {};
  for (const name of [...table.inputMeans.keys()].sort()) means[name] = float32ToBase64(name, table.inputMeans.get(name) as Float64Array);
  const json = {
    format: table.format,
    model: table.model,
    fp32Sha256: table.fp32Sha256,
    options: { ...table.options, keepFloat: [...table.options.keepFloat] },
    calibration: table.calibration,
    ranges,
    inputMeans: means,
  };
  return `${JSON.stringify(json, null, 1)}\n`;
}

export function parseTable(text: string, origin = 'calibration table'): CalibrationTable {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new TableError(`${origin}: not JSON (${(err as Error).message})`);
  }
  if (json.format !== TABLE_FORMAT) throw new TableError(`${origin}: format ${String(json.format)}, expected ${TABLE_FORMAT}`);
  if (typeof json.fp32Sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(json.fp32Sha256)) throw new TableError(`${origin}: fp32Sha256 missing or not a SHA-256`);
  const o = json.options as Partial<TableOptions> | undefined;
  if (!o || typeof o.percentile !== 'number' || typeof o.perChannel !== 'boolean' || typeof o.floatHead !== 'boolean' || typeof o.biasCorrection !== 'boolean' || !Array.isArray(o.keepFloat)) {
    throw new TableError(`${origin}: options incomplete (percentile, perChannel, floatHead, keepFloat, biasCorrection)`);
  }
  const ranges = new Map<string, readonly [number, number]>();
  for (const [name, value] of Object.entries((json.ranges ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new TableError(`${origin}: range of ${name} is not [min, max]`);
    ranges.set(name, [value[0] as number, value[1] as number]);
  }
  const inputMeans = new Map<string, Float64Array>();
  for (const [name, value] of Object.entries((json.inputMeans ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new TableError(`${origin}: input means of ${name} are not base64`);
    inputMeans.set(name, base64ToFloat32(`${origin}: ${name}`, value));
  }
  return {
    format: TABLE_FORMAT,
    model: String(json.model ?? ''),
    fp32Sha256: json.fp32Sha256,
    options: { percentile: o.percentile, perChannel: o.perChannel, floatHead: o.floatHead, keepFloat: o.keepFloat.map(String), biasCorrection: o.biasCorrection },
    calibration: json.calibration as CalibrationTable['calibration'],
    ranges,
    inputMeans,
  };
}

export function readTable(path: string): CalibrationTable {
  return parseTable(readFileSync(path, 'utf8'), path);
}

export function writeTable(path: string, table: CalibrationTable): void {
  writeFileSync(path, serializeTable(table));
}

/** The message for a table measured on another fp32 file: names the command that re-measures it. */
export function staleTableMessage(table: CalibrationTable, actual: string, id = table.model): string {
  return (
    `calibration table for ${id} was measured on an fp32 model with sha256 ${table.fp32Sha256.slice(0, 12)}…, ` +
    `but the built fp32 model has ${actual.slice(0, 12)}…; re-calibrate with \`npx tsx scripts/quantize.ts ${id}\` ` +
    `(needs the calibration photos) and commit models/calibration/${id}.json`
  );
}

/**
 * The int8 QDQ model from the fp32 model's bytes and a table: simplify, plan with the table's options, rewrite
 * with its numbers. Pure (no images, no ONNX Runtime); refuses a table measured on other bytes.
 */
export function applyTable(fp32: Uint8Array, table: CalibrationTable): { bytes: Uint8Array; summary: QdqSummary } {
  const actual = sha256(fp32);
  if (actual !== table.fp32Sha256) throw new TableError(staleTableMessage(table, actual));
  const model: ModelProto = onnx.ModelProto.decode(fp32);
  simplify(model);
  const { perChannel, floatHead, keepFloat, biasCorrection } = table.options;
  const plan = planQuantization(model, { perChannel, floatHead, keepFloat });
  const summary = applyQdq(model, plan, table.ranges, biasCorrection ? table.inputMeans : undefined);
  return { bytes: onnx.ModelProto.encode(model).finish(), summary };
}
