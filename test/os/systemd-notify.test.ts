/**
 * The notify protocol pieces: the environment as sd_watchdog_enabled(3) reads it (pure), and SystemdNotifier sending
 * through the real systemd-notify binary to a real datagram socket, with pings that come from the event loop.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../src/log.ts';
import { SystemdNotifier, notifyEnvironment, statusLine } from '../../src/os/systemd-notify.ts';
import { NotifySocket, notifySocketAvailable } from '../helpers/notify-socket.ts';
import { sleep, waitFor } from '../helpers/processes.ts';

const hasSystemdNotify = spawnSync('systemd-notify', ['--version']).status === 0;

describe('notifyEnvironment', () => {
  it('is off without NOTIFY_SOCKET, and pings at half of WATCHDOG_USEC when the watchdog is ours', () => {
    expect(notifyEnvironment({}, 10)).toBeUndefined();
    expect(notifyEnvironment({ WATCHDOG_USEC: '30000000' }, 10)).toBeUndefined();
    expect(notifyEnvironment({ NOTIFY_SOCKET: '/run/systemd/notify' }, 10)).toEqual({ socket: '/run/systemd/notify' });
    expect(notifyEnvironment({ NOTIFY_SOCKET: '@abstract', WATCHDOG_USEC: '30000000' }, 10)).toEqual({ socket: '@abstract', watchdogMs: 15_000 });
    expect(notifyEnvironment({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '10' }, 10)?.watchdogMs).toBe(15_000);
    // WATCHDOG_PID names another process (e.g. we were started by a wrapper that is the main pid): no pings from us.
    expect(notifyEnvironment({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '11' }, 10)).toEqual({ socket: '/s' });
    expect(notifyEnvironment({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: 'x' }, 10)).toEqual({ socket: '/s' });
    expect(notifyEnvironment({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '0' }, 10)).toEqual({ socket: '/s' });
  });

  it('keeps STATUS= on one line', () => {
    expect(statusLine('a\nb\r\nc')).toBe('a b c');
    expect(statusLine('x'.repeat(1000))).toHaveLength(400);
  });
});

describe.skipIf(!hasSystemdNotify || !notifySocketAvailable())('SystemdNotifier through systemd-notify', () => {
  let socket: NotifySocket | undefined;
  let notifier: SystemdNotifier | undefined;
  afterEach(async () => {
    notifier?.stop();
    await notifier?.flush();
    await socket?.stop();
  });

  it('sends READY with the status, pings from the event loop (none while it is blocked), then STOPPING', async () => {
    socket = new NotifySocket();
    await socket.start();
    let state = 'cameras: door connecting';
    notifier = new SystemdNotifier({ env: { socket: socket.path, watchdogMs: 200 }, status: () => state, log: logger('test') });
    notifier.start();
    await notifier.ready();
    await waitFor(() => socket!.with('WATCHDOG').length >= 3, 10_000, 'three pings');
    state = 'cameras: door streaming';
    await waitFor(() => socket!.with('STATUS').some((m) => m.fields.STATUS === 'cameras: door streaming'), 10_000, 'the new status');

    // Block the event loop for 1.5 s: no ping may arrive in that time.
    await notifier.flush();
    await sleep(50);
    const before = socket.with('WATCHDOG').length;
    expect(before).toBeGreaterThanOrEqual(3);
    const blockedAt = Date.now();
    while (Date.now() - blockedAt < 1500) {
      // busy: a hung loop
    }
    await sleep(20);
    await notifier.flush();
    // A ping spawned just before the block may still land in its first 300 ms; none after that.
    const during = socket.with('WATCHDOG').filter((m) => m.at > blockedAt + 300 && m.at < blockedAt + 1500);
    expect(during).toEqual([]);
    await waitFor(() => socket!.with('WATCHDOG').length >= before + 2, 10_000, 'pings after the loop runs again');

    await notifier.stopping();
    const count = socket.with('WATCHDOG').length;
    await sleep(600);
    expect(socket.with('WATCHDOG').length).toBe(count);

    const ready = socket.with('READY');
    expect(ready).toHaveLength(1);
    expect(ready[0].fields).toEqual({ READY: '1', STATUS: 'cameras: door connecting' });
    const last = socket.messages.filter((m) => !('BARRIER' in m.fields)).at(-1)!;
    expect(last.fields).toEqual({ STOPPING: '1', STATUS: 'stopping' });
    // systemd-notify waited on a barrier for each message, so systemd could attribute it while the sender lived.
    expect(socket.with('BARRIER').length).toBeGreaterThanOrEqual(socket.messages.length / 2 - 1);
  }, 60_000);

  it('logs a failed send once and goes on (no socket there)', async () => {
    const lines: string[] = [];
    const log = { ...logger('test'), warn: (msg: string) => lines.push(msg) };
    notifier = new SystemdNotifier({ env: { socket: '/nonexistent/notify.sock', watchdogMs: 100 }, status: () => 'x', log });
    notifier.start();
    await sleep(800);
    notifier.stop();
    await notifier.flush();
    expect(lines).toEqual(['systemd notification failed']);
  }, 20_000);
});
