import { describe, expect, it } from 'vitest';
import { evalDocument, formatMarkdownTable, formatTable, formatVariantComparison } from '../../scripts/eval/report.ts';
import type { EvalResult } from '../../scripts/eval/runner.ts';

const face: EvalResult = {
  model: 'ssd-mobilenetv1-face',
  variant: 'tiles=2',
  set: 'faces/wider-val-416',
  task: 'face',
  images: 100,
  truths: 2656,
  ap50: 0.70449,
  ap50Strict: 0.6512,
  threshold: 0.5,
  recall: 0.5,
  precision: null,
  msPerImage: 41.26,
  ignored: { minSize: 10, truths: 2168, detections: 12 },
};
const objects: EvalResult = { ...face, model: 'nanodet', variant: '', set: 'coco/val2017-a', task: 'objects', ap50: 0.467, ap50Strict: undefined, ignored: undefined, perClass: [] };

describe('report', () => {
  it('compares int8 with fp32 per model, set and settings, against the 1-point rule', () => {
    const fp32 = { ...objects, variant: 'variant=fp32', ap50: 0.467, msPerImage: 30 };
    const int8 = { ...objects, model: 'nanodet.int8', variant: 'variant=int8', ap50: 0.468, msPerImage: 15 };
    const lossy = { ...face, model: 'ssd-mobilenetv1-face.int8', variant: 'tiles=2 variant=int8', ap50: 0.69, msPerImage: 20 };
    const faceFp32 = { ...face, variant: 'tiles=2 variant=fp32', ap50: 0.709, msPerImage: 40 };
    const text = formatVariantComparison([fp32, int8, faceFp32, lossy]);
    expect(text).toContain('nanodet on coco/val2017-a: int8 0.468 vs fp32 0.467 (+0.1 points, within the 1-point rule); detector 2.00x');
    expect(text).toContain('ssd-mobilenetv1-face [tiles=2] on faces/wider-val-416: int8 0.690 vs fp32 0.709 (-1.9 points, OUTSIDE the 1-point rule)');
    // No pair, no section; a pair needs the same settings.
    expect(formatVariantComparison([int8])).toBe('');
    expect(formatVariantComparison([{ ...fp32, variant: 'tiles=2 variant=fp32' }, int8])).toBe('');
  });

  it('prints aligned rows, the ignore rule with counts, and the mAP definition', () => {
    const text = formatTable([face, objects]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^model\s+set\s+AP50\s+AP50s\s+recall\s+precision\s+thr\s+ms\/image\s+images$/);
    expect(lines[2]).toMatch(/^ssd-mobilenetv1-face \[tiles=2\]\s+faces\/wider-val-416\s+0\.704\s+0\.651\s+0\.500\s+-\s+0\.50\s+41\.3\s+100$/);
    expect(lines[3]).toMatch(/^nanodet\s+coco\/val2017-a\s+0\.467\s+-\s/);
    expect(text).toContain('2168 of 2656 faces ignored, 12 detections ignored');
    expect(text).toMatch(/IGNORED \(neither true nor false positives\)/);
    expect(text).toMatch(/mAP50, the mean of per-class AP50 over the classes present/);
  });

  it('renders Markdown and the JSON document with the protocol constants', () => {
    const md = formatMarkdownTable([face]).split('\n');
    expect(md[0]).toBe('| model | set | AP50 | AP50s | recall | precision | thr | ms/image | images |');
    expect(md[1]).toBe('|---|---|---:|---:|---:|---:|---:|---:|---:|');
    expect(md[2]).toBe('| ssd-mobilenetv1-face [tiles=2] | faces/wider-val-416 | 0.704 | 0.651 | 0.500 | - | 0.50 | 41.3 | 100 |');
    expect(evalDocument('/d', undefined, [face])).toEqual({ dataDir: '/d', scoreThreshold: 0.05, iouThreshold: 0.5, faceMinSize: 10, limit: null, results: [face] });
  });
});
