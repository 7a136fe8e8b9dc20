/**
 * The systemd notify protocol for `Type=notify` with `WatchdogSec=` (sd_notify(3)): READY=1 once the daemon is up,
 * WATCHDOG=1 from the event loop at half of WATCHDOG_USEC (a blocked loop sends none, so systemd restarts us),
 * STATUS= with the cameras' state, STOPPING=1 on shutdown. Does nothing unless NOTIFY_SOCKET is set.
 *
 * How the datagrams are sent: Node has no AF_UNIX datagram sockets, so each message is handed to the
 * `systemd-notify` binary (part of systemd on every machine that sets NOTIFY_SOCKET). systemd attributes a message
 * to the sender's pid, which is then systemd-notify's, not ours: `--pid=<ours>` would fake the credentials but needs
 * CAP_SYS_ADMIN, which the hardened unit (DynamicUser, empty CapabilityBoundingSet) does not have, and systemd 252
 * (Debian 12) has no `--exec` to send from our own pid. So the unit says `NotifyAccess=all` (any process of the
 * service's cgroup may notify; only ours and ffmpeg are in it, and ffmpeg does not see NOTIFY_SOCKET: fromEnv
 * removes it from our environment). systemd-notify runs without `--no-block`, so it waits on a BARRIER=1 until
 * systemd has read the message: systemd can still find the sender's cgroup then (a sender that exited before its
 * message was read would be dropped as unknown). Measured here: one message costs ~15 ms of a child process, off
 * the event loop, every WatchdogSec/2. A native helper (an addon, a compiled binary) was not chosen: it would need a
 * build per architecture in the .deb for no gain at this rate.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../log.ts';

/** The notify settings systemd passes in the environment, read once. */
export interface NotifyEnvironment {
  readonly socket: string;
  /** Half of WATCHDOG_USEC in ms, when the watchdog is on and meant for this process (WATCHDOG_PID). */
  readonly watchdogMs?: number;
}

/** NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as sd_watchdog_enabled(3) reads them; undefined without a socket. */
export function notifyEnvironment(env: Readonly<Record<string, string | undefined>>, pid: number): NotifyEnvironment | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === '' || Number(env.WATCHDOG_PID) === pid;
  if (!Number.isInteger(usec) || usec <= 0 || !forUs) return { socket };
  return { socket, watchdogMs: Math.max(1, Math.floor(usec / 2000)) };
}

/** Values of STATUS= are one line: systemd splits the datagram at newlines. */
export function statusLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 400);
}

export type SendNotify = (socket: string, assignments: readonly string[]) => Promise<void>;

/** Sends one message through systemd-notify (see the header for why). Rejects when it fails or takes over 5 s. */
export const sendWithSystemdNotify: SendNotify = (socket, assignments) =>
  new Promise((resolve, reject) => {
    execFile(
      'systemd-notify',
      [...assignments],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket }, timeout: 5000, windowsHide: true },
      (error, _stdout, stderr) => (error ? reject(new Error(`systemd-notify: ${stderr.trim() || error.message}`)) : resolve()),
    );
  });

export interface SystemdNotifierOptions {
  readonly env: NotifyEnvironment;
  /** The current status text (cameras' state); sent with READY and each watchdog ping when it changed. */
  readonly status: () => string;
  readonly log: Logger;
  readonly send?: SendNotify;
  /** How often STATUS= is refreshed when the watchdog is off. */
  readonly statusEveryMs?: number;
}

export class SystemdNotifier {
  private readonly options: SystemdNotifierOptions;
  private readonly send: SendNotify;
  /** Messages go out one at a time and in order (READY before the first ping, STOPPING last). */
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastStatus = '';
  private failures = 0;

  constructor(options: SystemdNotifierOptions) {
    this.options = options;
    this.send = options.send ?? sendWithSystemdNotify;
  }

  /**
   * The notifier for this process, or undefined when systemd did not ask for notifications. Removes the notify
   * variables from process.env so that no child (ffmpeg) inherits them, as sd_notify's unset_environment does.
   */
  static fromProcess(status: () => string, log: Logger): SystemdNotifier | undefined {
    const env = notifyEnvironment(process.env, process.pid);
    for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete process.env[name];
    return env ? new SystemdNotifier({ env, status, log }) : undefined;
  }

  get watchdogMs(): number | undefined {
    return this.options.env.watchdogMs;
  }

  /** Starts the watchdog pings (from the start: loading models does not block the loop) or the status refresh. */
  start(): void {
    if (this.timer) return;
    const every = this.options.env.watchdogMs ?? this.options.statusEveryMs ?? 15_000;
    this.timer = setInterval(() => this.tick(), every);
    if (this.options.env.watchdogMs !== undefined) this.tick();
  }

  /** STATUS= alone (e.g. "loading detectors"). */
  status(text: string): Promise<void> {
    return this.enqueue([`STATUS=${statusLine(text)}`]);
  }

  /** READY=1 with the current status. */
  ready(): Promise<void> {
    this.lastStatus = statusLine(this.options.status());
    return this.enqueue(['READY=1', `STATUS=${this.lastStatus}`]);
  }

  /** STOPPING=1: no more pings after it. */
  stopping(): Promise<void> {
    this.stop();
    return this.enqueue(['STOPPING=1', 'STATUS=stopping']);
  }

  /** Stops the timer; a message under way still goes out. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for every message queued so far. */
  flush(): Promise<void> {
    return this.chain;
  }

  private tick(): void {
    // A ping still waiting behind a slow one is enough: the queue never grows with a stuck systemd-notify.
    if (this.pending > 1) return;
    const status = statusLine(this.options.status());
    const assignments = this.options.env.watchdogMs !== undefined ? ['WATCHDOG=1'] : [];
    if (status !== this.lastStatus) assignments.push(`STATUS=${status}`);
    this.lastStatus = status;
    if (assignments.length > 0) void this.enqueue(assignments);
  }

  private enqueue(assignments: readonly string[]): Promise<void> {
    this.pending++;
    const run = this.chain.then(async () => {
      try {
        await this.send(this.options.env.socket, assignments);
        this.failures = 0;
      } catch (error) {
        // Logged on the first failure of a run, not on every ping.
        if (this.failures++ === 0) this.options.log.warn('systemd notification failed', { message: assignments[0], error: (error as Error).message });
      } finally {
        this.pending--;
      }
    });
    this.chain = run;
    return run;
  }
}
