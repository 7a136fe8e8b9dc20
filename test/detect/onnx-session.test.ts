import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSession, defaultThreads } from '../../src/detect/onnx-session.ts';
import { RaypackError } from '../../src/errors.ts';

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

  it('defaults to all cores', () => {
    expect(defaultThreads()).toBeGreaterThanOrEqual(1);
  });
});
