import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSession, defaultThreads } from '../../src/detect/onnx-session.ts';
import { RaypackError } from '../../src/errors.ts';
import { onnxPath } from '../../src/detect/manifest.ts';

const dir = mkdtempSync(join(tmpdir(), 'raypack-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(path: string): Promise<RaypackError> {
  const error = await createSession(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RaypackError);
  return error as RaypackError;
}

describe('createSession', () => {
  it('turns a missing model file into model_unavailable naming the file and the build command', async () => {
    const path = join(dir, 'missing.onnx');
    const error = await failure(path);
    expect(error.code).toBe('model_unavailable');
    expect(error.status).toBe(503);
    expect(error.message).toContain(path);
    expect(error.message).toContain('npm run models');
  });

  it('does the same for an empty or corrupt file', async () => {
    const empty = join(dir, 'empty.onnx');
    writeFileSync(empty, '');
    expect((await failure(empty)).code).toBe('model_unavailable');
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, 'this is not a protobuf model at all');
    const error = await failure(corrupt);
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toContain(corrupt);
    expect(error.message).toContain('npm run models');
  });

  it('runs a real model, and falls back to the CPU when a requested GPU provider is not there', async () => {
    const session = await createSession(onnxPath('blazeface-front'), { executionProviders: ['cuda'], threads: 1 });
    try {
      expect(session.executionProviders).toEqual(['cpu']);
      expect(session.inputName).toBe('input');
      const outputs = await session.run(new Float32Array(3 * 128 * 128), [1, 3, 128, 128], ['scores_s8', 'regressors_s16']);
      expect(outputs.map((o) => o.dims)).toEqual([
        [1, 512, 1],
        [1, 384, 16],
      ]);
      expect(outputs[0].data).toBeInstanceOf(Float32Array);
    } finally {
      await session.close();
    }
  });

  it('defaults to all cores', () => {
    expect(defaultThreads()).toBeGreaterThanOrEqual(1);
  });
});
