/** The key-failure limiter on fake time: soft and hard blocks, known keys, no reset by a success, bounded memory. */
import { describe, expect, it } from 'vitest';
import { FailureLimiter, MISSING_KEY } from '../../src/auth/failure-limiter.ts';

function clock(start = 1_000_000) {
  const c = { now: start };
  return { c, now: () => c.now };
}

describe('FailureLimiter', () => {
  it('soft block after maxFailures checked failures: unknown keys refused, keys known at the address still checked', () => {
    const { c, now } = clock();
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 60_000, now });
    limiter.recordSuccess('nat', 'good');
    for (let i = 0; i < 2; i += 1) limiter.recordFailure('nat', 'stale');
    expect(limiter.verdict('nat', 'other')).toEqual({ check: true });
    limiter.recordFailure('nat', 'stale');
    expect(limiter.verdict('nat', 'other')).toEqual({ check: false, retryAfterSeconds: 60, hard: false });
    expect(limiter.verdict('nat', MISSING_KEY)).toMatchObject({ check: false });
    expect(limiter.verdict('nat', 'good')).toEqual({ check: true });
    // Another address is not affected.
    expect(limiter.verdict('elsewhere', 'other')).toEqual({ check: true });
    c.now += 30_000;
    expect(limiter.verdict('nat', 'other')).toMatchObject({ retryAfterSeconds: 30 });
    c.now += 30_000;
    expect(limiter.verdict('nat', 'other')).toEqual({ check: true });
  });

  it('the window slides: the block lasts until the maxFailures-th newest failure is a window old', () => {
    const { c, now } = clock();
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 10_000, now });
    for (const dt of [0, 4000, 4000, 4000]) {
      c.now += dt;
      limiter.recordFailure('a', 'k');
    }
    // Failures at 4, 8, 12 s (the one at 0 s is out): blocked until 14 s.
    expect(limiter.verdict('a', 'x')).toMatchObject({ check: false, retryAfterSeconds: 2 });
    c.now += 2000;
    expect(limiter.verdict('a', 'x')).toEqual({ check: true });
  });

  it('a success does not clear failures (9 wrong, 1 right, 1 wrong: blocked)', () => {
    const { now } = clock();
    const limiter = new FailureLimiter({ maxFailures: 10, now });
    for (let i = 0; i < 9; i += 1) limiter.recordFailure('a', `admin-guess-${i}`);
    limiter.recordSuccess('a', 'mine');
    limiter.recordFailure('a', 'admin-guess-9');
    expect(limiter.verdict('a', 'admin-guess-10')).toMatchObject({ check: false, hard: false });
    // Its own, known key still works on ordinary routes.
    expect(limiter.verdict('a', 'mine')).toEqual({ check: true });
  });

  it('hard block after maxDistinctKeys different wrong keys, refused ones included: known keys refused too', () => {
    const { c, now } = clock();
    const limiter = new FailureLimiter({ maxFailures: 3, maxDistinctKeys: 6, windowMs: 60_000, now });
    limiter.recordSuccess('nat', 'good');
    for (let i = 0; i < 3; i += 1) limiter.recordFailure('nat', `g${i}`);
    for (let i = 3; i < 5; i += 1) {
      expect(limiter.verdict('nat', `g${i}`).check).toBe(false);
      limiter.recordRefusal('nat', `g${i}`);
    }
    expect(limiter.verdict('nat', 'good')).toEqual({ check: true });
    limiter.recordRefusal('nat', 'g5');
    expect(limiter.verdict('nat', 'good')).toEqual({ check: false, retryAfterSeconds: 60, hard: true });
    expect(limiter.hardRetryAfterSeconds('nat')).toBe(60);
    c.now += 60_001;
    expect(limiter.verdict('nat', 'good')).toEqual({ check: true });
  });

  it('one wrong key repeated (a misconfigured client) never makes a hard block', () => {
    const { c, now } = clock();
    const limiter = new FailureLimiter({ maxFailures: 3, maxDistinctKeys: 6, now });
    limiter.recordSuccess('nat', 'good');
    for (let i = 0; i < 1000; i += 1) {
      c.now += 100;
      if (limiter.verdict('nat', 'stale').check) limiter.recordFailure('nat', 'stale');
      else limiter.recordRefusal('nat', 'stale');
    }
    expect(limiter.hardRetryAfterSeconds('nat')).toBe(0);
    expect(limiter.verdict('nat', 'good')).toEqual({ check: true });
  });

  it('a refused known key does not count as a wrong key; trust expires', () => {
    const { c, now } = clock();
    const limiter = new FailureLimiter({ maxFailures: 1, maxDistinctKeys: 2, trustMs: 1000, windowMs: 60_000, now });
    limiter.recordSuccess('a', 'good');
    limiter.recordFailure('a', 'bad');
    limiter.recordRefusal('a', 'good');
    expect(limiter.hardRetryAfterSeconds('a')).toBe(0);
    c.now += 1000;
    expect(limiter.verdict('a', 'good').check).toBe(false);
  });

  it('stays bounded under a flood of addresses, failures and successes alike', () => {
    const { c, now } = clock(0);
    const limiter = new FailureLimiter({ maxEntries: 100, windowMs: 1000, now });
    for (let i = 0; i < 10_000; i += 1) {
      c.now += 1;
      limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`, `k${i}`);
      limiter.recordSuccess(`10.1.${i >> 8}.${i & 255}`, `k${i}`);
    }
    expect(limiter.size).toBeLessThanOrEqual(100);
    expect(limiter.knownSize).toBeLessThanOrEqual(100);
  });
});
