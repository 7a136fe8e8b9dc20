/**
 * The supervised ffmpeg against a real RTSP server (GStreamer), with short stall timeouts and backoffs:
 * frames arrive at the analysis size and rate; a killed-and-restarted server → frames resume; a paused
 * (SIGSTOPped) server → the watchdog SIGKILLs ffmpeg; a wrong URL and a camera that never answers → clear errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFfmpegArgs } from '../../src/camera/ffmpeg-args.ts';
import { CameraSource, type CameraState } from '../../src/camera/supervisor.ts';
import { logger, setLogSink } from '../../src/log.ts';
import { childProcesses, waitFor } from '../helpers/processes.ts';
import { SilentCamera } from '../helpers/silent-camera.ts';
import { RtspServer, rtspServerAvailable } from '../helpers/rtsp.ts';

const logs: string[] = [];
setLogSink((line) => logs.push(line));

function source(id: string, url: string, stallMs = 2500, extra: Partial<{ timeoutSeconds: number; connectMs: number }> = {}): CameraSource {
  return new CameraSource({
    id,
    ffmpegPath: 'ffmpeg',
    args: buildFfmpegArgs({ url, fps: 5, width: 320, height: 214, timeoutSeconds: extra.timeoutSeconds ?? 10 }),
    width: 320,
    height: 214,
    stallTimeoutMs: stallMs,
    connectTimeoutMs: extra.connectMs,
    backoff: { initialMs: 200, maxMs: 1000 },
    log: logger(`test:camera:${id}`),
    secrets: ['hunter22'],
  });
}

describe.skipIf(!rtspServerAvailable())('CameraSource with a real RTSP server', () => {
  const server = new RtspServer({ fps: 10 });
  beforeAll(() => server.start());
  afterAll(() => server.kill());

  it('streams frames, resumes after a server restart, and is restarted by the watchdog when the server hangs', async () => {
    // ffmpeg probes a fresh RTSP stream for ~4 s here (14 s seen on a loaded machine) before the first frame.
    const cam = source('rtsp', server.url, 6000, { connectMs: 25_000 });
    const states: CameraState[] = [];
    cam.onState((s) => states.push(s));
    let frames = 0;
    let lastSize = 0;
    cam.onFrame((f) => {
      frames += 1;
      lastSize = f.data.length;
    });
    const started = Date.now();
    cam.start();
    try {
      await waitFor(() => frames >= 10, 40_000, '10 frames');
      const firstFrameMs = Date.now() - started;
      expect(lastSize).toBe(320 * 214 * 3);
      const fps = cam.status().fps;
      expect(fps).toBeGreaterThan(3);
      expect(fps).toBeLessThan(7.5);
      console.info(`rtsp: first 10 frames after ${firstFrameMs} ms, measured ${fps} fps`);

      // Kill the server and bring it back on the same port: ffmpeg exits, we back off and reconnect.
      await server.kill();
      await waitFor(() => cam.status().state === 'backoff' || cam.status().state === 'connecting' ? true : undefined, 15_000, 'ffmpeg to notice');
      await server.start();
      const before = frames;
      await waitFor(() => frames >= before + 5, 40_000, 'frames after the server restart');
      expect(cam.status().starts).toBeGreaterThanOrEqual(2);

      // Pause the server: the TCP connection stays open but no frame comes; the watchdog must act.
      const startsBefore = cam.status().starts;
      const stallsBefore = cam.status().stalls;
      server.pause();
      await waitFor(() => cam.status().stalls > stallsBefore, 15_000, 'the watchdog');
      expect(states).toContain('stalled');
      server.resume();
      const after = frames;
      await waitFor(() => frames >= after + 5, 40_000, 'frames after the pause');
      expect(cam.status().starts).toBeGreaterThan(startsBefore);
      expect(cam.status().lastError).toMatch(/no frame for 6000 ms/);
    } finally {
      await cam.stop();
    }
    expect(childProcesses(process.pid, 'ffmpeg')).toEqual({ live: [], zombies: [] });
  }, 150_000);
});

describe('CameraSource failures', () => {
  let silent: SilentCamera;
  beforeAll(async () => {
    silent = await new SilentCamera().start();
  });
  afterAll(() => silent.stop());

  it('reports a wrong URL clearly, backs off with doubling delays and keeps credentials out of errors and logs', async () => {
    const cam = source('wrong', 'rtsp://admin:hunter22@127.0.0.1:1/nothing');
    cam.start();
    try {
      await waitFor(() => cam.status().starts >= 3, 15_000, 'three attempts');
      const status = cam.status();
      expect(['backoff', 'connecting']).toContain(status.state);
      expect(status.lastError).toMatch(/exited with code \d+.*(Connection refused|refused)/i);
      expect(JSON.stringify(status)).not.toContain('hunter22');
      expect(logs.join('\n')).not.toContain('hunter22');
      expect(status.framesReceived).toBe(0);
    } finally {
      await cam.stop();
    }
    expect(cam.status().state).toBe('stopped');
  }, 30_000);

  it('restarts a camera that never answers (socket open, no data)', async () => {
    const port = silent.port;
    const cam = source('silent', `rtsp://127.0.0.1:${port}/live`, 1500, { timeoutSeconds: 30 });
    cam.start();
    try {
      await waitFor(() => cam.status().stalls >= 1 && cam.status().starts >= 2, 15_000, 'the watchdog on a silent camera');
      expect(cam.status().lastError).toMatch(/no first frame within 1500 ms/);
    } finally {
      await cam.stop();
    }
    expect(childProcesses(process.pid, 'ffmpeg').live).toEqual([]);
  }, 30_000);

  it('says so when the ffmpeg executable is missing', async () => {
    const cam = new CameraSource({
      id: 'noffmpeg',
      ffmpegPath: '/nonexistent/ffmpeg',
      args: [],
      width: 32,
      height: 32,
      stallTimeoutMs: 1000,
      backoff: { initialMs: 100, maxMs: 200 },
      log: logger('test:camera:noffmpeg'),
    });
    cam.start();
    try {
      await waitFor(() => cam.status().lastError, 5000, 'an error');
      expect(cam.status().lastError).toMatch(/could not start \/nonexistent\/ffmpeg: ENOENT/);
    } finally {
      await cam.stop();
    }
  });
});
