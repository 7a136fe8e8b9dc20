/**
 * `raypack-edge start` as systemd runs it with Type=notify and WatchdogSec=: the real daemon (demo camera, embedded
 * broker, loopback, free ports) in a child process with NOTIFY_SOCKET and WATCHDOG_USEC pointing at a real datagram
 * socket. READY=1 comes once the daemon is up, STATUS= says the cameras' state, WATCHDOG=1 comes at half of
 * WATCHDOG_USEC, STOPPING=1 on SIGTERM and nothing after it; ffmpeg does not inherit the notify socket.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotifySocket, notifySocketAvailable } from '../helpers/notify-socket.ts';
import { childProcesses, sleep, waitFor } from '../helpers/processes.ts';
import { makeTempDir } from '../helpers/rtsp.ts';

const BIN = join(import.meta.dirname, '../../bin/raypack-edge.js');
const hasSystemdNotify = (() => {
  try {
    return readFileSync('/usr/bin/systemd-notify').length > 0;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasSystemdNotify || !notifySocketAvailable())('raypack-edge start under a notify socket', () => {
  const socket = new NotifySocket();
  const dir = makeTempDir('raypack-notify-daemon-');
  let kill: (() => void) | undefined;

  afterAll(async () => {
    kill?.();
    await socket.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends READY after start, STATUS with the cameras, WATCHDOG pings and STOPPING on SIGTERM', async () => {
    await socket.start();
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'demo: true',
        // The demo video is made once per machine (as test/helpers/demo-daemon.ts does).
        `state_dir: ${join(tmpdir(), 'raypack-edge-test-demo')}`,
        'device: notify',
        'inference: { threads: 1 }',
        'http: { host: 127.0.0.1, port: 0 }',
        'mqtt: { embedded: { host: 127.0.0.1, port: 0 } }',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [BIN, 'start', '--config', config], {
      env: { ...process.env, NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '1000000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const lines: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const ready = await waitFor(() => socket.with('READY')[0], 120_000, 'READY=1');
    // READY comes after the daemon logged that it is ready (detectors loaded, cameras and HTTP started).
    const readyLine = lines.find((l) => l.includes('"ns":"daemon"') && l.includes('"msg":"ready"'));
    expect(readyLine).toBeDefined();
    expect(ready.fields.STATUS).toMatch(/^cameras: demo (starting|connecting|streaming)[^;]*; MQTT connected; queue \d+ running, \d+ waiting$/);
    const { http } = JSON.parse(readyLine!) as { http: string };
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    // Pings were flowing before READY too (loading the models does not block the loop).
    expect(socket.with('WATCHDOG').length).toBeGreaterThan(0);

    // The status follows the camera: once the demo camera streams, STATUS says so.
    await waitFor(() => socket.with('STATUS').find((m) => m.fields.STATUS.startsWith('cameras: demo streaming')), 60_000, 'STATUS with the demo camera streaming');
    const pingsAt = socket.with('WATCHDOG').map((m) => m.at);
    const firstAfterReady = pingsAt.filter((t) => t > ready.at);
    await waitFor(() => socket.with('WATCHDOG').filter((m) => m.at > ready.at).length >= firstAfterReady.length + 4, 20_000, 'four more pings');
    const at = socket.with('WATCHDOG').map((m) => m.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]).sort((a, b) => a - b);
    const median = Math.round(gaps[Math.floor(gaps.length / 2)]);
    // WATCHDOG_USEC=1 s: a ping every 500 ms (median; a loaded CI machine delays some).
    expect(median).toBeGreaterThan(350);
    expect(median).toBeLessThan(900);
    // Every message came from a process of ours (systemd-notify, a child of the daemon), as root here.
    expect(new Set(socket.messages.map((m) => m.uid))).toEqual(new Set([process.getuid!()]));

    // ffmpeg does not inherit the notify socket (with NotifyAccess=all it could otherwise speak for the service).
    const ffmpeg = await waitFor(() => childProcesses(child.pid!, 'ffmpeg').live[0], 20_000, 'the demo ffmpeg');
    const environ = readFileSync(`/proc/${ffmpeg}/environ`, 'utf8').split('\0');
    expect(environ.some((v) => v.startsWith('NOTIFY_SOCKET='))).toBe(false);
    expect(environ.some((v) => v.startsWith('WATCHDOG_USEC='))).toBe(false);

    child.kill('SIGTERM');
    expect(await Promise.race([exited, sleep(30_000).then(() => 'timeout')])).toBe(0);
    const stopping = socket.with('STOPPING');
    expect(stopping).toHaveLength(1);
    expect(stopping[0].fields.STATUS).toBe('stopping');
    // No ping after STOPPING=1.
    expect(socket.with('WATCHDOG').filter((m) => m.at > stopping[0].at)).toEqual([]);
    expect(socket.with('READY')).toHaveLength(1);
    console.info(
      `notify: READY ${socket.with('READY').length}, STATUS ${socket.with('STATUS').length}, WATCHDOG ${socket.with('WATCHDOG').length} (median gap ${median} ms), STOPPING ${stopping.length}`,
    );
  }, 240_000);
});
