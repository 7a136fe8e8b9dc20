/**
 * CI accuracy gate: the DEFAULT face detector at default settings on both face sets, and the default objects
 * model on coco/val2017-a, must keep the AP50 they reached when measured (docs/EVAL.md). A floor sits a little below
 * each measured figure; face floors never drop below the product floor of 0.50 (wider-val-416) / 0.65
 * (facemask-voc). A default model with no measured entry is held to the product floors (faces) or 0.30 (objects).
 * Skips, saying so, only when ../shared/data is absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';
import { describeMissingData, resolveDataDir } from '../../src/eval/data-dir.ts';
import { FACE_SETS, OBJECT_SETS, loadDataset, type DatasetName } from '../../src/eval/datasets.ts';
import { evaluateDetector } from '../../src/eval/runner.ts';

const DATA = resolveDataDir();
const MISSING = describeMissingData(DATA, [...FACE_SETS, ...OBJECT_SETS]);
if (MISSING) console.warn(`[accuracy gate] SKIPPED: ${MISSING}`);

const PRODUCT_FLOOR: Partial<Record<DatasetName, number>> = { 'faces/wider-val-416': 0.5, 'faces/facemask-voc': 0.65 };

/** Measured AP50 (main protocol, default settings, full sets; docs/EVAL.md) minus a small margin for noise. */
const MEASURED: Record<string, Partial<Record<DatasetName, number>>> = {
  // Keyed by the loaded detector's modelId (a quantized file adds `.int8`). int8: measured 2026-11-28 23:02 UTC on
  // the copies scripts/quantize.ts makes (min/max ranges, bias correction), default settings.
  'ssd-mobilenetv1-face.int8': { 'faces/wider-val-416': 0.705, 'faces/facemask-voc': 0.679 },
  'nanodet.int8': { 'coco/val2017-a': 0.468 },
  'ssd-mobilenetv1-face': { 'faces/wider-val-416': 0.709, 'faces/facemask-voc': 0.68 },
  'nanodet': { 'coco/val2017-a': 0.467 },
  'centernet': { 'coco/val2017-a': 0.482 },
};
const MARGIN = 0.02;

function floorFor(modelId: string, set: DatasetName): number {
  const measured = MEASURED[modelId]?.[set];
  const product = PRODUCT_FLOOR[set] ?? 0.3;
  return measured === undefined ? product : Math.max(product, measured - MARGIN);
}

describe.skipIf(MISSING !== undefined)('accuracy gate (default models, default settings)', () => {
  describe(`face: ${DEFAULT_MODELS.face}`, () => {
    let detector: Detector;
    beforeAll(async () => {
      detector = await loadDetector('face');
    });
    afterAll(() => detector?.close());

    it(`faces/wider-val-416, uploads' exact-size decode: AP50 at or above its floor`, { timeout: 600_000 }, async () => {
      const r = await evaluateDetector(detector, await loadDataset(DATA, 'faces/wider-val-416'), { decode: 'detection' });
      console.info(`[accuracy gate] ${r.model} faces/wider-val-416 (detection decode): AP50 ${r.ap50.toFixed(3)}`);
      expect(r.ap50).toBeGreaterThanOrEqual(floorFor(r.model, 'faces/wider-val-416'));
    });

    for (const set of FACE_SETS) {
      it(`${set}: AP50 at or above its floor`, { timeout: 600_000 }, async () => {
        const r = await evaluateDetector(detector, await loadDataset(DATA, set));
        const floor = floorFor(r.model, set);
        console.info(
          `[accuracy gate] ${r.model} ${set}: AP50 ${r.ap50.toFixed(3)} (floor ${floor.toFixed(3)}, strict ${r.ap50Strict?.toFixed(3)}), ` +
            `recall ${r.recall.toFixed(3)} at ${r.threshold}, ${r.msPerImage.toFixed(0)} ms/image`,
        );
        expect(r.model.split('.')[0]).toBe(DEFAULT_MODELS.face);
        expect(r.images).toBe(set === 'faces/wider-val-416' ? 100 : 600);
        expect(r.ap50).toBeGreaterThanOrEqual(floor);
      });
    }
  });

  // Uploads (`detect`, the API) take the exact-size decode path; camera frames the full one: both are held.
  it.each(['full', 'detection'] as const)(`objects: ${DEFAULT_MODELS.objects} on coco/val2017-a (%s decode)`, { timeout: 600_000 }, async (decode) => {
    const detector = await loadDetector('objects');
    try {
      const r = await evaluateDetector(detector, await loadDataset(DATA, 'coco/val2017-a'), { decode });
      const floor = floorFor(r.model, 'coco/val2017-a');
      console.info(`[accuracy gate] ${r.model} coco/val2017-a (${decode} decode): mAP50 ${r.ap50.toFixed(3)} (floor ${floor.toFixed(3)}), ${r.msPerImage.toFixed(0)} ms/image`);
      expect(r.images).toBe(64);
      expect(r.ap50).toBeGreaterThanOrEqual(floor);
    } finally {
      await detector.close();
    }
  });
});

/** The rule that makes an int8 copy a default: it loses at most 1 point of AP50 (mAP50) against its float file. */
const INT8_MAX_LOSS = 0.01;

describe.skipIf(MISSING !== undefined)('int8 defaults stay within 1 point of their float file', () => {
  const cases: { task: 'face' | 'objects'; sets: readonly DatasetName[] }[] = [
    { task: 'face', sets: FACE_SETS },
    { task: 'objects', sets: OBJECT_SETS },
  ];
  for (const { task, sets } of cases) {
    for (const set of sets) {
      it(`${DEFAULT_MODELS[task]} on ${set}`, { timeout: 600_000 }, async () => {
        const int8 = await loadDetector(task);
        const fp32 = await loadDetector(task, { variant: 'fp32' });
        try {
          expect(int8.modelId).toBe(`${DEFAULT_MODELS[task]}.int8`);
          const dataset = await loadDataset(DATA, set);
          const [q, f] = [await evaluateDetector(int8, dataset), await evaluateDetector(fp32, dataset)];
          console.info(`[int8 rule] ${set}: ${q.model} ${q.ap50.toFixed(3)} vs ${f.model} ${f.ap50.toFixed(3)}`);
          expect(f.model).toBe(DEFAULT_MODELS[task]);
          expect(q.ap50).toBeGreaterThanOrEqual(f.ap50 - INT8_MAX_LOSS);
        } finally {
          await Promise.all([int8.close(), fp32.close()]);
        }
      });
    }
  }
});
