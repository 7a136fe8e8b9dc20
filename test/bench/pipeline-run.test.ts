/**
 * The pipeline bench on a real detector and a real ffmpeg camera (one camera, 2 s, small frames): every frame
 * received is accounted for (analysed or dropped with a reason), the model is warmed up before the cameras start,
 * and the steady-state counts are a part of the totals, never more. No timing is asserted (shared machine).
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../scripts/bench/pipeline.ts';
import { DEFAULT_PRIVACY } from '../../src/analysis/privacy.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';

const ROOT = resolve(import.meta.dirname, '../..');
let detector: Detector;

beforeAll(async () => {
  detector = await loadDetector('face', { threads: 1 });
});
afterAll(async () => {
  await detector?.close();
});

describe('runPipeline', () => {
  it('accounts for every frame and warms the model up first', { timeout: 60_000 }, async () => {
    const r = await runPipeline(detector, { cameras: 1, fps: 4, width: 320, height: 240, seconds: 2, projectRoot: ROOT, privacy: DEFAULT_PRIVACY, privacyName: 'product' });
    expect(r.privacy).toBe('product');
    expect(r.framesReceived).toBeGreaterThan(0);
    expect(r.framesAnalysed).toBeGreaterThan(0);
    // Nothing vanishes: each frame was analysed or dropped for a counted reason.
    expect(r.framesFailed).toBe(0);
    expect(r.framesAnalysed + r.framesDropped).toBe(r.framesReceived);
    expect(r.dropped.replaced + r.dropped.queueFull + r.dropped.stale).toBe(r.framesDropped);
    expect(r.warmupMs).toBeGreaterThan(0);
    expect(r.steady.afterSeconds).toBe(1);
    expect(r.steady.received).toBeLessThanOrEqual(r.framesReceived);
    expect(r.steady.dropped).toBeLessThanOrEqual(r.framesDropped);
    expect(r.rssMiB.afterWarmup).toBeGreaterThan(0);
    expect(r.detect.n).toBe(r.framesAnalysed);
  });
});
