/** Mirroring an image and mapping boxes found in the mirror back (src/core/image.ts), used by privacy.flip. */
import { describe, expect, it } from 'vitest';
import { mirrorBox, mirrorImage } from '../../src/core/image.ts';

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
