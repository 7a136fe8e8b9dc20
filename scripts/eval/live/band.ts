/**
 * The frame number stamped in a band under the picture of the live test clip, so that a snapshot of the camera
 * tells exactly which clip frame it shows. 16 bits of frame number and a 4-bit checksum, each bit drawn as a pair
 * of cells (white-black for 1, black-white for 0): a bit is read by comparing the two cells of its pair, with no
 * threshold to tune, and a pair that does not differ clearly or shows colour (a fill box over it, a smeared
 * keyframe) is an erased bit rather than a wrong one. The code is written twice, left and right half of the band,
 * and each bit is taken from whichever copy shows it: a hidden region reaching into the band (a large face at the
 * picture's bottom edge, grown by the margin) erases the same bit in both copies only when it spans half the
 * width. The checksum catches what is left. Pure functions over packed RGB.
 */
import type { RgbImage } from '../../../src/core/image.ts';

export const BAND_BITS = 20;
/** Cells per copy of the code: two per bit. */
export const CELLS_PER_COPY = BAND_BITS * 2;
export const MAX_FRAME_NUMBER = 0xffff;
/** Two cells of one pair must differ by at least this much luma (0..255) to be read. */
export const MIN_PAIR_CONTRAST = 64;

export function checksum(n: number): number {
  return (n ^ (n >> 4) ^ (n >> 8) ^ (n >> 12) ^ 0xa) & 0xf;
}

/** The 20 bits of a frame number, most significant first: 16 of number, 4 of checksum. */
export function bandBits(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_FRAME_NUMBER) throw new RangeError(`frame number ${n} outside 0..${MAX_FRAME_NUMBER}`);
  const word = (n << 4) | checksum(n);
  return Array.from({ length: BAND_BITS }, (_, i) => (word >> (BAND_BITS - 1 - i)) & 1);
}

/** The number the bits carry, or undefined when the checksum does not match. */
export function numberFromBits(bits: readonly number[]): number | undefined {
  if (bits.length !== BAND_BITS) return undefined;
  const word = bits.reduce((acc, b) => (acc << 1) | (b ? 1 : 0), 0);
  const n = word >> 4;
  return (word & 0xf) === checksum(n) ? n : undefined;
}

export interface BandLayout {
  /** Frame width (the band spans it). */
  readonly width: number;
  /** First row of the band (the picture's height). */
  readonly top: number;
  readonly height: number;
}

export function cellWidth(layout: BandLayout): number {
  const w = Math.floor(layout.width / (2 * CELLS_PER_COPY));
  if (w < 4) throw new RangeError(`a band ${layout.width} px wide is too narrow for ${2 * CELLS_PER_COPY} cells`);
  return w;
}

/** Draw the band of frame `n` into `frame` (packed RGB, frame.width = layout.width), rows top .. top+height. */
export function drawBand(frame: RgbImage, layout: BandLayout, n: number): void {
  const bits = bandBits(n);
  const cw = cellWidth(layout);
  const cells = bits.flatMap((b) => (b ? [255, 0] : [0, 255]));
  const row = new Uint8Array(frame.width * 3).fill(128);
  for (let copy = 0; copy < 2; copy++) {
    const x0 = copy * (frame.width >> 1);
    cells.forEach((v, c) => row.fill(v, (x0 + c * cw) * 3, (x0 + (c + 1) * cw) * 3));
  }
  for (let y = layout.top; y < layout.top + layout.height; y++) frame.data.set(row, y * frame.width * 3);
}

/** A cell's pixels may stray this far from grey (R = G = B) and still be band, not a fill colour over it. */
const MAX_CHROMA = 60;

/**
 * Mean luma of the middle of a cell (a quarter of its width and of the band's height kept clear of each edge), or
 * NaN when a coloured pixel shows there (something drawn over the band).
 */
function cellLuma(frame: RgbImage, layout: BandLayout, x0: number, cw: number): number {
  const xa = x0 + Math.floor(cw / 4);
  const xb = x0 + cw - Math.floor(cw / 4);
  const ya = layout.top + Math.floor(layout.height / 4);
  const yb = layout.top + layout.height - Math.floor(layout.height / 4);
  let sum = 0;
  let count = 0;
  for (let y = ya; y < yb; y++) {
    for (let x = xa; x < xb; x++) {
      const i = (y * frame.width + x) * 3;
      const r = frame.data[i];
      const g = frame.data[i + 1];
      const b = frame.data[i + 2];
      if (Math.max(r, g, b) - Math.min(r, g, b) > MAX_CHROMA) return Number.NaN;
      sum += 0.299 * r + 0.587 * g + 0.114 * b;
      count += 1;
    }
  }
  return count > 0 ? sum / count : 0;
}

/** The bits of one copy, undefined where a bit is erased. */
function readCopy(frame: RgbImage, layout: BandLayout, copy: number): (number | undefined)[] {
  const cw = cellWidth(layout);
  const x0 = copy * (frame.width >> 1);
  return Array.from({ length: BAND_BITS }, (_, b) => {
    const a = cellLuma(frame, layout, x0 + 2 * b * cw, cw);
    const c = cellLuma(frame, layout, x0 + (2 * b + 1) * cw, cw);
    // NaN (a coloured cell) fails this test too.
    if (!(Math.abs(a - c) >= MIN_PAIR_CONTRAST)) return undefined;
    return a > c ? 1 : 0;
  });
}

/** The frame number in the band, or undefined when a bit is erased in both copies, the copies disagree, or the checksum fails. */
export function readBand(frame: RgbImage, layout: BandLayout): number | undefined {
  return readBands(frame, [layout]);
}

/** The same over several bands (one above the picture, one below): each bit from any copy that shows it. */
export function readBands(frame: RgbImage, layouts: readonly BandLayout[]): number | undefined {
  if (layouts.some((l) => frame.width !== l.width || frame.height < l.top + l.height)) return undefined;
  const copies = layouts.flatMap((l) => [readCopy(frame, l, 0), readCopy(frame, l, 1)]);
  const bits: number[] = [];
  for (let b = 0; b < BAND_BITS; b++) {
    const shown = copies.map((c) => c[b]).filter((v): v is number => v !== undefined);
    if (shown.length === 0 || shown.some((v) => v !== shown[0])) return undefined;
    bits.push(shown[0]);
  }
  return numberFromBits(bits);
}
