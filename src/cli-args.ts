/** Command-line parsing shared by the subcommands: node's parseArgs with its errors as coded bad_parameter errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RaypackError } from './errors.ts';

export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new RaypackError('bad_parameter', error instanceof Error ? error.message : String(error));
  }
}

/** `--name N` as a whole number of at least `min`; undefined when the option was not given. */
export function wholeNumberOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new RaypackError('bad_parameter', `--${name} must be a whole number >= ${min}, not '${value}'`);
  }
  return n;
}
