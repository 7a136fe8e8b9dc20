/**
 * The count error on real footage with known counts: the first 50 s of one-by-one-person-detection.mp4 (two
 * people walk in, stand at a table and walk out past the right edge) through the camera analysis with the CenterNet
 * objects model, the object tracker and the zone counter, against our own annotation of the video
 * (test/fixtures/counting/one-by-one-person-detection.json, established by eye from contact sheets). Tolerance:
 * the line counts exactly (the whole video measured 6 of 6 in, 0 out: docs/COUNTING.md), zone entries and exits
 * within one, and every annotated occupied / empty moment but at most one right.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureCounts, readTruth } from '../../scripts/counting/measure.ts';

const ROOT = join(import.meta.dirname, '../..');
const VIDEO = join(ROOT, '../shared/data/video/one-by-one-person-detection.mp4');
const TRUTH = join(ROOT, 'test/fixtures/counting/one-by-one-person-detection.json');

describe.skipIf(!existsSync(VIDEO))('count error on real footage', () => {
  it('counts the people leaving across the line and visiting the zone, as annotated', async () => {
    const m = await measureCounts({ video: VIDEO, truth: readTruth(TRUTH), fps: 5, model: 'centernet', threshold: 0.15, seconds: 50 });
    expect(m.frames).toBe(250);
    expect(m.line.in).toEqual({ truth: 2, counted: 2 });
    expect(m.line.out).toEqual({ truth: 0, counted: 0 });
    expect(Math.abs(m.zone.entered.counted - m.zone.entered.truth)).toBeLessThanOrEqual(1);
    expect(Math.abs(m.zone.exited.counted - m.zone.exited.truth)).toBeLessThanOrEqual(1);
    expect(m.zone.occupancyChecked).toBe(5);
    expect(m.zone.occupancyRight).toBeGreaterThanOrEqual(m.zone.occupancyChecked - 1);
  }, 90_000);
});
