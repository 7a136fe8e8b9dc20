/**
 * How closely one detector's box for a face agrees with itself when the same photo reaches it through two decode
 * paths (full decode vs libjpeg's reduced decode to the model input, or two resamplings): the pixels differ a
 * little, so the box moves a little; a box mapped back wrongly (axes swapped, wrong scale) misses by far more.
 *
 * The float file moves only by the resampling: IoU 0.974 at worst over the 22 faces of face-api's six samples.
 * The int8 copy's box encodings leave the model as uint8 (range about [-12, 12.5], so a step of 0.095): one step
 * moves a box's centre by about 1 % of its size and its size by about 2 %, and a face whose encoding sits near a
 * rounding boundary can move by a step on each coordinate (IoU 0.922 at worst on the same faces). Two such steps
 * per coordinate still stay above 0.9.
 */
export const FP32_SAME_FACE_IOU = 0.95;
export const INT8_SAME_FACE_IOU = 0.9;
