/**
 * A constant-velocity Kalman filter for one box in image pixels, predicted over the real time between frames.
 *
 * State: centre x, centre y, width, height and their velocities (px and px/s), the xywh model that BoT-SORT
 * found steadier than ByteTrack's xyah (aspect noise needs hand-picked constants; width scales like height).
 * Observation: the detected box (cx, cy, w, h). Every noise is a share of the box side it belongs to (x and w
 * scale with the width, y and h with the height), as in ByteTrack, so one setting fits a 12 px and a 300 px face.
 *
 * Why four small filters instead of one 8x8: the motion matrix, the process noise, the observation and its noise
 * never couple two axes, and the first covariance is diagonal, so the 8x8 covariance stays block-diagonal in four
 * 2x2 blocks (position, velocity) forever. Computing those blocks is exact, not an approximation (the test checks
 * it against a dense 8x8 filter), and it needs no matrix inverse.
 *
 * Time is continuous: the process noise is the white-noise-acceleration model (q dt^3/3, q dt^2/2, q dt) plus a
 * small position random walk, so two frames 0.1 s apart and one frame 0.6 s apart (a dropped frame at 2-10 fps)
 * both get the uncertainty their elapsed time deserves. Pure: functions over plain immutable data.
 */

/** One axis: mean position and velocity, and the 2x2 covariance [[pp, pv], [pv, vv]]. */
export interface Axis {
  readonly position: number;
  readonly velocity: number;
  readonly pp: number;
  readonly pv: number;
  readonly vv: number;
}

export interface KalmanState {
  readonly cx: Axis;
  readonly cy: Axis;
  readonly w: Axis;
  readonly h: Axis;
}

/** A box by centre and size, px. */
export interface CentreBox {
  readonly cx: number;
  readonly cy: number;
  readonly w: number;
  readonly h: number;
}

/** Noise settings, each a share of the box side (w for cx and w, h for cy and h). */
export interface MotionNoise {
  /**
   * Standard deviation of a detection's centre and side, per side. 0.05: ByteTrack's `std_weight_position`; a
   * face detector's box jitters by about 5% of its size between frames of a still face.
   */
  readonly measurementStd: number;
  /** Standard deviation of a new track's position, per side. 0.1: ByteTrack's (2 x 0.05). */
  readonly initialPositionStd: number;
  /**
   * Standard deviation of a new track's velocity, sides per second. 4: a face walking across the image moves
   * about 6 of its own heights per second at any distance (1.4 m/s over a 0.22 m face), so at 5 fps it is more
   * than its width away in the second frame. ByteTrack's 10/160 per frame at 30 fps is 1.9 h/s; with 2 a walker's
   * second detection falls outside the tracker's centre gate and every frame starts a new track that never learns
   * its velocity (test/tracking/tracker-simulation.test.ts, walkers at 5 fps: missed frames >= 90% hidden 0.44
   * with 2, 0.97 with 4; id changes in 200 runs 3080 and 0).
   */
  readonly initialVelocityStd: number;
  /**
   * White-noise acceleration density, sides per s^2 per sqrt(Hz): how fast the velocity may change. 1.5
   * (judgement): a person who starts, stops or turns changes a face's speed by about 1.5 face heights per second
   * within a second. In a scratch simulation (not kept) 0.75 lost more turning faces and 3 grew missed boxes faster.
   */
  readonly accelerationStd: number;
  /** Position random walk, sides per sqrt(s), for motion the velocity does not explain (nodding, jitter). 0.1 (judgement). */
  readonly positionWalkStd: number;
}

export const DEFAULT_MOTION_NOISE: MotionNoise = Object.freeze({
  measurementStd: 0.05,
  initialPositionStd: 0.1,
  initialVelocityStd: 4,
  accelerationStd: 1.5,
  positionWalkStd: 0.1,
});

/** How a prediction treats the velocity of a track that was not seen: see `predict`. */
export interface PredictMode {
  /** Half-life (s) of the mean velocity; Infinity keeps it. The covariance still grows as constant velocity. */
  readonly velocityHalfLifeS: number;
  /** Zero the mean rate of change of the box size (ByteTrack does for lost tracks: a lost box must not shrink). */
  readonly holdSize: boolean;
  /**
   * Scale the mean centre velocity by its significance, v^2 / (v^2 + var(v)) per axis, before predicting. A still
   * face's velocity estimate is detector jitter (about 0.2 heights/s at 5 fps), and a long prediction would carry
   * it a quarter of a face away; a walker's (several heights/s, far above its spread) keeps 99% of it.
   */
  readonly shrinkVelocity: boolean;
}

const KEEP: PredictMode = Object.freeze({ velocityHalfLifeS: Infinity, holdSize: false, shrinkVelocity: false });

function shrunk(a: Axis): Axis {
  const v2 = a.velocity * a.velocity;
  return v2 > 0 ? { ...a, velocity: (a.velocity * v2) / (v2 + a.vv) } : a;
}

function axisStart(position: number, side: number, noise: MotionNoise): Axis {
  const sp = noise.initialPositionStd * side;
  const sv = noise.initialVelocityStd * side;
  return { position, velocity: 0, pp: sp * sp, pv: 0, vv: sv * sv };
}

