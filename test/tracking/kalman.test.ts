import { describe, expect, it } from 'vitest';
import { centreDistance2, DEFAULT_MOTION_NOISE, edgeStd, initiate, meanBox, predict, update, type CentreBox, type KalmanState } from '../../src/tracking/kalman.ts';

type Matrix = number[][];
const zeros = (r: number, c: number): Matrix => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const mul = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: Matrix): Matrix => a[0].map((_, j) => a.map((row) => row[j]));
const add = (a: Matrix, b: Matrix): Matrix => a.map((row, i) => row.map((v, j) => v + b[i][j]));
const sub = (a: Matrix, b: Matrix): Matrix => a.map((row, i) => row.map((v, j) => v - b[i][j]));
function inverse(a: Matrix): Matrix {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const pivot = m.reduce((best, row, r) => (r >= c && Math.abs(row[c]) > Math.abs(m[best][c]) ? r : best), c);
    [m[c], m[pivot]] = [m[pivot], m[c]];
    const p = m[c][c];
    m[c] = m[c].map((v) => v / p);
    for (let r = 0; r < n; r++) if (r !== c) m[r] = m[r].map((v, j) => v - m[r][c] * m[c][j]);
  }
  return m.map((row) => row.slice(n));
}

/**
 * The textbook 8x8 filter (state cx, cy, w, h, vcx, vcy, vw, vh) with the same model written as dense matrices:
 * F = [[I, dt I], [0, I]], Q = white-noise acceleration + position walk, H = [I 0], R = diag(measurement std^2).
 */
class DenseFilter {
  x: Matrix;
  P: Matrix;
  constructor(box: CentreBox) {
    const n = DEFAULT_MOTION_NOISE;
    const sides = [box.w, box.h, box.w, box.h];
    this.x = [[box.cx], [box.cy], [box.w], [box.h], [0], [0], [0], [0]];
    this.P = zeros(8, 8);
    sides.forEach((s, i) => {
      this.P[i][i] = (n.initialPositionStd * s) ** 2;
      this.P[i + 4][i + 4] = (n.initialVelocityStd * s) ** 2;
    });
  }
  private sides(): number[] {
    return [this.x[2][0], this.x[3][0], this.x[2][0], this.x[3][0]];
  }
  predict(dt: number): void {
    const n = DEFAULT_MOTION_NOISE;
    const F = zeros(8, 8);
    const Q = zeros(8, 8);
    this.sides().forEach((s, i) => {
      F[i][i] = 1;
      F[i + 4][i + 4] = 1;
      F[i][i + 4] = dt;
      const q = (n.accelerationStd * s) ** 2;
      Q[i][i] = (q * dt ** 3) / 3 + (n.positionWalkStd * s) ** 2 * dt;
      Q[i][i + 4] = Q[i + 4][i] = (q * dt * dt) / 2;
      Q[i + 4][i + 4] = q * dt;
    });
    this.x = mul(F, this.x);
    this.P = add(mul(mul(F, this.P), transpose(F)), Q);
  }
  update(box: CentreBox): void {
    const n = DEFAULT_MOTION_NOISE;
    const H = zeros(4, 8);
    const R = zeros(4, 4);
    this.sides().forEach((s, i) => {
      H[i][i] = 1;
      R[i][i] = (n.measurementStd * s) ** 2;
    });
    const S = add(mul(mul(H, this.P), transpose(H)), R);
    const K = mul(mul(this.P, transpose(H)), inverse(S));
    const innovation = sub([[box.cx], [box.cy], [box.w], [box.h]], mul(H, this.x));
    this.x = add(this.x, mul(K, innovation));
    this.P = mul(sub(identity(8), mul(K, H)), this.P);
  }
}
const identity = (n: number): Matrix => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

function expectSame(state: KalmanState, dense: DenseFilter): void {
  const axes = [state.cx, state.cy, state.w, state.h];
  axes.forEach((a, i) => {
    const scale = Math.max(1, Math.abs(dense.x[i][0]));
    expect(Math.abs(a.position - dense.x[i][0]) / scale).toBeLessThan(1e-9);
    expect(Math.abs(a.velocity - dense.x[i + 4][0]) / scale).toBeLessThan(1e-9);
    const covScale = Math.max(1, dense.P[i][i], dense.P[i + 4][i + 4]);
    expect(Math.abs(a.pp - dense.P[i][i]) / covScale).toBeLessThan(1e-9);
    expect(Math.abs(a.pv - dense.P[i][i + 4]) / covScale).toBeLessThan(1e-9);
    expect(Math.abs(a.vv - dense.P[i + 4][i + 4]) / covScale).toBeLessThan(1e-9);
    // Every cross-axis entry of the dense covariance stays zero: the decoupling is exact.
    for (let j = 0; j < 4; j++) {
      if (j === i) continue;
      for (const [r, c] of [[i, j], [i, j + 4], [i + 4, j], [i + 4, j + 4]]) expect(Math.abs(dense.P[r][c])).toBeLessThan(1e-9 * covScale);
    }
  });
}

