import { expect } from 'vitest';
import { RaypackError } from '../../src/errors.ts';

/** The code of the RaypackError the promise rejects with; fails the test when it resolves or throws anything else. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RaypackError);
    return (error as RaypackError).code;
  }
  throw new Error('expected a RaypackError');
}
