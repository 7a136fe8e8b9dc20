/**
 * The metric code checked against figures measured independently by the lead on the same files with the same
 * reference models (YuNet-n 0.70 / 0.76, UltraFace RFB-640 0.77 / 0.75 face AP50 on wider-val-416 / facemask-voc).
 * Those figures were taken under the strict protocol (detections scoring < 0.3 dropped, small unmatched detections
 * counted as false positives): we reproduce them within 0.02, and pin our main protocol's AP beside them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detector } from '../../src/detect/types.ts';
import { referenceModelsDir, resolveDataDir } from '../../scripts/eval/data-dir.ts';
import { loadDataset, type Dataset, type DatasetName } from '../../scripts/eval/datasets.ts';
import { loadUltraface } from '../../scripts/eval/reference/ultraface.ts';
import { loadYolox } from '../../scripts/eval/reference/yolox.ts';
import { loadYunet } from '../../scripts/eval/reference/yunet.ts';
import { evaluateDetector } from '../../scripts/eval/runner.ts';

const DATA = resolveDataDir();
const MODELS = referenceModelsDir(DATA);
const HAVE = existsSync(join(DATA, 'faces')) && existsSync(join(MODELS, 'yunet/yunet_n_dynamic.onnx'));
// UltraFace on the 600 face-mask photos takes minutes on a shared 2-core box: opt in with RAYPACK_EVAL_FULL=1.
const FULL = process.env.RAYPACK_EVAL_FULL === '1';
if (!HAVE) console.warn(`[eval reference] ${DATA} or its reference models are absent: reproduction tests skipped`);

const sets = new Map<DatasetName, Dataset>();
async function set(name: DatasetName): Promise<Dataset> {
  if (!sets.has(name)) sets.set(name, await loadDataset(DATA, name));
  return sets.get(name) as Dataset;
}

describe.skipIf(!HAVE)('reference models reproduce the lead figures', () => {
  describe('YuNet-n (dynamic input, image size padded to 32)', () => {
    let yunet: Detector;
    beforeAll(async () => {
      yunet = await loadYunet(MODELS, 'yunet-n', 1);
    });
    afterAll(() => yunet?.close());

    it('wider-val-416: strict 0.70 ± 0.02', { timeout: 300_000 }, async () => {
      const r = await evaluateDetector(yunet, await set('faces/wider-val-416'));
      expect(r.ap50Strict).toBeGreaterThanOrEqual(0.68);
      expect(r.ap50Strict).toBeLessThanOrEqual(0.72);
      // Main protocol (floor 0.05, small detections ignored), measured 0.762.
      expect(r.ap50).toBeGreaterThanOrEqual(0.74);
      expect(r.ignored).toEqual({ minSize: 10, truths: 2168, detections: expect.any(Number) });
    });

    it('facemask-voc: strict 0.76 ± 0.02', { timeout: 300_000 }, async () => {
      const r = await evaluateDetector(yunet, await set('faces/facemask-voc'));
      expect(r.ap50Strict).toBeGreaterThanOrEqual(0.74);
      expect(r.ap50Strict).toBeLessThanOrEqual(0.78);
      // Measured 0.781.
      expect(r.ap50).toBeGreaterThanOrEqual(0.76);
      expect(r.ignored?.truths).toBe(283);
    });
  });

  describe('UltraFace RFB-640 (stretched to 640x480)', () => {
    let ultraface: Detector;
    beforeAll(async () => {
      ultraface = await loadUltraface(MODELS, 'ultraface-rfb-640', 1);
    });
    afterAll(() => ultraface?.close());

    it('wider-val-416: strict 0.77 ± 0.02', { timeout: 300_000 }, async () => {
      const r = await evaluateDetector(ultraface, await set('faces/wider-val-416'));
      expect(r.ap50Strict).toBeGreaterThanOrEqual(0.75);
      expect(r.ap50Strict).toBeLessThanOrEqual(0.79);
      // Measured 0.823.
      expect(r.ap50).toBeGreaterThanOrEqual(0.8);
    });

    it.skipIf(!FULL)('facemask-voc: strict 0.75 ± 0.02 (RAYPACK_EVAL_FULL=1)', { timeout: 900_000 }, async () => {
      const r = await evaluateDetector(ultraface, await set('faces/facemask-voc'));
      expect(r.ap50Strict).toBeGreaterThanOrEqual(0.73);
      expect(r.ap50Strict).toBeLessThanOrEqual(0.77);
      expect(r.ap50).toBeGreaterThanOrEqual(0.77);
    });
  });

  it.skipIf(!existsSync(join(MODELS, 'yolox/yolox_nano.onnx')))('YOLOX-nano on coco/val2017-a: mAP50 near the measured 0.482', { timeout: 300_000 }, async () => {
    const yolox = await loadYolox(MODELS, 1);
    try {
      const r = await evaluateDetector(yolox, await loadDataset(DATA, 'coco/val2017-a'));
      expect(r.ap50).toBeGreaterThanOrEqual(0.46);
      expect(r.ap50).toBeLessThanOrEqual(0.52);
      expect(r.perClass?.length).toBeGreaterThan(30);
    } finally {
      await yolox.close();
    }
  });
});
