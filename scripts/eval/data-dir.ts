/** Where the evaluation data lives, and a clear account of what is missing there. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASET_LAYOUT, missingDatasetPaths, type DatasetName } from './datasets.ts';

/** The project root: two levels up from scripts/eval. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** --data, else $RAYPACK_DATA, else ../shared/data next to the project root. */
export function resolveDataDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.RAYPACK_DATA) return resolve(env.RAYPACK_DATA);
  return resolve(PROJECT_ROOT, '../shared/data');
}

export function referenceModelsDir(dataDir: string): string {
  return join(dataDir, 'models');
}

/** A message naming every missing path and what the set should contain, or undefined when all sets are there. */
export function describeMissingData(dataDir: string, sets: readonly DatasetName[]): string | undefined {
  if (!existsSync(dataDir)) {
    return (
      `evaluation data not found: ${dataDir} does not exist.\n` +
      `Expected the labelled sets there (${sets.join(', ')}); point --data or RAYPACK_DATA at the folder that holds them.\n`
    );
  }
  const lines = sets.flatMap((name) => {
    const missing = missingDatasetPaths(dataDir, name);
    if (missing.length === 0) return [];
    return [`  ${name}: needs ${DATASET_LAYOUT[name].expects.join(' and ')}; missing ${missing.join(', ')}`];
  });
  if (lines.length === 0) return undefined;
  return `evaluation data incomplete in ${dataDir}:\n${lines.join('\n')}\n`;
}