/** A new track's state from its first detection: at rest, with a wide velocity uncertainty. */
export function initiate(box: CentreBox, noise: MotionNoise = DEFAULT_MOTION_NOISE): KalmanState {
  return {
    cx: axisStart(box.cx, box.w, noise),
    cy: axisStart(box.cy, box.h, noise),
    w: axisStart(box.w, box.w, noise),
    h: axisStart(box.h, box.h, noise),
  };
}

function axisPredict(a: Axis, dt: number, side: number, noise: MotionNoise, halfLife: number, hold: boolean): Axis {
  // Covariance: constant velocity, F = [[1, dt], [0, 1]], plus white-noise acceleration and a position walk.
  const q = (noise.accelerationStd * side) ** 2;
  const walk = (noise.positionWalkStd * side) ** 2;
  const pp = a.pp + 2 * dt * a.pv + dt * dt * a.vv + (q * dt ** 3) / 3 + walk * dt;
  const pv = a.pv + dt * a.vv + (q * dt * dt) / 2;
  const vv = a.vv + q * dt;
  const v0 = hold ? 0 : a.velocity;
  if (!Number.isFinite(halfLife)) return { position: a.position + v0 * dt, velocity: v0, pp, pv, vv };
  // Mean: v(t) = v0 e^(-kt), so the position advances by the integral v0 (1 - e^(-kt)) / k.
  const k = Math.LN2 / halfLife;
  const decay = Math.exp(-k * dt);
  return { position: a.position + (v0 * (1 - decay)) / k, velocity: v0 * decay, pp, pv, vv };
}

/**
 * The state `dtS` seconds later (dtS >= 0; 0 returns the same state). With the default mode the mean moves at
 * constant velocity. For a track that was missed, a finite `velocityHalfLifeS` lets the mean velocity fade so a
 * prediction stops rather than flying off, while the covariance keeps growing as if it had not: the grown box
 * must still cover a face that did keep moving. The model is continuous in time, so one step of 0.6 s equals
 * three of 0.2 s (without `shrinkVelocity`, which is meant for one step from the last detection).
 */
export function predict(state: KalmanState, dtS: number, noise: MotionNoise = DEFAULT_MOTION_NOISE, modeInput: Partial<PredictMode> = KEEP): KalmanState {
  if (!(dtS > 0)) return state;
  const mode: PredictMode = { ...KEEP, ...modeInput };
  const w = state.w.position;
  const h = state.h.position;
  const cx = mode.shrinkVelocity ? shrunk(state.cx) : state.cx;
  const cy = mode.shrinkVelocity ? shrunk(state.cy) : state.cy;
  return {
    cx: axisPredict(cx, dtS, w, noise, mode.velocityHalfLifeS, false),
    cy: axisPredict(cy, dtS, h, noise, mode.velocityHalfLifeS, false),
    w: axisPredict(state.w, dtS, w, noise, Infinity, mode.holdSize),
    h: axisPredict(state.h, dtS, h, noise, Infinity, mode.holdSize),
  };
}

function axisUpdate(a: Axis, z: number, r: number): Axis {
  const s = a.pp + r;
  const gainP = a.pp / s;
  const gainV = a.pv / s;
  const innovation = z - a.position;
  return {
    position: a.position + gainP * innovation,
    velocity: a.velocity + gainV * innovation,
    pp: (a.pp * r) / s,
    pv: (a.pv * r) / s,
    vv: a.vv - (a.pv * a.pv) / s,
  };
}

/** The state corrected by a detection of the box (the measurement noise scales with the predicted size). */
export function update(state: KalmanState, box: CentreBox, noise: MotionNoise = DEFAULT_MOTION_NOISE): KalmanState {
  const rw = (noise.measurementStd * state.w.position) ** 2;
  const rh = (noise.measurementStd * state.h.position) ** 2;
  return {
    cx: axisUpdate(state.cx, box.cx, rw),
    cy: axisUpdate(state.cy, box.cy, rh),
    w: axisUpdate(state.w, box.w, rw),
    h: axisUpdate(state.h, box.h, rh),
  };
}

/** The mean box. */
export function meanBox(state: KalmanState): CentreBox {
  return { cx: state.cx.position, cy: state.cy.position, w: state.w.position, h: state.h.position };
}

/** Standard deviation of each side's position (left/right, top/bottom): sqrt(var(centre) + var(size) / 4). */
export function edgeStd(state: KalmanState): { readonly x: number; readonly y: number } {
  return { x: Math.sqrt(state.cx.pp + state.w.pp / 4), y: Math.sqrt(state.cy.pp + state.h.pp / 4) };
}

/**
 * Squared Mahalanobis distance of a detection's centre from the predicted centre, under the innovation
 * covariance (state + measurement noise). Two degrees of freedom: 5.99 is the 95% gate (ByteTrack's chi2inv95).
 */
export function centreDistance2(state: KalmanState, box: CentreBox, noise: MotionNoise = DEFAULT_MOTION_NOISE): number {
  const sx = state.cx.pp + (noise.measurementStd * state.w.position) ** 2;
  const sy = state.cy.pp + (noise.measurementStd * state.h.position) ** 2;
  const dx = box.cx - state.cx.position;
  const dy = box.cy - state.cy.position;
  return (dx * dx) / sx + (dy * dy) / sy;
}
