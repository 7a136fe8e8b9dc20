/**
 * The frame number stamped in a band under the picture of the live test clip, so that a snapshot of the camera
 * tells exactly which clip frame it shows. 16 bits of frame number and a 4-bit checksum, each bit drawn as a pair
 * of cells (white-black for 1, black-white for 0): a bit is read by comparing the two cells of its pair, with no
 * threshold to tune, and a pair that does not differ clearly (a fill box over it, a smeared keyframe) makes the
 * read fail rather than give a wrong number. The code is written twice, left and right half of the band, so a
 * hidden region reaching into one half still leaves the other. Pure functions over packed RGB.
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

/** Mean luma of the middle of a cell (a quarter of its width and of the band's height kept clear of each edge). */
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
      sum += 0.299 * frame.data[i] + 0.587 * frame.data[i + 1] + 0.114 * frame.data[i + 2];
      count += 1;
    }
  }
  return count > 0 ? sum / count : 0;
}

function readCopy(frame: RgbImage, layout: BandLayout, copy: number): number | undefined {
  const cw = cellWidth(layout);
  const x0 = copy * (frame.width >> 1);
  const bits: number[] = [];
  for (let b = 0; b < BAND_BITS; b++) {
    const a = cellLuma(frame, layout, x0 + 2 * b * cw, cw);
    const c = cellLuma(frame, layout, x0 + (2 * b + 1) * cw, cw);
    if (Math.abs(a - c) < MIN_PAIR_CONTRAST) return undefined;
    bits.push(a > c ? 1 : 0);
  }
  return numberFromBits(bits);
}

/** The frame number in the band, or undefined when neither copy reads (or the two disagree). */
export function readBand(frame: RgbImage, layout: BandLayout): number | undefined {
  if (frame.width !== layout.width || frame.height < layout.top + layout.height) return undefined;
  const left = readCopy(frame, layout, 0);
  const right = readCopy(frame, layout, 1);
  if (left !== undefined && right !== undefined && left !== right) return undefined;
  return left ?? right;
}
