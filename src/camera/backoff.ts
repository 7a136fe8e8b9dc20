/** Restart delays: initial, doubling to a cap; a run that lasted at least the cap resets the sequence. Pure. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export class Backoff {
  private failures = 0;
  readonly policy: BackoffPolicy;

  constructor(policy: BackoffPolicy) {
    this.policy = policy;
  }

  /** Delay before the next start, given how long the run that just ended lasted while healthy. */
  next(healthyRunMs: number): number {
    if (healthyRunMs >= this.policy.maxMs) this.failures = 0;
    const delay = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    return delay;
  }

  reset(): void {
    this.failures = 0;
  }
}
