/**
 * The supervisor's timers driven by a fake clock, with a real ffmpeg that connects to a camera which never sends
 * anything: the watchdog fires exactly at the stall timeout, restarts wait 1 s, 2 s, 4 s... capped, and nothing
 * happens a millisecond early.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFfmpegArgs } from '../../src/camera/ffmpeg-args.ts';
import { CameraSource } from '../../src/camera/supervisor.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { logger } from '../../src/log.ts';
import { childProcesses, waitFor } from '../helpers/processes.ts';
import { SilentCamera } from '../helpers/silent-camera.ts';

describe('CameraSource with fake time', () => {
  let silent: SilentCamera;
  beforeAll(async () => {
    silent = await new SilentCamera().start();
  });
  afterAll(() => silent.stop());

  it('kills at the stall timeout and restarts after 1, 2, 4, 4 s', async () => {
    const clock = new FakeClock();
    const url = `rtsp://127.0.0.1:${silent.port}/live`;
    const cam = new CameraSource({
      id: 'fake',
      ffmpegPath: 'ffmpeg',
      args: buildFfmpegArgs({ url, fps: 1, width: 64, height: 64, timeoutSeconds: 600 }),
      width: 64,
      height: 64,
      stallTimeoutMs: 10_000,
      backoff: { initialMs: 1000, maxMs: 4000 },
      log: logger('test:fake'),
      clock,
    });
    cam.start();
    const delays: number[] = [];
    try {
      for (let round = 1; round <= 4; round += 1) {
        expect(cam.status()).toMatchObject({ state: 'connecting', starts: round });
        const pid = cam.pid!;
        clock.advance(9_999);
        expect(cam.status().state).toBe('connecting');
        clock.advance(1);
        expect(cam.status()).toMatchObject({ state: 'stalled', stalls: round });
        // The real process dies; then the restart is scheduled on the fake clock.
        await waitFor(() => cam.status().state === 'backoff', 5000, 'ffmpeg to exit');
        expect(() => process.kill(pid, 0)).toThrow();
        const delay = cam.status().nextRestartInMs!;
        delays.push(delay);
        clock.advance(delay - 1);
        expect(cam.status().state).toBe('backoff');
        clock.advance(1);
      }
    } finally {
      await cam.stop();
    }
    expect(delays).toEqual([1000, 2000, 4000, 4000]);
    expect(childProcesses(process.pid, 'ffmpeg').live).toEqual([]);
  }, 30_000);
});
