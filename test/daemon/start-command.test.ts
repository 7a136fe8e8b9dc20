/**
 * `raypack-edge start` as a user runs it, in a child process: the DEMO camera (video made at start from the sample
 * photos) plus an RTSP camera from --camera, results on an external Mosquitto given with --mqtt; SIGTERM → the
 * process exits, `offline` is published and no ffmpeg is left. A bad config → exit 2 with every problem listed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.ts';
import { childProcesses, rssMiB, waitFor } from '../helpers/processes.ts';
import { RtspServer, makeTempDir, rtspServerAvailable } from '../helpers/rtsp.ts';

const BIN = join(import.meta.dirname, '../../bin/raypack-edge.js');

function runCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const collect = (chunk: Buffer): void => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

describe('raypack-edge start: bad configuration', () => {
  it('lists every problem with its path and exits 2', async () => {
    const dir = makeTempDir('raypack-badcfg-');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'cameras:\n  - id: door\n    url: rtsp://x\n    fps: -1\n    colour: red\nmqtt: { password: x }\n');
    const run = runCli(['--config', file]);
    expect(await run.exited).toBe(2);
    const text = run.lines.join('\n');
    expect(text).toContain(`invalid configuration (${file})`);
    expect(text).toContain('cameras[0].fps: must be > 0');
    expect(text).toContain('cameras[0].colour: unknown key');
    expect(text).toContain('mqtt.password: unknown key');
    const badArg = runCli(['--camera', 'nourl']);
    expect(await badArg.exited).toBe(2);
    expect(badArg.lines.join('\n')).toContain('--camera expects <id>=<url>');
  }, 60_000);
});

describe.skipIf(!rtspServerAvailable() || !mosquittoAvailable())('raypack-edge start: demo + RTSP camera on Mosquitto, then SIGTERM', () => {
  const rtsp = new RtspServer({ fps: 10, secondsEach: 2 });
  const broker = new Mosquitto();
  let run: ReturnType<typeof runCli> | undefined;

  afterAll(async () => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
    await rtsp.kill();
    await broker.stop();
  });

  it('publishes faces from both cameras, and SIGTERM leaves no ffmpeg behind', async () => {
    await Promise.all([rtsp.start(), broker.start()]);
    const stateDir = makeTempDir('raypack-state-');
    const config = join(stateDir, 'config.yaml');
    writeFileSync(
      config,
      [
        'demo: true',
        `state_dir: ${stateDir}`,
        'http: { host: 127.0.0.1 }',
        'restart_backoff: { initial_seconds: 0.5, max_seconds: 2 }',
        'mqtt: { heartbeat_seconds: 1, reconnect: { initial_seconds: 0.5, max_seconds: 1 }, offline_buffer: { max_messages: 5, max_bytes: 20000 } }',
      ].join('\n'),
    );
    const messages: Array<{ topic: string; payload: string }> = [];
    const sub = await mqtt.connectAsync(broker.url);
    sub.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString() }));
    await sub.subscribeAsync('raypack/cli/#');

    const started = Date.now();
    run = runCli(['--config', config, '--camera', `door=${rtsp.url}`, '--mqtt', broker.url, '--http-port', '0', '--device', 'cli']);
    const ready = await waitFor(() => run!.lines.find((l) => l.includes('"msg":"ready"')), 90_000, 'the ready log line');
    const { http } = JSON.parse(ready) as { http: string };
    for (const camera of ['demo', 'door']) {
      await waitFor(
        () => messages.find((m) => m.topic === `raypack/cli/${camera}/face` && (JSON.parse(m.payload) as { totalfaces: number }).totalfaces >= 1),
        60_000,
        `a face message from ${camera}`,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    expect(messages.find((m) => m.topic === 'raypack/cli/status')?.payload).toBe('online');
    // The demo camera also publishes objects in the Raypack_AI_Filecontainer shape.
    const objects = await waitFor(() => messages.find((m) => m.topic === 'raypack/cli/demo/objects'), 30_000, 'an objects message');
    expect(JSON.parse(objects.payload)).toMatchObject({ name: 'Raypack_AI_Filecontainer', camera: 'demo', results: { tags: expect.any(Array) } });
    const snapshot = await fetch(`${http}/cameras/demo/snapshot.jpg`);
    expect(snapshot.status).toBe(200);

    // The broker goes away: the daemon buffers within its bound, then reconnects when the broker is back.
    const health = async (): Promise<{ mqtt: { connected: boolean; buffered: number; dropped: number } }> =>
      (await (await fetch(`${http}/healthz`)).json()) as { mqtt: { connected: boolean; buffered: number; dropped: number } };
    await sub.endAsync(true);
    await broker.stop();
    await waitFor(async () => !(await health()).mqtt.connected, 10_000, 'the daemon to notice the broker is gone');
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const down = (await health()).mqtt;
    expect(down.buffered).toBeLessThanOrEqual(5);
    expect(down.dropped).toBeGreaterThan(0);
    await broker.start();
    messages.length = 0;
    const sub2 = await mqtt.connectAsync(broker.url);
    sub2.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString() }));
    await sub2.subscribeAsync('raypack/cli/#');
    await waitFor(async () => (await health()).mqtt.connected, 15_000, 'the daemon to reconnect');
    await waitFor(() => messages.find((m) => m.topic === 'raypack/cli/door/status'), 10_000, 'messages after the reconnect');
    console.info(`start: broker down 4 s → buffered ${down.buffered} (bound 5), dropped ${down.dropped}; reconnected`);

    const pid = run.child.pid!;
    // Both cameras' ffmpeg run (one may be between restarts for a moment on a loaded machine).
    const ffmpegs = await waitFor(() => {
      const live = childProcesses(pid, 'ffmpeg').live;
      return live.length === 2 ? live : undefined;
    }, 15_000, 'two ffmpeg children');
    const rss = rssMiB(pid);
    const status = (await (await fetch(`${http}/cameras`)).json()) as { cameras: Array<{ camera: string; fps: number; frames: unknown; analysisMs: number }> };
    console.info(
      `start: faces from demo and door after ${seconds.toFixed(1)} s; daemon RSS ${rss} MiB; ` +
        status.cameras.map((c) => `${c.camera} ${c.fps} fps ${JSON.stringify(c.frames)} face ${c.analysisMs} ms`).join('; '),
    );

    run.child.kill('SIGTERM');
    const sigtermAt = Date.now();
    const code = await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    if (code !== 0) console.error(run.lines.slice(-30).join('\n'));
    expect(code).toBe(0);
    console.info(`start: exited ${Date.now() - sigtermAt} ms after SIGTERM`);
    for (const p of ffmpegs) expect(() => process.kill(p, 0)).toThrow();
    expect(childProcesses(pid, 'ffmpeg').live).toEqual([]);
    await waitFor(() => messages.some((m) => m.topic === 'raypack/cli/status' && m.payload === 'offline'), 5000, 'offline after SIGTERM');
    await sub2.endAsync(true);
  }, 180_000);
});
