/**
 * NanoDet decoder (Human's NanoDet, COCO, 416 px input). Per stride level (8, 16, 32) the model gives class
 * scores [1,N,80] (already sigmoid) and box distributions [1,N,4*(regMax+1)]: for each side (left, top, right,
 * bottom) a discrete distribution over 0..regMax, as in Generalized Focal Loss. The distance is the softmax
 * expectation times the stride, measured from the cell centre ((col+0.5)*stride; we checked the 0.5 against
 * the model's output on a real photo). Every class whose score passes the threshold yields a candidate.
 *
 * decoderOptions (all optional): `strides` (default [8,16,32]), `regMax` (default from the box width),
 * `centerOffset` (default 0.5).
 */
import { numberArrayOption, numberOption, type Candidate, type DecodeFn, type OutputTensor } from './common.ts';

/** Expected distance of one side's distribution (softmax over `bins` logits starting at `offset`). */
export function distributionExpectation(data: Float32Array, offset: number, bins: number): number {
  let max = -Infinity;
  for (let j = 0; j < bins; j++) if (data[offset + j] > max) max = data[offset + j];
  let z = 0;
  let e = 0;
  for (let j = 0; j < bins; j++) {
    const p = Math.exp(data[offset + j] - max);
    z += p;
    e += p * j;
  }
  return e / z;
}

export const decodeNanodet: DecodeFn = (outputs, manifest, minScore) => {
  const numClasses = numberOption(manifest.decoderOptions, 'numClasses', 80);
  const strides = numberArrayOption(manifest.decoderOptions, 'strides', [8, 16, 32]);
  const centerOffset = numberOption(manifest.decoderOptions, 'centerOffset', 0.5);
  const rows = (t: OutputTensor): number => t.dims[t.dims.length - 2];
  const width = (t: OutputTensor): number => t.dims[t.dims.length - 1];
  const scoreTs = outputs.filter((t) => width(t) === numClasses);
  const boxTs = outputs.filter((t) => width(t) !== numClasses && width(t) % 4 === 0);
  const out: Candidate[] = [];
  for (const stride of strides) {
    const cols = Math.ceil(manifest.input.width / stride);
    const n = cols * Math.ceil(manifest.input.height / stride);
    const scores = scoreTs.find((t) => rows(t) === n);
    const boxes = boxTs.find((t) => rows(t) === n);
    if (!scores || !boxes) throw new Error(`nanodet decoder: no score/box outputs with ${n} rows for stride ${stride}`);
    const bins = width(boxes) / 4;
    const regMax = numberOption(manifest.decoderOptions, 'regMax', bins - 1);
    if (regMax !== bins - 1) throw new Error(`nanodet decoder: box width ${width(boxes)} does not match regMax ${regMax}`);
    const s = scores.data;
    const b = boxes.data;
    for (let i = 0; i < n; i++) {
      let box: [number, number, number, number] | undefined;
      for (let k = 0; k < numClasses; k++) {
        const score = s[i * numClasses + k];
        if (score < minScore) continue;
        if (!box) {
          const cx = ((i % cols) + centerOffset) * stride;
          const cy = (Math.floor(i / cols) + centerOffset) * stride;
          const base = i * bins * 4;
          box = [
            cx - distributionExpectation(b, base, bins) * stride,
            cy - distributionExpectation(b, base + bins, bins) * stride,
            cx + distributionExpectation(b, base + 2 * bins, bins) * stride,
            cy + distributionExpectation(b, base + 3 * bins, bins) * stride,
          ];
        }
        out.push({ x1: box[0], y1: box[1], x2: box[2], y2: box[3], score, classId: k });
      }
    }
  }
  return out;
};
