/** Mirroring an image (privacy.flip) and framing it with its mirror image (privacy.border), and mapping boxes back (src/core/image.ts). */
import { describe, expect, it } from 'vitest';
import { mirrorBorder, mirrorBox, mirrorImage, unborderBox } from '../../src/core/image.ts';

describe('mirrorImage / mirrorBox', () => {
  it('reverses each row and keeps the channels of a pixel together', () => {
    // 3x2 image, pixel (x, y) = [10x+y, 100+x, 200+y].
    const width = 3;
    const height = 2;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([10 * x + y, 100 + x, 200 + y], (y * width + x) * 3);
    const m = mirrorImage({ width, height, data });
    expect([m.width, m.height]).toEqual([3, 2]);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const src = width - 1 - x;
        expect(Array.from(m.data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3))).toEqual([10 * src + y, 100 + src, 200 + y]);
      }
    }
    // A copy: the input is untouched.
    expect(data[0]).toBe(0);
    expect(mirrorImage(m).data).toEqual(data);
  });

  it('maps a box of the mirrored image back onto the same pixels of the original', () => {
    expect(mirrorBox([0, 5, 10, 20], 100)).toEqual([90, 5, 10, 20]);
    expect(mirrorBox([40, 0, 20, 10], 100)).toEqual([40, 0, 20, 10]);
    expect(mirrorBox(mirrorBox([13, 7, 21, 9], 64), 64)).toEqual([13, 7, 21, 9]);
  });
});

describe('mirrorBorder / unborderBox', () => {
  const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

  it('frames the image with its mirror image, the edge pixel not repeated, the middle a copy', () => {
    // 4x3 image, pixel (x, y) = [x, y, 7].
    const width = 4;
    const height = 3;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
    const b = mirrorBorder({ width, height, data }, 2, 1);
    expect([b.width, b.height]).toEqual([8, 5]);
    // Columns -2 -1 | 0 1 2 3 | 4 5 read source columns 2 1 | 0 1 2 3 | 2 1; rows -1 | 0 1 2 | 3 read 1 | 0 1 2 | 1.
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((x) => pixel(b, x, 1)[0])).toEqual([2, 1, 0, 1, 2, 3, 2, 1]);
    expect([0, 1, 2, 3, 4].map((y) => pixel(b, 3, y)[1])).toEqual([1, 0, 1, 2, 1]);
    expect(pixel(b, 0, 0)).toEqual([2, 1, 7]);
    // No border: the same pixels.
    expect(mirrorBorder({ width, height, data }, 0, 0).data).toEqual(data);
    // A border wider than the image reflects back and forth instead of reading outside it.
    const wide = mirrorBorder({ width: 2, height: 1, data: new Uint8Array([0, 0, 0, 9, 9, 9]) }, 3, 0);
    expect(Array.from({ length: wide.width }, (_, x) => pixel(wide, x, 0)[0])).toEqual([9, 0, 9, 0, 9, 0, 9, 0]);
  });

  it('maps a box back into the image, clipped, and drops one that lies mostly in the border', () => {
    // 100x50 image with a border of 20 / 10: the image starts at (20, 10).
    expect(unborderBox([30, 20, 10, 10], 20, 10, 100, 50)).toEqual([10, 10, 10, 10]);
    // Half in the left border: the half inside the image is kept.
    expect(unborderBox([10, 20, 20, 10], 20, 10, 100, 50)).toEqual([0, 10, 10, 10]);
    // A fifth inside: the mirror image of a face near the edge, dropped.
    expect(unborderBox([0, 20, 25, 10], 20, 10, 100, 50)).toBeUndefined();
    expect(unborderBox([0, 0, 15, 8], 20, 10, 100, 50)).toBeUndefined();
  });
});
