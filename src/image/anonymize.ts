/**
 * Face anonymisation and face drawing with sharp (libvips): rectangles are composited and pixelation is a
 * downscale followed by a nearest-neighbour upscale of each face region, so no JavaScript loop touches pixels.
 *
 * Anonymised regions are the detector's box grown by a margin: a detector's box is tight around eyes, nose and
 * mouth, while hair, forehead, ears and chin identify a person too.
 */
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import type { RgbImage } from '../core/image.ts';
import { DEFAULT_MARGIN, expandWithMargin, type Margin, type Rect } from '../core/geometry.ts';
import { DEFAULT_JPEG_QUALITY, sharpFromRgb } from './encode.ts';
import { applyMask, type MaskSpans } from './privacy-mask.ts';


export type Rgb = readonly [number, number, number];


/**
 * Cells across the longer side of a pixelated region (face box plus margin). Measured on the six face-api sample
 * photos (22 faces found at 0.5), looking for them again at 0.3: the default SSD MobileNetV1 face model found
 * none even at 6 cells, but BlazeFace (a configurable face model) found 9 at 6 cells, 3 at 5, 1 at 4 and none at 3.
 * test/image/anonymize.test.ts keeps this true for both.
 */
export const PIXEL_CELLS = 3;

/**
 * How a face image is rendered:
 * - `outline`: the picture unchanged, each face box outlined (RAYPACK facemode=default)
 * - `pixel`: each face region pixelated
 * - `fill`: each face region filled with one colour
 * - `black`: a black picture of the same size with only the face boxes outlined
 */
export type FaceRender = 'outline' | 'pixel' | 'fill' | 'black';

export interface RenderOptions {
  /** Fill colour (`fill`) and outline colour (`outline`, `black`). */
  readonly colour: Rgb;
  readonly margin?: Margin;
  readonly quality?: number;
  /** Cells across the longer side of a pixelated region (default PIXEL_CELLS). */
  readonly pixelCells?: number;
  /**
   * A camera's privacy masks, blacked out again over the render: the frame's masked pixels are black already, but
   * a pixel cell or a fill over the mask's edge would paint into it.
   */
  readonly mask?: MaskSpans;
}

/** Outline thickness: visible on a phone photo, not a smear on a thumbnail. */
export function strokeWidth(imageWidth: number, imageHeight: number): number {
  return Math.max(2, Math.round(Math.max(imageWidth, imageHeight) / 300));
}

/** A region to hide: a face box (the default kind) gets the margin; a head or person area is hidden as it is. */
export interface HiddenRegion extends Rect {
  readonly kind?: 'face' | 'head' | 'person';
}

/**
 * The integer rectangles a render hides for `regions`, clipped to the image: what pixel/fill cover, and what
 * `raypack-edge eval --privacy` measures (the same function, so the figures are those of the pictures served).
 */
export function hiddenAreas(regions: readonly HiddenRegion[], width: number, height: number, margin: Margin = DEFAULT_MARGIN): Rect[] {
  return regions
    .map((r) => ((r.kind ?? 'face') === 'face' ? expandWithMargin(r, width, height, margin) : expandWithMargin(r, width, height, NO_MARGIN)))
    .filter((r) => r.width > 0 && r.height > 0);
}

const NO_MARGIN: Margin = { side: 0, top: 0, bottom: 0 };

/**
 * Render on `image` and encode as JPEG: `pixel`/`fill` hide `boxes` (face boxes grown by the margin, head and
 * person areas as they are); `outline`/`black` draw the boxes.
 */
export async function renderFaces(image: RgbImage, boxes: readonly HiddenRegion[], mode: FaceRender, options: RenderOptions): Promise<Buffer> {
  const quality = options.quality ?? DEFAULT_JPEG_QUALITY;
  if (options.mask && (boxes.length > 0 || mode === 'black')) {
    const data = await renderFacesRaw(image, boxes, mode, options);
    return sharpFromRgb({ data, width: image.width, height: image.height }).jpeg({ quality }).toBuffer();
  }
  return (await composeFaces(image, boxes, mode, options)).jpeg({ quality }).toBuffer();
}

