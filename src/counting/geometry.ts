/**
 * Plane geometry for zones and lines, in pixels (the counter maps the normalised config to the frame first). Pure.
 * Image coordinates: x to the right, y DOWN, as on the screen.
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * Signed distance (px) of `p` from the infinite line through a and b: positive on the RIGHT of a->b as seen on the
 * screen (travelling from a to b, the right hand), negative on its left. With y down, the screen's right of a->b is
 * where the 2-D cross product (b - a) x (p - a) is positive.
 */
export function sideDistance(a: Point, b: Point, p: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy);
  return (dx * (p.y - a.y) - dy * (p.x - a.x)) / length;
}

/**
 * Whether the move from p to q passes the segment a-b between its ends: the point where p->q meets the line through
 * a and b lies on the segment (its parameter along a->b in [0, 1]). p and q are on opposite sides.
 */
export function crossesSegment(a: Point, b: Point, p: Point, q: Point): boolean {
  const dp = sideDistance(a, b, p);
  const dq = sideDistance(a, b, q);
  if (dp === dq) return false;
  const k = dp / (dp - dq);
  const at = { x: p.x + k * (q.x - p.x), y: p.y + k * (q.y - p.y) };
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const t = ((at.x - a.x) * dx + (at.y - a.y) * dy) / (dx * dx + dy * dy);
  return t >= 0 && t <= 1;
}

/** Even-odd rule: whether p lies inside the polygon (points in order, closed implicitly). */
export function insidePolygon(polygon: readonly Point[], p: Point): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i];
    const b = polygon[j];
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/**
 * Distance (px) from p to the polygon's boundary; edges for which `skip(i)` is true (edge i runs from corner i - 1
 * to corner i) are left out, Infinity when every edge is.
 */
export function boundaryDistance(polygon: readonly Point[], p: Point, skip: (edge: number) => boolean = () => false): number {
  let best = Infinity;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) if (!skip(i)) best = Math.min(best, segmentDistance(polygon[j], polygon[i], p));
  return best;
}

/** Signed distance into the polygon: positive inside, negative outside (px); `skip` as in boundaryDistance. */
export function depthInside(polygon: readonly Point[], p: Point, skip?: (edge: number) => boolean): number {
  const d = boundaryDistance(polygon, p, skip);
  return insidePolygon(polygon, p) ? d : -d;
}

function segmentDistance(a: Point, b: Point, p: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const l2 = dx * dx + dy * dy;
  const t = l2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / l2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/** Whether a polygon's edges cross each other (a bow tie): its inside would be ambiguous. Touching ends do not count. */
export function selfIntersects(polygon: readonly Point[]): boolean {
  const n = polygon.length;
  const edge = (i: number): [Point, Point] => [polygon[i], polygon[(i + 1) % n]];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      const [a, b] = edge(i);
      const [c, d] = edge(j);
      const o1 = orient(a, b, c);
      const o2 = orient(a, b, d);
      const o3 = orient(c, d, a);
      const o4 = orient(c, d, b);
      if (o1 * o2 < 0 && o3 * o4 < 0) return true;
    }
  }
  return false;
}

/** The area a polygon encloses (the shoelace formula; corners in order around it). */
export function polygonArea(polygon: readonly Point[]): number {
  let twice = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) twice += polygon[j].x * polygon[i].y - polygon[i].x * polygon[j].y;
  return Math.abs(twice) / 2;
}

function orient(a: Point, b: Point, c: Point): number {
  return Math.sign((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x));
}
