import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEvalArgs, parseOption } from '../../scripts/eval/args.ts';
import { describeMissingData, resolveDataDir, PROJECT_ROOT } from '../../scripts/eval/data-dir.ts';
import { selectCandidates } from '../../scripts/eval/candidates.ts';
import { splitVariant } from '../../src/detect/registry.ts';

const run = promisify(execFile);
const BIN = join(PROJECT_ROOT, 'bin/raypack-edge.js');
const DATA = resolveDataDir();
const HAVE_REFERENCE = existsSync(join(DATA, 'faces/wider-val-416/labels.txt')) && existsSync(join(DATA, 'models/yunet/yunet_n_dynamic.onnx'));
const tmp = mkdtempSync(join(tmpdir(), 'raypack-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'eval', ...args], { env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('eval arguments', () => {
  it('parses every option, splits model lists and types option values', () => {
    const a = parseEvalArgs(['--task', 'face', '--model', 'a,b', '--model', 'ref:yunet-n', '--reference', '--option', 'tiles=2', '--option', 'variant=int8', '--limit', '5', '--json', 'x.json', '--data', 'd']);
    expect(a).toMatchObject({ task: 'face', models: ['a', 'b', 'ref:yunet-n'], reference: true, limit: 5, jsonFile: 'x.json', threads: 2 });
    expect(a.options).toEqual({ tiles: 2, variant: 'int8' });
    expect(parseOption('nmsMode=weighted')).toEqual(['nmsMode', 'weighted']);
    expect(a.decode).toBe('full');
    expect(parseEvalArgs(['--decode', 'detection']).decode).toBe('detection');
    expect(() => parseEvalArgs(['--decode', 'half'])).toThrow(/--decode/);
    expect(() => parseEvalArgs(['--task', 'cars'])).toThrow(/--task/);
    expect(() => parseEvalArgs(['--limit', '0'])).toThrow(/--limit/);
    expect(() => parseEvalArgs(['--bogus'])).toThrow();
    expect(() => parseOption('tiles')).toThrow(/KEY=VALUE/);
  });

  it('finds the data next to the project, or where RAYPACK_DATA or --data say', () => {
    expect(resolveDataDir(undefined, {})).toBe(resolve(PROJECT_ROOT, '../shared/data'));
    expect(resolveDataDir(undefined, { RAYPACK_DATA: '/x/y' })).toBe('/x/y');
    expect(resolveDataDir('/a', { RAYPACK_DATA: '/x/y' })).toBe('/a');
  });

  it('names each missing set path and what it needs', () => {
    const dir = join(tmp, 'partial');
    mkdirSync(join(dir, 'faces/wider-val-416/images'), { recursive: true });
    const message = describeMissingData(dir, ['faces/wider-val-416', 'coco/val2017-a']) ?? '';
    expect(message).toContain(join(dir, 'faces/wider-val-416/labels.txt'));
    expect(message).toContain('coco/val2017-a: needs images and labels');
    expect(describeMissingData(join(tmp, 'nowhere'), ['coco/val2017-a'])).toMatch(/does not exist/);
  });

  it('selects reference ids by task, and rejects an unknown model id', () => {
    const base = { models: ['ref:yunet-n', 'ref:yolox-nano'], reference: false, options: {}, modelsDir: '/none', threads: 1, taskOfModel: () => undefined };
    expect(selectCandidates({ ...base, tasks: ['face'] }).map((c) => c.label)).toEqual(['ref:yunet-n']);
    expect(() => selectCandidates({ ...base, tasks: ['face'], models: ['no-such-model'] })).toThrow(/unknown model/);
  });

  it('scores both files of a product model with --variants, one with an id.variant suffix', () => {
    const base = { reference: false, options: {}, modelsDir: '/none', threads: 1, taskOfModel: (id: string) => (id === 'nanodet' ? ('objects' as const) : undefined) };
    expect(splitVariant('nanodet.int8')).toEqual({ id: 'nanodet', variant: 'int8' });
    expect(splitVariant('nanodet')).toEqual({ id: 'nanodet' });
    const both = selectCandidates({ ...base, tasks: ['objects'], models: ['nanodet'], variants: true });
    expect(both.map((c) => [c.label, c.variant])).toEqual([['nanodet', 'variant=fp32'], ['nanodet', 'variant=int8']]);
    // An explicit variant (suffix or option) wins over --variants.
    expect(selectCandidates({ ...base, tasks: ['objects'], models: ['nanodet.fp32'], variants: true }).map((c) => c.variant)).toEqual(['variant=fp32']);
    expect(selectCandidates({ ...base, tasks: ['objects'], models: ['nanodet'], options: { variant: 'int8' }, variants: true }).map((c) => c.variant)).toEqual(['variant=int8']);
    expect(selectCandidates({ ...base, tasks: ['objects'], models: ['nanodet'] }).map((c) => c.variant)).toEqual(['']);
    expect(() => selectCandidates({ ...base, tasks: ['objects'], models: ['nanodet.int4'] })).toThrow(/unknown model 'nanodet.int4'/);
    expect(parseEvalArgs(['--variants']).variants).toBe(true);
  });
});

describe('raypack-edge eval (the CLI)', () => {
  it('exits 3 with a clear message when the data is absent', async () => {
    const r = await cli(['--task', 'face'], { RAYPACK_DATA: join(tmp, 'missing') });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(join(tmp, 'missing'));
    expect(r.stderr).toMatch(/faces\/wider-val-416/);
  });

  it('exits 2 on a bad argument', async () => {
    const r = await cli(['--task', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--task/);
  });

  it.skipIf(!HAVE_REFERENCE)('runs a reference model on a few images and prints the table and the JSON', async () => {
    const jsonFile = join(tmp, 'out.json');
    const r = await cli(['--task', 'face', '--model', 'ref:yunet-n', '--limit', '4', '--threads', '1', '--json', jsonFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^model\s+set\s+AP50/m);
    expect(r.stdout).toMatch(/ref:yunet-n\s+faces\/wider-val-416/);
    expect(r.stdout).toMatch(/IGNORED/);
    const doc = JSON.parse(readFileSync(jsonFile, 'utf8'));
    expect(doc.limit).toBe(4);
    expect(doc.results.map((x: { set: string }) => x.set)).toEqual(['faces/wider-val-416', 'faces/facemask-voc']);
    for (const res of doc.results) {
      expect(res.images).toBe(4);
      expect(res.ap50).toBeGreaterThan(0.3);
      expect(res.ap50).toBeLessThanOrEqual(1);
      expect(res.ignored.minSize).toBe(10);
    }
  });
});
