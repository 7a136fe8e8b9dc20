import { describe, expect, it } from 'vitest';
import { parseCommandArgs, wholeNumberOption } from '../../src/cli-args.ts';
import { RaypackError } from '../../src/errors.ts';

describe('cli args', () => {
  it('turns parseArgs errors into bad_parameter', () => {
    expect(() => parseCommandArgs({ args: ['--nope'], options: { limit: { type: 'string' } } })).toThrow(RaypackError);
    expect(() => parseCommandArgs({ args: ['--nope'], options: {} })).toThrow(/nope/);
    expect(parseCommandArgs({ args: ['--limit', '3'], options: { limit: { type: 'string' } } }).values.limit).toBe('3');
  });

  it('reads whole numbers with a minimum', () => {
    expect(wholeNumberOption('limit', undefined, 1)).toBeUndefined();
    expect(wholeNumberOption('limit', '7', 1)).toBe(7);
    expect(wholeNumberOption('warmup', '0', 0)).toBe(0);
    expect(() => wholeNumberOption('limit', '0', 1)).toThrow("--limit must be a whole number >= 1, not '0'");
    for (const bad of ['', ' ', '1.5', 'many', '-2']) expect(() => wholeNumberOption('limit', bad, 0)).toThrow(RaypackError);
  });
});
