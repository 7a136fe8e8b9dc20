/**
 * Which regions of an image a detector looks at. Small-input face models (128-256 px) miss small faces when a
 * whole photo is shrunk to their input, so face detection can add a grid of overlapping square tiles to the
 * whole-image pass; the merged boxes then go through NMS. Pure, so the layout is tested without models.
 */
import type { Region } from './preprocess.ts';

export interface TilingOptions {
  /** Tiles along the image's longer side; 0 or 1 = whole image only. */
  readonly tiles: number;
  /** Fraction of a tile shared with its neighbour (0..0.9). */
  readonly overlap: number;
  /** Only tile when the image's longer side is at least this many times the model input (else whole image only). */
  readonly minImageToInput: number;
}

export interface PlannedRegion extends Region {
  /** True for the whole-image pass, false for tiles. */
  readonly whole: boolean;
}

/** Evenly spaced starts so that `count` windows of `size` cover 0..length exactly. */
export function windowStarts(length: number, size: number, count: number): number[] {
  if (count <= 1 || size >= length) return [0];
  const step = (length - size) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round(i * step));
}

export function planRegions(width: number, height: number, inputSize: number, options: TilingOptions): PlannedRegion[] {
  const whole: PlannedRegion = { x: 0, y: 0, width, height, whole: true };
  const long = Math.max(width, height);
  if (options.tiles <= 1 || long < options.minImageToInput * inputSize) return [whole];
  const overlap = Math.min(Math.max(options.overlap, 0), 0.9);
  // n tiles of side s with overlap o cover s * (n - (n - 1) * o) = long.
  const side = Math.min(Math.ceil(long / (options.tiles - (options.tiles - 1) * overlap)), Math.min(width, height));
  const countAlong = (length: number): number => (side >= length ? 1 : Math.ceil((length - side) / (side * (1 - overlap)) + 1));
  const xs = windowStarts(width, side, countAlong(width));
  const ys = windowStarts(height, side, countAlong(height));
  const regions: PlannedRegion[] = [whole];
  for (const y of ys) for (const x of xs) regions.push({ x, y, width: Math.min(side, width - x), height: Math.min(side, height - y), whole: false });
  return regions;
}

/**
 * True when a box from a tile touches one of the tile's edges that lies inside the image: the object is probably
 * cut there, and the neighbouring tile or the whole-image pass sees it whole.
 */
export function touchesInnerEdge(
  box: { x1: number; y1: number; x2: number; y2: number },
  tile: Region,
  imageWidth: number,
  imageHeight: number,
  margin = 2,
): boolean {
  if (tile.x > 0 && box.x1 <= tile.x + margin) return true;
  if (tile.y > 0 && box.y1 <= tile.y + margin) return true;
  if (tile.x + tile.width < imageWidth && box.x2 >= tile.x + tile.width - margin) return true;
  if (tile.y + tile.height < imageHeight && box.y2 >= tile.y + tile.height - margin) return true;
  return false;
}
