/**
 * When is a result worth publishing? When it changed (face count, a box moved, the tag set), at most every
 * `minIntervalMs`, and at least every `heartbeatMs` even if nothing changed. Boxes jitter a few pixels between
 * frames; matching them by IoU makes "moved" mean moved, not jitter. Pure.
 */
import { iou, type Rect } from '../core/geometry.ts';

/** True when the counts differ or some box has no partner in `previous` with IoU >= minIou (greedy matching). */
export function boxesChanged(previous: readonly Rect[], next: readonly Rect[], minIou: number): boolean {
  if (previous.length !== next.length) return true;
  const used = new Set<number>();
  for (const box of next) {
    let best = -1;
    let bestIou = 0;
    previous.forEach((p, i) => {
      if (used.has(i)) return;
      const v = iou(p, box);
      if (v > bestIou) {
        bestIou = v;
        best = i;
      }
    });
    if (best < 0 || bestIou < minIou) return true;
    used.add(best);
  }
  return false;
}

export function tagsChanged(previous: readonly string[], next: readonly string[]): boolean {
  if (previous.length !== next.length) return true;
  const set = new Set(previous);
  return next.some((name) => !set.has(name));
}

export type Observation = { readonly kind: 'boxes'; readonly boxes: readonly Rect[] } | { readonly kind: 'tags'; readonly tags: readonly string[] };

/** Per camera and task: remembers what was last published and decides about the next result. */
export class PublishGate {
  private last: Observation | undefined;
  private lastAt = -Infinity;
  private readonly minIou: number;
  private readonly minIntervalMs: number;
  private readonly heartbeatMs: number;

  constructor(options: { minIou: number; minIntervalMs: number; heartbeatMs: number }) {
    this.minIou = options.minIou;
    this.minIntervalMs = options.minIntervalMs;
    this.heartbeatMs = options.heartbeatMs;
  }

  /** Whether to publish `next` now; when true, it becomes the reference. */
  offer(next: Observation, now: number): boolean {
    const elapsed = now - this.lastAt;
    const changed = this.last === undefined || changedFrom(this.last, next, this.minIou);
    const publish = (changed && elapsed >= this.minIntervalMs) || elapsed >= this.heartbeatMs;
    if (publish) {
      this.last = next;
      this.lastAt = now;
    }
    return publish;
  }
}

function changedFrom(previous: Observation, next: Observation, minIou: number): boolean {
  if (previous.kind === 'boxes' && next.kind === 'boxes') return boxesChanged(previous.boxes, next.boxes, minIou);
  if (previous.kind === 'tags' && next.kind === 'tags') return tagsChanged(previous.tags, next.tags);
  return true;
}
