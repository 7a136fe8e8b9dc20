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
