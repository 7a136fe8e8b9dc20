/**
 * The plane geometry of zones and lines (src/counting/geometry.ts: which side is right, crossings between a line's
 * ends, inside and depth, crossing edges) and the daily reset (src/counting/reset.ts) in a time zone with daylight
 * saving (Europe/Berlin, set for this file).
 */
process.env.TZ = 'Europe/Berlin';

import { describe, expect, it } from 'vitest';
import { crossesSegment, depthInside, insidePolygon, selfIntersects, sideDistance } from '../../src/counting/geometry.ts';
import { DailyReset, nextResetAfter, parseTimeOfDay } from '../../src/counting/reset.ts';

const square = [{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }, { x: 0, y: 10 }];

describe('geometry', () => {
  it('puts the screen right of a line drawn bottom to top on its right side (y down)', () => {
    const a = { x: 5, y: 10 };
    const b = { x: 5, y: 0 };
    expect(sideDistance(a, b, { x: 8, y: 5 })).toBeCloseTo(3);
    expect(sideDistance(a, b, { x: 1, y: 5 })).toBeCloseTo(-4);
    // Drawn left to right, its right side is below it on the screen.
    expect(sideDistance({ x: 0, y: 5 }, { x: 10, y: 5 }, { x: 3, y: 9 })).toBeGreaterThan(0);
  });

  it('crosses a segment only between its ends', () => {
    const a = { x: 5, y: 10 };
    const b = { x: 5, y: 4 };
    expect(crossesSegment(a, b, { x: 2, y: 6 }, { x: 8, y: 6 })).toBe(true);
    expect(crossesSegment(a, b, { x: 2, y: 2 }, { x: 8, y: 2 })).toBe(false);
    expect(crossesSegment(a, b, { x: 2, y: 2 }, { x: 8, y: 12 })).toBe(true);
  });

  it('tells inside from outside and how deep', () => {
    expect(insidePolygon(square, { x: 5, y: 5 })).toBe(true);
    expect(insidePolygon(square, { x: 15, y: 5 })).toBe(false);
    expect(depthInside(square, { x: 2, y: 5 })).toBeCloseTo(2);
    expect(depthInside(square, { x: 13, y: 5 })).toBeCloseTo(-3);
    // Edge 2 (corner 1 to corner 2, x = 10) left out: the nearest edge is another one.
    expect(depthInside(square, { x: 9, y: 5 }, (edge) => edge === 2)).toBeCloseTo(5);
  });

  it('finds crossing edges (a bow tie), not a concave polygon', () => {
    expect(selfIntersects([{ x: 0, y: 0 }, { x: 10, y: 10 }, { x: 10, y: 0 }, { x: 0, y: 10 }])).toBe(true);
    expect(selfIntersects([{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 5, y: 5 }, { x: 10, y: 10 }, { x: 0, y: 10 }])).toBe(false);
    expect(selfIntersects(square)).toBe(false);
  });
});

describe('daily reset', () => {
  it('is at the next local HH:MM, across the night the clocks go forward', () => {
    const before = new Date(2026, 2, 28, 23, 0).getTime();
    // 29 March 2026, 02:30 does not exist in Berlin: Date moves it to 03:30 CEST (01:30 UTC).
    expect(new Date(nextResetAfter(before, '02:30')).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(new Date(nextResetAfter(new Date(2026, 5, 1, 12, 0).getTime(), '00:00')).toISOString()).toBe('2026-06-01T22:00:00.000Z');
    // Exactly at the time: the next day's.
    const midnight = new Date(2026, 5, 2, 0, 0).getTime();
    expect(nextResetAfter(midnight, '00:00') - midnight).toBe(24 * 3600_000);
  });

  it('says due once per passing of the time, never on the first frame', () => {
    const reset = new DailyReset('00:00');
    const t = new Date(2026, 5, 1, 23, 59, 58).getTime();
    expect(reset.due(t)).toBe(false);
    expect(reset.due(t + 1000)).toBe(false);
    expect(reset.due(t + 2000)).toBe(true);
    expect(reset.due(t + 3000)).toBe(false);
    // A camera down for two days resets once when it comes back.
    expect(reset.due(t + 2 * 86_400_000 + 5000)).toBe(true);
    expect(reset.due(t + 2 * 86_400_000 + 6000)).toBe(false);
  });

  it('refuses a time that is not HH:MM', () => {
    expect(parseTimeOfDay('07:05')).toEqual({ hours: 7, minutes: 5 });
    for (const bad of ['24:00', '7:05', '07:60', 'noon']) expect(() => parseTimeOfDay(bad)).toThrow(/is not a time of day HH:MM/);
  });
});
