import { describe, expect, it } from 'vitest';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { RaypackError } from '../../src/errors.ts';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('InferenceQueue', () => {
  it('runs at most `concurrency` jobs and refuses beyond `capacity` waiting', async () => {
    const queue = new InferenceQueue({ concurrency: 1, capacity: 2 });
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    let active = 0;
    let peak = 0;
    const jobs = gates.map((gate, i) =>
      queue.run(async () => {
        active += 1;
        peak = Math.max(peak, active);
        const value = await gate.promise;
        active -= 1;
        return value * 10 + i;
      }),
    );
    expect(queue.stats()).toMatchObject({ running: 1, waiting: 2 });
    expect(queue.hasRoom()).toBe(false);
    const refused = queue.run(async () => 0);
    await expect(refused).rejects.toBeInstanceOf(RaypackError);
    await expect(refused).rejects.toMatchObject({ code: 'busy', status: 503 });
    gates.forEach((gate, i) => gate.resolve(i));
    expect(await Promise.all(jobs)).toEqual([0, 11, 22]);
    expect(peak).toBe(1);
    expect(queue.stats()).toEqual({ running: 0, waiting: 0, completed: 3, rejected: 1, failed: 0 });
  });

  it('keeps going after a job fails', async () => {
    const queue = new InferenceQueue({ concurrency: 2, capacity: 0 });
    await expect(queue.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await queue.run(async () => 'ok')).toBe('ok');
    expect(queue.stats()).toMatchObject({ completed: 1, failed: 1, running: 0 });
  });

  it('says when it is idle: at once when empty, else once the running and the waiting jobs are done', async () => {
    const queue = new InferenceQueue({ concurrency: 1, capacity: 2 });
    await queue.idle();
    const gates = [deferred<number>(), deferred<number>()];
    const jobs = gates.map((gate) => queue.run(() => gate.promise));
    let idle = false;
    const waiting = queue.idle().then(() => (idle = true));
    gates[0].resolve(1);
    await jobs[0];
    await Promise.resolve();
    expect(idle).toBe(false);
    gates[1].resolve(2);
    await waiting;
    expect(queue.stats()).toMatchObject({ running: 0, waiting: 0, completed: 2 });
  });
});
