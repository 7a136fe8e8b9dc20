/**
 * Privacy masks: polygons blacked out in a camera frame before anything else sees it (detectors, snapshots,
 * MJPEG), so a masked area can never leave the device. The polygons are rasterised once per camera into
 * horizontal spans (even-odd rule, sampled at pixel centres); applying them to a frame is a few `fill(0)` calls.
 */
export type Polygon = ReadonlyArray<readonly [number, number]>;

/** Byte ranges [start, end) in a packed RGB frame to zero. */
export interface MaskSpans {
  readonly width: number;
  readonly height: number;
  readonly spans: Int32Array;
  /** Pixels covered (for logs and tests). */
  readonly pixels: number;
}

export function rasterisePolygons(polygons: readonly Polygon[], width: number, height: number): MaskSpans {
  const ranges: number[] = [];
  let pixels = 0;
  for (let y = 0; y < height; y += 1) {
    const cy = y + 0.5;
    const row: Array<[number, number]> = [];
    for (const polygon of polygons) {
      if (polygon.length < 3) continue;
      const xs: number[] = [];
      for (let i = 0; i < polygon.length; i += 1) {
        const [x1, y1] = polygon[i];
        const [x2, y2] = polygon[(i + 1) % polygon.length];
        if ((y1 <= cy && y2 > cy) || (y2 <= cy && y1 > cy)) xs.push(x1 + ((cy - y1) / (y2 - y1)) * (x2 - x1));
      }
      xs.sort((a, b) => a - b);
      for (let i = 0; i + 1 < xs.length; i += 2) {
        // Pixel x is inside when its centre x + 0.5 lies in [xs[i], xs[i+1]).
        const start = Math.max(0, Math.ceil(xs[i] - 0.5));
        const end = Math.min(width, Math.ceil(xs[i + 1] - 0.5));
        if (end > start) row.push([start, end]);
      }
    }
    // Merge overlapping spans of different polygons on this row.
    row.sort((a, b) => a[0] - b[0]);
    let current: [number, number] | undefined;
    for (const span of row) {
      if (current && span[0] <= current[1]) current[1] = Math.max(current[1], span[1]);
      else {
        if (current) {
          ranges.push((y * width + current[0]) * 3, (y * width + current[1]) * 3);
          pixels += current[1] - current[0];
        }
        current = [span[0], span[1]];
      }
    }
    if (current) {
      ranges.push((y * width + current[0]) * 3, (y * width + current[1]) * 3);
      pixels += current[1] - current[0];
    }
  }
  return { width, height, spans: Int32Array.from(ranges), pixels };
}

/** Black out the masked pixels of `frame` in place. */
export function applyMask(frame: Uint8Array, mask: MaskSpans): void {
  if (frame.length !== mask.width * mask.height * 3) throw new Error(`frame of ${frame.length} bytes does not match a ${mask.width}x${mask.height} mask`);
  const spans = mask.spans;
  for (let i = 0; i < spans.length; i += 2) frame.fill(0, spans[i], spans[i + 1]);
}
