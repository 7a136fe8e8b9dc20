/**
 * int8 copies built at install from committed calibration tables (scripts/quantize/table.ts, scripts/build-models.ts):
 * the table survives its JSON form exactly, applying it gives quantize.ts's bytes, a table measured on other fp32
 * bytes is refused with the command that re-measures it, and build-models builds then skips the int8 copy.
 * Real models (built by `npm run models`), real photos (face-api's samples), onnxruntime-node.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { onnxPath, readManifest } from '../../src/detect/manifest.ts';
import { quantizeFile } from '../../scripts/quantize.ts';
import { BuildError, buildInt8, int8StampOf } from '../../scripts/build-models.ts';
import { calibrationTablePath, int8OnnxPath as int8Path } from '../../src/detect/manifest.ts';
import type { InputSpec } from '../../scripts/quantize/calibration-images.ts';
import {
  TABLE_FORMAT,
  TableError,
  applyTable,
  parseTable,
  readTable,
  serializeTable,
  sha256,
  toFloat32Means,
  type CalibrationTable,
} from '../../scripts/quantize/table.ts';

const dir = mkdtempSync(join(tmpdir(), 'raypack-int8-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('calibration table', () => {
  // Doubles that JSON must not round (0.1 + 0.2, a subnormal) and means that are float32 values.
  const table: CalibrationTable = {
    format: TABLE_FORMAT,
    model: 'toy',
    fp32Sha256: sha256(Uint8Array.of(1, 2, 3)),
    options: { percentile: 99.99, perChannel: true, floatHead: false, keepFloat: ['conv_3'], biasCorrection: true },
    calibration: { photos: 2, heldOut: 1, sources: ['a.jpg', 'b.jpg'], heldOutSources: ['c.jpg'] },
    ranges: new Map([
      ['x', [-(0.1 + 0.2), 6.000000000000001]],
      ['y', [5e-324, 1 / 3]],
    ]),
    inputMeans: toFloat32Means(new Map([['conv_1', Float64Array.of(0.1, -2.5, 1e-7, 0)]])),
  };

  it('round-trips every number exactly, and serializes the same text again', () => {
    const text = serializeTable(table);
    const back = parseTable(text);
    expect(back.ranges).toEqual(table.ranges);
    expect([...back.ranges.get('x')!]).toEqual([-(0.1 + 0.2), 6.000000000000001]);
    expect(Array.from(back.inputMeans.get('conv_1')!)).toEqual([Math.fround(0.1), -2.5, Math.fround(1e-7), 0]);
    expect(back.options).toEqual(table.options);
    expect(back.calibration).toEqual(table.calibration);
    expect(serializeTable(back)).toBe(text);
  });

  it('refuses means that float32 would round, and malformed tables', () => {
    const unrounded = { ...table, inputMeans: new Map([['conv_1', Float64Array.of(0.1)]]) };
    expect(() => serializeTable(unrounded)).toThrow(/not float32 values/);
    expect(() => parseTable('{')).toThrow(TableError);
    expect(() => parseTable(serializeTable(table).replace(TABLE_FORMAT, 'other/9'))).toThrow(/format other\/9/);
    expect(() => parseTable(serializeTable({ ...table, fp32Sha256: 'abc' }))).toThrow(/fp32Sha256/);
  });

  it('is refused on other fp32 bytes, naming the command that re-calibrates', () => {
    const fp32 = Uint8Array.of(9, 9, 9);
    expect(() => applyTable(fp32, table)).toThrow(TableError);
    expect(() => applyTable(fp32, table)).toThrow(/calibration table for toy was measured on an fp32 model .*re-calibrate with `npx tsx scripts\/quantize.ts toy`/);
  });
});

const SMALL = 'blazeface-front';
describe.skipIf(!existsSync(onnxPath(SMALL)))(`apply == quantize on ${SMALL}`, () => {
  it('applying the table quantize.ts wrote rebuilds its int8 file byte for byte', { timeout: 120_000 }, async () => {
    const manifest = readManifest(SMALL);
    const spec: InputSpec = { ...manifest.input, name: manifest.input.name };
    const out = join(dir, `${SMALL}.int8.onnx`);
    const tableFile = join(dir, 'calibration', `${SMALL}.json`);
    // Two methods, so the table must hold the ranges of the one that was kept (averaged percentiles: any double).
    const result = await quantizeFile(onnxPath(SMALL), out, spec, { images: 2, percentiles: [100, 99.9], table: tableFile, tableModel: SMALL });
    expect(result.tableBytes).toBeGreaterThan(1000);
    const table = readTable(tableFile);
    expect(table.model).toBe(SMALL);
    expect(table.options.percentile).toBe(result.percentile);
    expect(table.fp32Sha256).toBe(sha256(readFileSync(onnxPath(SMALL))));
    // Means for every quantized Conv; only those with a bias get corrected.
    expect(result.correctedBiases).toBeGreaterThan(0);
    expect(table.inputMeans.size).toBeGreaterThanOrEqual(result.correctedBiases);
    expect(table.calibration.photos).toBe(result.calibrationImages);
    // Names, not this machine's paths.
    expect(table.calibration.sources[0]).toBe('@vladmandic/face-api/demo/sample1.jpg');
    expect(table.calibration.sources.every((s) => !s.startsWith('/'))).toBe(true);
    const applied = applyTable(readFileSync(onnxPath(SMALL)), table);
    expect(Buffer.from(applied.bytes).equals(readFileSync(out))).toBe(true);
    expect(applied.summary.correctedBiases).toBe(result.correctedBiases);
  });
});

const DEFAULT = 'nanodet';
const haveDefault = existsSync(onnxPath(DEFAULT)) && existsSync(calibrationTablePath(DEFAULT));
describe.skipIf(!haveDefault)(`build-models int8 for ${DEFAULT} (committed table)`, () => {
  it('the committed table matches the built fp32 model; build-models builds the int8 copy, then skips it', { timeout: 60_000 }, async () => {
    const table = readTable(calibrationTablePath(DEFAULT));
    expect(table.fp32Sha256).toBe(sha256(readFileSync(onnxPath(DEFAULT))));
    expect(table.calibration.photos).toBeGreaterThan(5);
    const first = await buildInt8(DEFAULT, true);
    expect(first?.status).toBe('built');
    const built = readFileSync(int8Path(DEFAULT));
    expect(Buffer.from(applyTable(readFileSync(onnxPath(DEFAULT)), table).bytes).equals(built)).toBe(true);
    const second = await buildInt8(DEFAULT);
    expect(second?.status).toBe('up-to-date');
    expect(readFileSync(int8Path(DEFAULT)).equals(built)).toBe(true);
    // The stamp follows the table: another table is another stamp.
    const tableBytes = readFileSync(calibrationTablePath(DEFAULT));
    expect(int8StampOf(table.fp32Sha256, tableBytes)).not.toBe(int8StampOf(table.fp32Sha256, Buffer.concat([tableBytes, Buffer.from(' ')])));
    // ONNX Runtime loads the copy and runs it on a real frame size.
    const session = await ort.InferenceSession.create(built);
    try {
      const manifest = readManifest(DEFAULT);
      const input = new ort.Tensor('float32', new Float32Array(3 * manifest.input.width * manifest.input.height), [1, 3, manifest.input.height, manifest.input.width]);
      const outputs = await session.run({ [session.inputNames[0]]: input });
      expect(Object.keys(outputs).length).toBe(session.outputNames.length);
    } finally {
      await session.release();
    }
  });

  it('a stale table fails the build with the command that re-calibrates, and leaves the int8 file alone', async () => {
    const before = readFileSync(int8Path(DEFAULT));
    const stale = { ...readTable(calibrationTablePath(DEFAULT)), fp32Sha256: sha256(Buffer.from('another fp32 model')) };
    const staleFile = join(dir, `${DEFAULT}.stale.json`);
    writeFileSync(staleFile, serializeTable(stale));
    await expect(buildInt8(DEFAULT, true, staleFile)).rejects.toThrow(BuildError);
    await expect(buildInt8(DEFAULT, true, staleFile)).rejects.toThrow(/model nanodet: calibration table for nanodet was measured on an fp32 model .*`npx tsx scripts\/quantize.ts nanodet`/);
    expect(readFileSync(int8Path(DEFAULT)).equals(before)).toBe(true);
  });

  it('builds nothing for a model without a table', async () => {
    expect(await buildInt8(DEFAULT, true, join(dir, 'no-such-table.json'))).toBeUndefined();
  });
});
