/**
 * A camera's tracking, zones and lines in the configuration (src/config/schema-counting.ts, src/config/counting.ts):
 * defaults, and every mistake reported with its path and a clear reason, all at once.
 */
import { describe, expect, it } from 'vitest';
import { objectTrackingSettings } from '../../src/config/counting.ts';
import { loadConfig } from '../../src/config/load.ts';
import { isRaypackError, type RaypackError } from '../../src/errors.ts';

function problemsOf(text: string): string[] {
  try {
    loadConfig({ text });
  } catch (error) {
    expect(isRaypackError(error), String(error)).toBe(true);
    expect((error as RaypackError).code).toBe('config_invalid');
    expect((error as RaypackError).details, (error as Error).message).toBeDefined();
    return (error as RaypackError).details!.problems as string[];
  }
  throw new Error('expected the configuration to be rejected');
}

const camera = (extra: string, tasks = '[face, objects]') => `cameras:\n  - id: shop\n    url: rtsp://cam/1\n    tasks: ${tasks}\n${extra}`;

describe('counting config', () => {
  it('fills the defaults: persons tracked, no zones or lines, midnight reset', () => {
    const { config } = loadConfig({ text: camera('') });
    const c = config.cameras[0];
    expect(c.tracking).toEqual({ labels: ['person'], max_missed_seconds: 2, update_seconds: 5 });
    expect(c.zones).toEqual([]);
    expect(c.lines).toEqual([]);
    expect(c.counting).toEqual({ hysteresis: 0.1, rejoin_seconds: 3, rejoin_distance: 1, min_track_seconds: 1, reset_time: '00:00' });
  });

  it('maps zones and lines to the analysis settings', () => {
    const text = camera(`    zones:\n      - name: till\n        points: [[0.1, 0.5], [0.4, 0.5], [0.4, 1]]\n    lines:\n      - name: door\n        a: [0.5, 1]\n        b: [0.5, 0]\n        in: right_to_left\n    counting: { reset_time: "04:30", rejoin_seconds: 2 }\n`);
    const settings = objectTrackingSettings(loadConfig({ text }).config.cameras[0]);
    expect(settings).toMatchObject({ labels: ['person'], maxMissedMs: 2000, resetAt: '04:30' });
    expect(settings.counting).toMatchObject({ rejoinMs: 2000, hysteresis: 0.1, lines: [{ name: 'door', a: [0.5, 1], b: [0.5, 0], in: 'right_to_left' }] });
    expect(settings.counting.zones[0].points).toHaveLength(3);
  });

  it('reports every mistake with its path', () => {
    const text = camera(
      [
        '    tracking: { labels: [person, unicorn] }',
        '    zones:',
        '      - name: a',
        '        points: [[0.1, 0.1], [0.5, 0.1]]',
        '      - name: b',
        '        points: [[0.1, 0.1], [0.5, 0.1], [0.9, 0.1]]',
        '      - name: b',
        '        points: [[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]]',
        '      - name: c',
        '        points: [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]',
        '      - name: d',
        '        points: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]',
        '        labels: [car]',
        '    lines:',
        '      - name: door',
        '        a: [0.5, 0.5]',
        '        b: [0.5, 0.5]',
        '      - name: door',
        '        a: [0.1, 0.5]',
        '        b: [0.9, 0.5]',
        '        in: inwards',
        '    counting: { reset_time: "24:00" }',
        '',
      ].join('\n'),
    );
    const problems = problemsOf(text);
    const has = (pattern: RegExp) => expect(problems.some((p) => pattern.test(p)), `${pattern} in ${problems.join(' | ')}`).toBe(true);
    has(/cameras\[0\]\.zones\[0\]\.points.*fewer than 3/);
    has(/cameras\[0\]\.zones\[3\]\.points\[1\]\[0\].*<= 1/);
    has(/cameras\[0\]\.lines\[1\]\.in.*"left_to_right", "right_to_left"/);
    // The schema errors come first and alone; the semantic ones once the schema passes:
    const semantic = problemsOf(text.replace(/ {6}- name: a\n.*\n/, '').replace('[1.5, 0.1]', '[0.9, 0.2]').replace('in: inwards', 'in: left_to_right'));
    const hasSemantic = (pattern: RegExp) => expect(semantic.some((p) => pattern.test(p)), `${pattern} in ${semantic.join(' | ')}`).toBe(true);
    hasSemantic(/tracking\.labels\[1\]: 'unicorn' is not a COCO label/);
    hasSemantic(/zones\[0\]\.points: the polygon has no area/);
    hasSemantic(/zones\[1\]\.name: duplicate zone name 'b'/);
    hasSemantic(/zones\[1\]\.points: the polygon's edges cross each other/);
    hasSemantic(/zones\[3\]\.labels\[0\]: 'car' is not tracked on this camera \(tracking\.labels: person, unicorn\)/);
    hasSemantic(/lines\[0\]: a and b are the same point/);
    hasSemantic(/lines\[1\]\.name: duplicate line name 'door'/);
    hasSemantic(/counting\.reset_time: '24:00' is not a time of day HH:MM \(00:00 to 23:59\)/);
  });

  it('needs the objects task for zones and lines', () => {
    const problems = problemsOf(camera('    lines:\n      - { name: door, a: [0.5, 1], b: [0.5, 0] }\n', '[face]'));
    expect(problems).toContain('cameras[0]: zones and lines count object tracks: add objects to tasks');
  });
});
