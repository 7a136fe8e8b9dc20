/** COCO class names (English and German) and the food subset, read from `models/labels`. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS_DIR } from './manifest.ts';

export type Lang = 'en' | 'de';

function readLabels(lang: Lang): readonly string[] {
  const names = readFileSync(join(MODELS_DIR, 'labels', `coco.${lang}.txt`), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  if (names.length !== 80) throw new Error(`models/labels/coco.${lang}.txt has ${names.length} names, expected 80`);
  return names;
}

export const COCO_EN: readonly string[] = readLabels('en');
export const COCO_DE: readonly string[] = readLabels('de');

/** COCO's food classes: what the `food` task reports (no food-specific model can be had offline). */
export const FOOD_CLASS_IDS: ReadonlySet<number> = new Set(
  ['banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake'].map((n) => COCO_EN.indexOf(n)),
);

export function cocoName(classId: number, lang: Lang = 'en'): string {
  const name = (lang === 'de' ? COCO_DE : COCO_EN)[classId];
  if (name === undefined) throw new RangeError(`no COCO class ${classId}`);
  return name;
}

/** German name for an English COCO name (as in Detection.label). */
export function translateCoco(englishName: string, lang: Lang): string {
  if (lang === 'en') return englishName;
  const id = COCO_EN.indexOf(englishName);
  return id < 0 ? englishName : COCO_DE[id];
}
