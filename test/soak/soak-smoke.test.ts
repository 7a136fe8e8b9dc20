/**
 * A half-minute run of scripts/soak.ts (the real daemon, RTSP camera churn, mixed good and bad uploads): it must
 * finish on its own, stop the daemon cleanly, meet no unexpected status, and report an RSS slope with its machine.
 * The figure itself comes from a 10-minute run (docs/BENCHMARKS.md); half a minute only shows the tool works.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { rtspServerAvailable } from '../helpers/rtsp.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

describe.skipIf(!rtspServerAvailable())('scripts/soak.ts, briefly', () => {
  it('runs the daemon for 30 s of mixed traffic and camera churn and reports the RSS slope', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raypack-soak-smoke-'));
    const out = join(dir, 'soak.json');
    try {
      await run(process.execPath, ['--import', 'tsx', 'scripts/soak.ts', '--seconds', '30', '--warmup', '5', '--churn', '10', '--out', out], {
        cwd: ROOT,
        maxBuffer: 16 << 20,
      });
      const report = JSON.parse(readFileSync(out, 'utf8'));
      expect(report.unexpectedCount).toBe(0);
      expect(report.daemonExit).toBe(0);
      expect(report.requests).toBeGreaterThan(30);
      expect(report.byKind['face json']['200']).toBeGreaterThan(0);
      expect(typeof report.slopeMiBPerHour.afterWarmup).toBe('number');
      expect(report.cpu).toMatch(/logical cores, flags: /);
      expect(report.rssSeries.length).toBeGreaterThan(4);
      expect(report.cameras.find((c: { camera: string }) => c.camera === 'door').frames.received).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
