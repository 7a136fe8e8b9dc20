/** Axis-aligned rectangles in image pixels (x, y of the top-left corner), and the arithmetic on them. Pure. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function area(r: Rect): number {
  return Math.max(0, r.width) * Math.max(0, r.height);
}

export function intersection(a: Rect, b: Rect): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  return Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
}

export function iou(a: Rect, b: Rect): number {
  const inter = intersection(a, b);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** [x, y, width, height] (how detections carry their box) as a Rect. */
export function rectOf(box: readonly [number, number, number, number]): Rect {
  return { x: box[0], y: box[1], width: box[2], height: box[3] };
}
