/**
 * Ending a child process we started: SIGTERM, then SIGKILL if it has not exited after the grace time, and wait
 * for `exited` (its 'close' or 'exit', as the caller listens) so that no zombie or half-read pipe is left.
 */
import type { ChildProcess } from 'node:child_process';

export const DEFAULT_KILL_GRACE_MS = 2000;

/** Whether the child is still running (neither exited nor ended by a signal). */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM `child`, SIGKILL it after `graceMs` if `exited` has not resolved by then; resolves with `exited`. */
export async function terminate(child: ChildProcess, exited: Promise<unknown>, graceMs: number = DEFAULT_KILL_GRACE_MS): Promise<void> {
  if (!isRunning(child)) return;
  child.kill('SIGTERM');
  const kill = setTimeout(() => {
    if (isRunning(child)) child.kill('SIGKILL');
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(kill);
  }
}
