/**
 * Recovery after a long outage, for real: GStreamer's RTSP server, a real ffmpeg, real time. The camera starts
 * while its server is down, so the restarts back off (8, 16, 32 s); the server comes up while the next restart is
 * still ~30 s away. Before probing, frames came only after that restart; now a probe sees the server back within
 * ~2 s and frames follow within the 20 s target.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildFfmpegArgs } from '../../src/camera/ffmpeg-args.ts';
import { CameraSource } from '../../src/camera/supervisor.ts';
import { logger } from '../../src/log.ts';
import { childProcesses, freePort, waitFor } from '../helpers/processes.ts';
import { RtspServer, rtspServerAvailable } from '../helpers/rtsp.ts';

describe.skipIf(!rtspServerAvailable())('a camera that comes back after a long outage', () => {
  const server = new RtspServer({ fps: 10 });
  afterAll(() => server.kill());

  it('streams within 20 s of its return although the next restart was ~30 s away', async () => {
    server.port = await freePort();
    const cam = new CameraSource({
      id: 'returning',
      ffmpegPath: 'ffmpeg',
      args: buildFfmpegArgs({ url: server.url, fps: 5, width: 320, height: 214, timeoutSeconds: 10 }),
      width: 320,
      height: 214,
      stallTimeoutMs: 20_000,
      connectTimeoutMs: 30_000,
      backoff: { initialMs: 8000, maxMs: 60_000 },
      log: logger('test:camera:returning'),
    });
    let frames = 0;
    cam.onFrame(() => {
      frames += 1;
    });
    cam.start();
    try {
      // Refused at once each time: restarts after 8 and 16 s, then a 32 s wait begins.
      await waitFor(() => cam.status().starts >= 3 && cam.status().state === 'backoff', 40_000, 'the third failure');
      const waiting = cam.status().nextRestartInMs!;
      expect(waiting).toBeGreaterThan(25_000);
      await server.start();
      const back = Date.now();
      await waitFor(() => frames > 0, 30_000, 'frames after the server came back');
      const seconds = (Date.now() - back) / 1000;
      console.info(`rtsp recovery: next restart was ${Math.round(waiting / 1000)} s away; first frame ${seconds.toFixed(1)} s after the server's return`);
      expect(seconds).toBeLessThan(20);
      expect(seconds * 1000).toBeLessThan(waiting);
      expect(cam.status().starts).toBe(4);
    } finally {
      await cam.stop();
    }
    expect(childProcesses(process.pid, 'ffmpeg')).toEqual({ live: [], zombies: [] });
  }, 120_000);
});