describe('kalman', () => {
  it('equals a dense 8x8 Kalman filter over irregular predict/update steps', () => {
    const start = { cx: 200, cy: 120, w: 40, h: 48 };
    let state = initiate(start);
    const dense = new DenseFilter(start);
    expectSame(state, dense);
    const steps = [0.1, 0.2, 0.6, 0.1, 0.5, 0.2, 0.2, 1.3, 0.1];
    steps.forEach((dt, k) => {
      state = predict(state, dt);
      dense.predict(dt);
      expectSame(state, dense);
      if (k === 3) return; // one missed frame: predict twice in a row
      const box = { cx: 200 + 90 * (k + 1) * 0.25 + (k % 3) - 1, cy: 120 - 10 * k, w: 40 + (k % 2), h: 48 - (k % 3) };
      state = update(state, box);
      dense.update(box);
      expectSame(state, dense);
    });
  });

  it('learns a constant velocity from noise-free boxes and predicts by elapsed time', () => {
    let state = initiate({ cx: 100, cy: 100, w: 50, h: 50 });
    for (let k = 1; k <= 15; k++) {
      state = predict(state, 0.2);
      state = update(state, { cx: 100 + 150 * 0.2 * k, cy: 100, w: 50, h: 50 });
    }
    expect(state.cx.velocity).toBeCloseTo(150, 0);
    expect(Math.abs(state.cy.velocity)).toBeLessThan(1e-6);
    const after = (dt: number) => meanBox(predict(state, dt)).cx - state.cx.position;
    expect(after(0.6) / after(0.2)).toBeCloseTo(3, 6);
    expect(after(0.6)).toBeCloseTo(0.6 * state.cx.velocity, 6);
  });

  it('grows the uncertainty with time and shrinks it with a detection; dt 0 changes nothing', () => {
    const state = initiate({ cx: 0, cy: 0, w: 30, h: 30 });
    expect(predict(state, 0)).toBe(state);
    expect(predict(state, -1)).toBe(state);
    const a = predict(state, 0.2);
    const b = predict(state, 0.6);
    expect(a.cx.pp).toBeGreaterThan(state.cx.pp);
    expect(b.cx.pp).toBeGreaterThan(a.cx.pp);
    expect(edgeStd(b).x).toBeGreaterThan(edgeStd(a).x);
    expect(update(b, { cx: 0, cy: 0, w: 30, h: 30 }).cx.pp).toBeLessThan(b.cx.pp);
  });

  it('fades the mean velocity by its half-life but keeps the covariance of constant velocity; holds the size', () => {
    let state = initiate({ cx: 0, cy: 0, w: 40, h: 40 });
    for (let k = 1; k <= 10; k++) state = update(predict(state, 0.2), { cx: 80 * 0.2 * k, cy: 0, w: 40 + 2 * k, h: 40 + 2 * k });
    const v = state.cx.velocity;
    const faded = predict(state, 1, DEFAULT_MOTION_NOISE, { velocityHalfLifeS: 1, holdSize: true });
    const kept = predict(state, 1);
    expect(faded.cx.velocity).toBeCloseTo(v / 2, 9);
    expect(faded.cx.position - state.cx.position).toBeCloseTo((v * (1 - 0.5)) / Math.LN2, 9);
    expect(kept.cx.position - state.cx.position).toBeCloseTo(v, 9);
    expect(faded.cx.pp).toBe(kept.cx.pp);
    expect(faded.w.velocity).toBe(0);
    expect(faded.w.position).toBe(state.w.position);
    expect(kept.w.velocity).toBeGreaterThan(0);
  });

  it('measures centre distance in innovation standard deviations', () => {
    const state = predict(initiate({ cx: 100, cy: 100, w: 40, h: 40 }), 0.2);
    const sx = Math.sqrt(state.cx.pp + (DEFAULT_MOTION_NOISE.measurementStd * 40) ** 2);
    expect(centreDistance2(state, { cx: 100 + 2 * sx, cy: 100, w: 40, h: 40 })).toBeCloseTo(4, 9);
    expect(centreDistance2(state, { cx: 100, cy: 100, w: 40, h: 40 })).toBe(0);
  });
});
