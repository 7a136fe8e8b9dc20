/**
 * The photos the bench runs on: face-api's 1920 px demo photos (what a user's camera snapshot looks like) and a
 * few labelled photos from ../shared/data (WIDER FACE at 416 px for faces, COCO val2017 for objects), read from
 * there, never copied. Each set is reported on its own: latency depends on the image size.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const require = createRequire(import.meta.url);

export interface ImageSet {
  readonly name: string;
  readonly files: readonly string[];
}

export function faceApiSamples(count = 6): string[] {
  const demo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  return [1, 2, 3, 4, 5, 6].slice(0, count).map((i) => join(demo, `sample${i}.jpg`)).filter((f) => existsSync(f));
}

/** `count` files spread evenly over a folder's sorted JPEGs; empty when the folder is absent. */
export function spreadPick(folder: string, count: number): string[] {
  if (count <= 0 || !existsSync(folder)) return [];
  const files = readdirSync(folder).filter((f) => /\.jpe?g$/i.test(f)).sort();
  const step = Math.max(1, Math.floor(files.length / count));
  return files.filter((_, i) => i % step === 0).slice(0, count).map((f) => join(folder, f));
}

export function benchImageSets(task: 'face' | 'objects', options: { samples: number; shared: number; projectRoot: string }): ImageSet[] {
  const sets: ImageSet[] = [{ name: 'face-api samples (1920 px)', files: faceApiSamples(options.samples) }];
  const data = resolve(options.projectRoot, '../shared/data');
  const shared =
    task === 'face'
      ? { name: 'WIDER FACE val (416 px)', folder: join(data, 'faces/wider-val-416/images') }
      : { name: 'COCO val2017 (<=640 px)', folder: join(data, 'coco/val2017-a/images') };
  const files = spreadPick(shared.folder, options.shared);
  if (files.length > 0) sets.push({ name: shared.name, files });
  return sets.filter((s) => s.files.length > 0);
}