/**
 * The same render as packed RGB of the image's size (video frames, which ffmpeg encodes). A frame with nothing to
 * hide is copied as it is, without a trip through libvips.
 */
export async function renderFacesRaw(image: RgbImage, boxes: readonly HiddenRegion[], mode: FaceRender, options: RenderOptions): Promise<Buffer> {
  if (boxes.length === 0 && mode !== 'black') return Buffer.from(image.data);
  const out = await (await composeFaces(image, boxes, mode, options)).removeAlpha().raw().toBuffer();
  if (out.length !== image.width * image.height * 3) throw new Error(`the rendered frame has ${out.length} bytes, not ${image.width}x${image.height}x3`);
  if (options.mask) applyMask(out, options.mask);
  return out;
}

async function composeFaces(image: RgbImage, boxes: readonly HiddenRegion[], mode: FaceRender, options: RenderOptions): Promise<Sharp> {
  const { width, height } = image;
  const regions = hiddenAreas(boxes, width, height, options.margin ?? DEFAULT_MARGIN);
  let overlays: OverlayOptions[];
  switch (mode) {
    case 'outline':
    case 'black':
      overlays = boxes.flatMap((b) => outline(clip(b, width, height), strokeWidth(width, height), options.colour));
      break;
    case 'fill':
      overlays = regions.map((r) => solid(r, options.colour));
      break;
    case 'pixel':
      overlays = await Promise.all(regions.map((r) => pixelated(image, r, options.pixelCells ?? PIXEL_CELLS)));
      break;
  }
  const base =
    mode === 'black' ? sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } }) : sharpFromRgb(image);
  return overlays.length > 0 ? base.composite(overlays) : base;
}

function clip(box: Rect, width: number, height: number): Rect {
  const x0 = Math.max(0, Math.round(box.x));
  const y0 = Math.max(0, Math.round(box.y));
  const x1 = Math.min(width, Math.round(box.x + box.width));
  const y1 = Math.min(height, Math.round(box.y + box.height));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

function solid(r: Rect, colour: Rgb): OverlayOptions {
  return {
    input: { create: { width: r.width, height: r.height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } },
    left: r.x,
    top: r.y,
  };
}

/** Four bars along the inside of the box's edges. */
function outline(box: Rect, stroke: number, colour: Rgb): OverlayOptions[] {
  if (box.width === 0 || box.height === 0) return [];
  const t = Math.min(stroke, Math.ceil(box.width / 2), Math.ceil(box.height / 2));
  return [
    { x: box.x, y: box.y, width: box.width, height: t },
    { x: box.x, y: box.y + box.height - t, width: box.width, height: t },
    { x: box.x, y: box.y, width: t, height: box.height },
    { x: box.x + box.width - t, y: box.y, width: t, height: box.height },
  ].map((bar) => solid(bar, colour));
}

async function pixelated(image: RgbImage, r: Rect, cells: number): Promise<OverlayOptions> {
  const block = Math.max(2, Math.ceil(Math.max(r.width, r.height) / Math.max(1, cells)));
  const cellsX = Math.max(1, Math.round(r.width / block));
  const cellsY = Math.max(1, Math.round(r.height / block));
  const small = await sharpFromRgb(image)
    .extract({ left: r.x, top: r.y, width: r.width, height: r.height })
    .resize(cellsX, cellsY, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer();
  const big = await sharp(small, { raw: { width: cellsX, height: cellsY, channels: 3 } })
    .resize(r.width, r.height, { fit: 'fill', kernel: 'nearest' })
    .raw()
    .toBuffer();
  return { input: big, raw: { width: r.width, height: r.height, channels: 3 }, left: r.x, top: r.y };
}

/** `RRGGBB` (a leading `#` tolerated) to a colour; undefined when malformed. */
export function parseHexColour(text: string): Rgb | undefined {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text.trim());
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : undefined;
}
