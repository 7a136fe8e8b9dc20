/** Process helpers for tests: free ports, waiting for conditions, finding child processes by parent pid. */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Live (non-zombie) processes whose parent is `ppid` and whose command name is `name`. Zombies are listed separately. */
export function childProcesses(ppid: number, name: string): { live: number[]; zombies: number[] } {
  const live: number[] = [];
  const zombies: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...
    const match = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
    if (!match || Number(match[3]) !== ppid || match[1] !== name) continue;
    (match[2] === 'Z' ? zombies : live).push(Number(entry));
  }
  return { live, zombies };
}

/** A process's arguments joined by spaces ('' once it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Every process named `name` (any parent), for checking nothing was left behind. */
export function processesNamed(name: string, argvIncludes?: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const match = /^\d+ \((.*)\) (\S)/.exec(stat);
      if (!match || match[1] !== name || match[2] === 'Z') continue;
      if (argvIncludes && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(argvIncludes)) continue;
      out.push(Number(entry));
    } catch {
      continue;
    }
  }
  return out;
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}
