/**
 * Probing between restarts, on fake time, with a real ffmpeg pointed at a port where nothing listens (it fails at
 * once with "Connection refused", as a camera that is off does). The probe's answer is injected: it is the fault.
 * A camera that comes back is restarted within one probe interval however long the backoff has grown, and the
 * backoff starts over; a camera that is reachable but fails anyway is left to the backoff (one probe per restart).
 */
import { describe, expect, it } from 'vitest';
import { buildFfmpegArgs } from '../../src/camera/ffmpeg-args.ts';
import { probeTargetFromArgs, type ProbeTarget } from '../../src/camera/reachability.ts';
import { CameraSource } from '../../src/camera/supervisor.ts';
import { logger } from '../../src/log.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { childProcesses, freePort, waitFor } from '../helpers/processes.ts';

interface Probe {
  up: boolean;
  readonly calls: Array<{ at: number; target: ProbeTarget }>;
}

async function camera(clock: FakeClock, probe: Probe, random = 0.5, initialMs = 1000): Promise<CameraSource> {
  const port = await freePort();
  return new CameraSource({
    id: 'probe',
    ffmpegPath: 'ffmpeg',
    args: buildFfmpegArgs({ url: `rtsp://viewer:hunter22@127.0.0.1:${port}/cam`, fps: 1, width: 64, height: 64, timeoutSeconds: 5 }),
    width: 64,
    height: 64,
    stallTimeoutMs: 20_000,
    backoff: { initialMs, maxMs: 32_000 },
    log: logger('test:probe'),
    clock,
    random: () => random,
    probe: {
      check: async (target) => {
        probe.calls.push({ at: clock.now(), target });
        return probe.up;
      },
    },
  });
}

/** Let the real ffmpeg fail and the supervisor schedule its restart (and run its first probe). */
async function untilBackoff(cam: CameraSource): Promise<number> {
  await waitFor(() => cam.status().state === 'backoff', 10_000, 'ffmpeg to fail');
  await new Promise((resolve) => setTimeout(resolve, 10));
  return cam.status().nextRestartInMs!;
}

/** Advance fake time in steps, letting probe promises settle between them. */
async function advance(clock: FakeClock, ms: number, step = 250): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

describe('probing while a restart is pending (fake time)', () => {
  it('a camera that returns after a long outage is restarted within one probe interval, not at the 32 s restart', async () => {
    const clock = new FakeClock();
    const probe: Probe = { up: false, calls: [] };
    const cam = await camera(clock, probe);
    cam.start();
    try {
      // Down for long: the restarts back off 1, 2, 4, 8, 16, 32 s; between them the camera is probed every 2 s.
      const delays: number[] = [];
      for (;;) {
        const delay = await untilBackoff(cam);
        delays.push(delay);
        if (delay === 32_000) break;
        const starts = cam.status().starts;
        await advance(clock, delay);
        await waitFor(() => cam.status().starts > starts, 5000, 'the scheduled restart');
      }
      expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000]);
      expect(probe.calls[0].target).toEqual({ host: '127.0.0.1', port: probe.calls[0].target.port, rtsp: true });
      const during = probe.calls.filter((c) => c.at >= clock.now());
      expect(during).toHaveLength(1); // the probe at the start of the 32 s wait
      await advance(clock, 10_000);
      const gaps = probe.calls.slice(-5).map((c, i, all) => (i === 0 ? 0 : c.at - all[i - 1].at)).slice(1);
      expect(gaps.every((g) => g === 2000)).toBe(true);
      expect(cam.status().nextRestartInMs).toBe(22_000);

      // The camera comes back: the next probe sees it and ffmpeg starts at once.
      const starts = cam.status().starts;
      probe.up = true;
      await advance(clock, 2000);
      await waitFor(() => cam.status().starts === starts + 1, 5000, 'the restart after the probe');
      expect(cam.status().state === 'connecting' || cam.status().state === 'backoff').toBe(true);
      // Nothing listens really, so ffmpeg fails again: the backoff started over at 1 s.
      expect(await untilBackoff(cam)).toBe(1000);
    } finally {
      await cam.stop();
    }
    expect(childProcesses(process.pid, 'ffmpeg').live).toEqual([]);
  }, 60_000);

  it('a camera reachable all along but failing is left to the backoff: one probe per restart, no early restart', async () => {
    const clock = new FakeClock();
    const probe: Probe = { up: true, calls: [] };
    const cam = await camera(clock, probe);
    cam.start();
    try {
      const delays: number[] = [];
      for (let round = 0; round < 4; round += 1) {
        const delay = await untilBackoff(cam);
        delays.push(delay);
        const starts = cam.status().starts;
        await advance(clock, delay - 1);
        expect(cam.status().starts).toBe(starts);
        await advance(clock, 1);
        await waitFor(() => cam.status().starts > starts, 5000, 'the scheduled restart');
      }
      expect(delays).toEqual([1000, 2000, 4000, 8000]);
      expect(probe.calls.length).toBe(4);
    } finally {
      await cam.stop();
    }
  }, 60_000);

  it('jitter spreads the probes over 1.5 to 2.5 s; stop() ends probing', async () => {
    for (const [random, gap] of [
      [0, 1500],
      [0.999, 2499],
    ] as const) {
      const clock = new FakeClock();
      const probe: Probe = { up: false, calls: [] };
      const cam = await camera(clock, probe, random, 10_000);
      cam.start();
      await untilBackoff(cam);
      await advance(clock, 6000, 100);
      const at = probe.calls.map((c) => c.at - probe.calls[0].at);
      expect(at[1]).toBe(gap);
      // The next one is scheduled when the probe has answered: up to one 100 ms step of fake time later here.
      expect(at[2] - at[1]).toBeGreaterThanOrEqual(gap);
      expect(at[2] - at[1]).toBeLessThanOrEqual(gap + 100);
      await cam.stop();
      expect(clock.pending()).toEqual([]);
      const calls = probe.calls.length;
      await advance(clock, 10_000);
      expect(probe.calls.length).toBe(calls);
      expect(cam.status().starts).toBe(1);
    }
  }, 30_000);
});

describe('probe targets from ffmpeg arguments', () => {
  it('the network input, default ports, no credentials; nothing for files and lavfi', () => {
    expect(probeTargetFromArgs(['-rtsp_transport', 'tcp', '-i', 'rtsp://u:secret@10.0.0.5/stream1', '-f', 'rawvideo', '-'])).toEqual({ host: '10.0.0.5', port: 554, rtsp: true });
    expect(probeTargetFromArgs(['-i', 'rtsps://cam.lan:7441/x'])).toEqual({ host: 'cam.lan', port: 7441, rtsp: false });
    expect(probeTargetFromArgs(['-i', 'http://[fd00::5]/mjpeg'])).toEqual({ host: 'fd00::5', port: 80, rtsp: false });
    expect(probeTargetFromArgs(['-stream_loop', '-1', '-i', '/var/lib/demo.mp4'])).toBeUndefined();
    expect(probeTargetFromArgs(['-f', 'lavfi', '-i', 'testsrc=size=64x64'])).toBeUndefined();
    expect(probeTargetFromArgs(['-i', 'file:/tmp/a.mp4'])).toBeUndefined();
  });
});
