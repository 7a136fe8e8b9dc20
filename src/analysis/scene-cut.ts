/**
 * Whether a camera frame shows a new scene: its first frame, or one that differs from the frame before it as a
 * cut does (a PTZ camera moved to a preset, lights switched on, day/night switching, the stream came back after
 * an outage on something else). A camera takes its privacy passes in turn (camera.ts), so a face that only a tile
 * or a second opinion finds in a new scene would stay visible until that pass comes round, up to a whole cycle;
 * on a new scene the camera runs every pass at once. Pure: no clock, no state beyond the last frame's thumbnail.
 *
 * The measure: the frame's luma averaged over a grid of `cols` x `rows` cells (sampled every `step` pixels), and
 * the mean absolute difference of two frames' grids, as a share of the luma range. People walking, a pan, noise
 * and compression change a few cells (the measure stays small); a cut changes most of them.
 */
import type { RgbImage } from '../core/image.ts';

export interface SceneCutOptions {
  readonly cols: number;
  readonly rows: number;
  /** Pixels between samples along each axis. */
  readonly step: number;
  /**
   * Mean absolute difference of the cells, 0..1 of the luma range, from which a frame is a new scene. 0.16,
   * measured on the live eval's clip (30 photos panned, 1280x720, taken at 5 fps; scripts/eval/live): at the 31
   * cuts (lead-in, between photos, tail) the difference was 0.18-0.51, between frames of one photo's pan at most
   * 0.13 (a pan of a whole photo moves more than a fixed camera's scene ever does). test/analysis/scene-cut.test.ts
   * checks a cut and a pan on real frames.
   */
  readonly threshold: number;
}

export const DEFAULT_SCENE_CUT: SceneCutOptions = Object.freeze({ cols: 32, rows: 18, step: 4, threshold: 0.16 });

/** The grid of mean luma (0..1) of `image`. */
export function lumaGrid(image: RgbImage, options: Pick<SceneCutOptions, 'cols' | 'rows' | 'step'> = DEFAULT_SCENE_CUT): Float32Array {
  const { cols, rows } = options;
  const step = Math.max(1, Math.floor(options.step));
  const sums = new Float64Array(cols * rows);
  const counts = new Uint32Array(cols * rows);
  const { data, width, height } = image;
  for (let y = 0; y < height; y += step) {
    const row = Math.min(rows - 1, Math.floor((y * rows) / height));
    for (let x = 0; x < width; x += step) {
      const i = (y * width + x) * 3;
      const cell = row * cols + Math.min(cols - 1, Math.floor((x * cols) / width));
      sums[cell] += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      counts[cell] += 1;
    }
  }
  const grid = new Float32Array(cols * rows);
  for (let k = 0; k < grid.length; k++) grid[k] = counts[k] > 0 ? sums[k] / counts[k] / 255 : 0;
  return grid;
}

/** Mean absolute difference of two grids of the same size (0..1). */
export function gridDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0) return 1;
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += Math.abs(a[k] - b[k]);
  return sum / a.length;
}

export class SceneCut {
  private readonly options: SceneCutOptions;
  private last: { grid: Float32Array; width: number; height: number } | undefined;
  /** The latest frame's difference from the one before (1 for a first frame or a new size). */
  difference = 1;

  constructor(options: Partial<SceneCutOptions> = {}) {
    this.options = { ...DEFAULT_SCENE_CUT, ...options };
  }

  /** Whether `image` begins a new scene (the first frame, a new frame size, or a cut from the frame before). */
  next(image: RgbImage): boolean {
    const grid = lumaGrid(image, this.options);
    const last = this.last;
    this.difference = last && last.width === image.width && last.height === image.height ? gridDifference(last.grid, grid) : 1;
    this.last = { grid, width: image.width, height: image.height };
    return this.difference >= this.options.threshold;
  }
}
