import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isRunning, terminate } from '../../src/os/terminate.ts';

const start = (script: string) => {
  const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  return { child, exited };
};

describe('terminate', () => {
  it('ends a child that heeds SIGTERM without waiting for the grace time', async () => {
    const { child, exited } = start('exec sleep 30');
    const t0 = Date.now();
    await terminate(child, exited, 10_000);
    expect(child.signalCode).toBe('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(isRunning(child)).toBe(false);
  });

  it('kills a child that ignores SIGTERM once the grace time is over', async () => {
    // The shell ignores TERM and says so before it waits; only then is the signal sent.
    const { child, exited } = start('trap "" TERM; echo ready; while :; do sleep 0.05; done');
    await once(child.stdout!, 'data');
    const t0 = Date.now();
    await terminate(child, exited, 300);
    expect(child.signalCode).toBe('SIGKILL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('does nothing to a child that has exited already', async () => {
    const { child, exited } = start('exit 3');
    await exited;
    await terminate(child, new Promise(() => undefined));
    expect(child.exitCode).toBe(3);
  });
});
