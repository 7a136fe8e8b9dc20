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

/**
 * Margins as fractions of a face box: more above (forehead, hair) than below (chin). A detector's box is tight
 * around eyes, nose and mouth, while hair, forehead, ears and chin identify a person too: a hidden face is its box
 * grown by the margin (src/image/anonymize.ts renders it, src/analysis/privacy.ts reasons about it).
 */
export interface Margin {
  readonly side: number;
  readonly top: number;
  readonly bottom: number;
}

export const DEFAULT_MARGIN: Margin = { side: 0.2, top: 0.3, bottom: 0.15 };

/** Integer rectangle clipped to the image; grows `box` by the margin first. */
export function expandWithMargin(box: Rect, imageWidth: number, imageHeight: number, margin: Margin = DEFAULT_MARGIN): Rect {
  const x0 = Math.max(0, Math.floor(box.x - box.width * margin.side));
  const y0 = Math.max(0, Math.floor(box.y - box.height * margin.top));
  const x1 = Math.min(imageWidth, Math.ceil(box.x + box.width * (1 + margin.side)));
  const y1 = Math.min(imageHeight, Math.ceil(box.y + box.height * (1 + margin.bottom)));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}
