/** A decoded image: tightly packed RGB, 3 bytes per pixel, row-major. Shared by decode, detection, rendering and cameras. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}
