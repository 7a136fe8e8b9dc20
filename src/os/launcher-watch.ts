/**
 * The daemon must not outlive the process that started it. `npx raypack-edge start` (and `npm start`) put npm and
 * a `sh -c` between the terminal and the daemon; npm exec does not forward SIGTERM, so killing npx left the daemon
 * and its ffmpeg running with init as their parent. When started through npm, this watches the launcher chain (the
 * parent and every ancestor up to the npm process, by pid and start time, read from /proc) and reports the first
 * that is gone (or a change of our parent), so that start.ts shuts down as on SIGTERM. Started any other way
 * (systemd, a shell, nohup), nothing is watched: `nohup raypack-edge start &` keeps its meaning.
 */
import { readFileSync } from 'node:fs';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): tells a reused pid apart. */
  readonly startTime: number;
  readonly command: string;
}

/** Parse /proc/<pid>/stat; `comm` (field 2) may hold spaces and parentheses, so fields are counted from its end. */
export function parseStat(text: string): { ppid: number; startTime: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, starttime field 22.
  const ppid = Number(fields[1]);
  const startTime = Number(fields[19]);
  return Number.isFinite(ppid) && Number.isFinite(startTime) ? { ppid, startTime } : undefined;
}

export function readProcess(pid: number, proc = '/proc'): ProcessInfo | undefined {
  try {
    const stat = parseStat(readFileSync(`${proc}/${pid}/stat`, 'utf8'));
    if (!stat) return undefined;
    const command = readFileSync(`${proc}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, ...stat, command };
  } catch {
    return undefined;
  }
}

/** `npm exec ...`, `npm start`, `node /usr/lib/node_modules/npm/bin/npm-cli.js ...`, `npx ...`. */
export function isNpm(command: string): boolean {
  return /(^|[\s/])(npm|npx)(-cli\.js)?(\s|$)/.test(command);
}

/**
 * The processes to watch: the ancestors from the parent up to and including the nearest npm process, when there is
 * one below init; none otherwise.
 */
export function launcherChain(start: number, read: (pid: number) => ProcessInfo | undefined): ProcessInfo[] {
  const chain: ProcessInfo[] = [];
  for (let pid = start, hops = 0; pid > 1 && hops < 16; hops++) {
    const info = read(pid);
    if (!info) return [];
    chain.push(info);
    if (isNpm(info.command)) return chain;
    pid = info.ppid;
  }
  return [];
}

/**
 * Polls the launcher chain every `intervalMs` and calls `onGone` once with what happened. Returns a stop
 * function; the timer never keeps the process alive by itself.
 */
export function watchLauncher(onGone: (why: string) => void, options: { intervalMs?: number; proc?: string } = {}): () => void {
  const read = (pid: number): ProcessInfo | undefined => readProcess(pid, options.proc);
  const chain = launcherChain(process.ppid, read);
  if (chain.length === 0) return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    let why: string | undefined;
    if (process.ppid !== parent) why = `our parent process ${parent} exited`;
    const gone = chain.find((p) => read(p.pid)?.startTime !== p.startTime);
    if (!why && gone) why = `the launcher process ${gone.pid} (${gone.command.slice(0, 60)}) exited`;
    if (why) {
      clearInterval(timer);
      onGone(why);
    }
  }, options.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}
