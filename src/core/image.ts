/** A decoded image: tightly packed RGB, 3 bytes per pixel, row-major. Shared by decode, detection, rendering and cameras. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** The image mirrored left to right (a copy). */
export function mirrorImage(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0, to = row + (width - 1) * 3; x < width; x++, to -= 3) {
      const from = row + x * 3;
      out[to] = data[from];
      out[to + 1] = data[from + 1];
      out[to + 2] = data[from + 2];
    }
  }
  return { width, height, data: out };
}

/** A box `[x, y, width, height]` found in the mirrored image (mirrorImage), in the image's own pixels. */
export function mirrorBox(box: readonly [number, number, number, number], imageWidth: number): [number, number, number, number] {
  return [imageWidth - box[0] - box[2], box[1], box[2], box[3]];
}

/** Index `i` reflected into [0, n) about the edges without repeating the edge pixel (…2 1 | 0 1 2 … n-1 | n-2 …). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const k = ((i % period) + period) % period;
  return k < n ? k : period - k;
}

/**
 * The image framed by a border of `left` pixels on either side and `top` above and below, filled with the image's
 * own mirror image (a copy). A face cut by the image edge is completed by its reflection, and every face is seen a
 * little smaller by a model that scales the whole to its input: privacy.border.
 */
export function mirrorBorder(image: RgbImage, left: number, top: number): RgbImage {
  const { width, height, data } = image;
  const bx = Math.max(0, Math.round(left));
  const by = Math.max(0, Math.round(top));
  const outWidth = width + 2 * bx;
  const outHeight = height + 2 * by;
  const out = new Uint8Array(outWidth * outHeight * 3);
  // Source column of each output column, once.
  const columns = new Int32Array(outWidth);
  for (let x = 0; x < outWidth; x++) columns[x] = reflect(x - bx, width) * 3;
  const rowBytes = outWidth * 3;
  const borders = [
    [0, bx],
    [bx + width, outWidth],
  ] as const;
  // The image's own rows with their left and right borders, then the rows above and below as copies of those.
  for (let y = 0; y < height; y++) {
    const from = y * width * 3;
    const row = (y + by) * rowBytes;
    out.set(data.subarray(from, from + width * 3), row + bx * 3);
    // The border columns, left then right (the image's own columns are the copy above).
    for (const [start, end] of borders) {
      for (let x = start; x < end; x++) {
        const s = from + columns[x];
        out[row + x * 3] = data[s];
        out[row + x * 3 + 1] = data[s + 1];
        out[row + x * 3 + 2] = data[s + 2];
      }
    }
  }
  for (let y = 0; y < outHeight; y++) {
    if (y >= by && y < by + height) continue;
    const source = (reflect(y - by, height) + by) * rowBytes;
    out.copyWithin(y * rowBytes, source, source + rowBytes);
  }
  return { width: outWidth, height: outHeight, data: out };
}

/**
 * A box found in the bordered image (mirrorBorder), in the image's own pixels: clipped to the image, and undefined
 * when less than `minInside` of it lies inside (a face of the mirrored border, or a sliver of one).
 */
export function unborderBox(box: readonly [number, number, number, number], left: number, top: number, width: number, height: number, minInside = 0.3): [number, number, number, number] | undefined {
  const x0 = Math.max(0, box[0] - left);
  const y0 = Math.max(0, box[1] - top);
  const x1 = Math.min(width, box[0] + box[2] - left);
  const y1 = Math.min(height, box[1] + box[3] - top);
  if (x1 - x0 < 1 || y1 - y0 < 1) return undefined;
  return (x1 - x0) * (y1 - y0) >= minInside * box[2] * box[3] ? [x0, y0, x1 - x0, y1 - y0] : undefined;
}
