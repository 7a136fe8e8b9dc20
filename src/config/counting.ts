/**
 * The checks on a camera's tracking, zones and lines that the schema cannot express, and their mapping to the
 * analysis settings (analysis/object-tracking.ts). Pure.
 */
import { polygonArea, selfIntersects } from '../counting/geometry.ts';
import { parseTimeOfDay } from '../counting/reset.ts';
import { COCO_EN } from '../detect/labels.ts';
import type { ObjectTrackingSettings } from '../analysis/object-tracking.ts';
import type { CameraConfig } from './types.ts';

/** Problems with the camera's counting setup, each with its config path (`at` is the camera's, e.g. cameras[0]). */
export function countingProblems(camera: CameraConfig, at: string): string[] {
  const problems: string[] = [];
  const tracked = new Set(camera.tracking.labels);
  camera.tracking.labels.forEach((label, i) => {
    if (!COCO_EN.includes(label)) problems.push(`${at}.tracking.labels[${i}]: '${label}' is not a COCO label the objects detector reports (e.g. person, car, dog)`);
  });
  const counted = camera.zones.length > 0 || camera.lines.length > 0;
  if (counted && !camera.tasks.includes('objects')) problems.push(`${at}: zones and lines count object tracks: add objects to tasks`);
  if (counted && camera.tracking.labels.length === 0) problems.push(`${at}: zones and lines count object tracks: tracking.labels is empty`);
  const checkLabels = (labels: readonly string[] | undefined, path: string): void => {
    labels?.forEach((label, i) => {
      if (!tracked.has(label)) problems.push(`${path}.labels[${i}]: '${label}' is not tracked on this camera (tracking.labels: ${[...tracked].join(', ') || 'none'})`);
    });
  };
  const names = new Set<string>();
  camera.zones.forEach((zone, i) => {
    const path = `${at}.zones[${i}]`;
    if (names.has(zone.name)) problems.push(`${path}.name: duplicate zone name '${zone.name}'`);
    names.add(zone.name);
    const points = zone.points.map(([x, y]) => ({ x, y }));
    if (selfIntersects(points)) problems.push(`${path}.points: the polygon's edges cross each other; list its corners in order around it`);
    else if (polygonArea(points) < 1e-6) problems.push(`${path}.points: the polygon has no area (its points lie on one line)`);
    checkLabels(zone.labels, path);
  });
  names.clear();
  camera.lines.forEach((line, i) => {
    const path = `${at}.lines[${i}]`;
    if (names.has(line.name)) problems.push(`${path}.name: duplicate line name '${line.name}'`);
    names.add(line.name);
    if (line.a[0] === line.b[0] && line.a[1] === line.b[1]) problems.push(`${path}: a and b are the same point`);
    checkLabels(line.labels, path);
  });
  try {
    parseTimeOfDay(camera.counting.reset_time);
  } catch (error) {
    problems.push(`${at}.counting.reset_time: ${(error as Error).message}`);
  }
  return problems;
}

/** The camera's object tracking settings for its analysis (used only when it runs the objects task). */
export function objectTrackingSettings(camera: CameraConfig): ObjectTrackingSettings {
  const c = camera.counting;
  return {
    labels: camera.tracking.labels,
    maxMissedMs: camera.tracking.max_missed_seconds * 1000,
    eventUpdateMs: camera.tracking.update_seconds * 1000,
    resetAt: c.reset_time,
    counting: {
      zones: camera.zones,
      lines: camera.lines,
      hysteresis: c.hysteresis,
      rejoinMs: c.rejoin_seconds * 1000,
      rejoinDistance: c.rejoin_distance,
      minTrackMs: c.min_track_seconds * 1000,
    },
  };
}
