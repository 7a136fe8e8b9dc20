/**
 * A real systemd notify socket for tests: notify-listener.py (Debian's python3) binds an AF_UNIX datagram socket in
 * a temporary folder, reads each message with the sender's kernel credentials and answers barriers as systemd does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './rtsp.ts';
import { waitFor } from './processes.ts';

const LISTENER = join(import.meta.dirname, 'notify-listener.py');
const PYTHON = '/usr/bin/python3';

export interface NotifyMessage {
  /** When the listener received it (ms since the epoch, the listener's clock: a blocked test loop does not shift it). */
  readonly at: number;
  readonly pid: number;
  readonly uid: number;
  readonly text: string;
  /** The assignments (READY, STATUS, WATCHDOG, ...). */
  readonly fields: Readonly<Record<string, string>>;
}

export function notifySocketAvailable(): boolean {
  return existsSync(PYTHON);
}

export class NotifySocket {
  readonly messages: NotifyMessage[] = [];
  private readonly dir = makeTempDir('raypack-notify-');
  readonly path = join(this.dir, 'notify.sock');
  private child: ChildProcess | undefined;
  private listening = false;

  async start(): Promise<void> {
    const child = spawn(PYTHON, [LISTENER, this.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    let rest = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        const parsed = JSON.parse(line) as { listening?: string; t: number; pid: number; uid: number; text: string };
        if (parsed.listening) {
          this.listening = true;
          continue;
        }
        const fields = Object.fromEntries(parsed.text.split('\n').filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
        this.messages.push({ at: parsed.t, pid: parsed.pid, uid: parsed.uid, text: parsed.text, fields });
      }
    });
    await waitFor(() => this.listening || (child.exitCode !== null ? Promise.reject(new Error('notify listener exited')) : false), 10_000, 'the notify listener');
  }

  /** Messages that set `key` (BARRIER=1 messages are systemd-notify's own and are left out by callers). */
  with(key: string): NotifyMessage[] {
    return this.messages.filter((m) => key in m.fields);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
