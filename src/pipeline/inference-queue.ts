/**
 * One bounded inference queue shared by the cameras and the HTTP API. At most `concurrency` jobs run at once and
 * at most `capacity` wait; a job that does not fit is refused at once (the API answers 503 with Retry-After, a
 * camera drops the frame and counts it). Nothing waits without bound.
 */
import { RaypackError } from '../errors.ts';

export interface QueueStats {
  readonly running: number;
  readonly waiting: number;
  readonly completed: number;
  readonly rejected: number;
  readonly failed: number;
}

interface Pending {
  readonly run: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export class InferenceQueue {
  readonly concurrency: number;
  readonly capacity: number;
  private readonly waiting: Pending[] = [];
  private running = 0;
  private completed = 0;
  private rejected = 0;
  private failed = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(options: { concurrency?: number; capacity?: number } = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.capacity = Math.max(0, options.capacity ?? 8);
  }

  /** True when a new job would be accepted right now. */
  hasRoom(): boolean {
    return this.running < this.concurrency || this.waiting.length < this.capacity;
  }

  /** Run `job` when a slot is free; throws RaypackError('busy') at once when the queue is full. */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (!this.hasRoom()) {
      this.rejected += 1;
      return Promise.reject(new RaypackError('busy', 'the inference queue is full, try again shortly', { retryAfterSeconds: 1 }));
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ run: job, resolve: resolve as (value: unknown) => void, reject });
      this.pump();
    });
  }

  /** Resolves once no job runs or waits (at once when none does): the daemon closes the models only then. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): QueueStats {
    return { running: this.running, waiting: this.waiting.length, completed: this.completed, rejected: this.rejected, failed: this.failed };
  }

  /** Free the slot before the caller sees the result, so stats are exact when its await returns. */
  private finish(outcome: 'completed' | 'failed'): void {
    this.running -= 1;
    this[outcome] += 1;
    queueMicrotask(() => {
      this.pump();
      if (this.running === 0 && this.waiting.length === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
    });
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.running += 1;
      // A job that throws synchronously must still free its slot.
      Promise.resolve().then(next.run).then(
        (value) => {
          this.finish('completed');
          next.resolve(value);
        },
        (error: unknown) => {
          this.finish('failed');
          next.reject(error);
        },
      );
    }
  }
}
