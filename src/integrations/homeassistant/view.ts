/** What a camera sees now (`raypack/<device>/<camera>/view`), from its status and latest analysis; pure. */
import type { AnalysisResult } from '../../analysis/camera.ts';
import type { CameraStatus } from '../../camera/camera.ts';
import { translateCoco, type Lang } from '../../detect/labels.ts';
import type { CameraViewPayload } from '../../mqtt/topics.ts';

/** Home Assistant rejects states longer than 255 characters. */
const MAX_STATE = 255;

function joinTags(tags: ReadonlyArray<{ name: string }> | undefined): string {
  const text = (tags ?? []).map((t) => t.name).join(', ');
  return text.length <= MAX_STATE ? text : `${text.slice(0, MAX_STATE - 1)}…`;
}

/** The latest result counts as "now" for max(5 s, 3 frame intervals) after its frame arrived. */
export function freshForMs(fps: number): number {
  return Math.max(5000, 3000 / Math.max(fps, 0.01));
}

export function cameraView(status: CameraStatus, result: AnalysisResult | undefined, configuredFps: number, lang: Lang, now: number): CameraViewPayload {
  const fresh = status.state === 'streaming' && result !== undefined && now - result.frame.time <= freshForMs(configuredFps);
  const faces = fresh ? result.faces.length : 0;
  const person = translateCoco('person', lang);
  const people = fresh && (result.objects?.tags ?? []).some((t) => t.name === person) ? 1 : 0;
  return {
    camera: status.camera,
    state: status.state,
    fresh,
    faces,
    people,
    occupancy: faces > 0 || people > 0 ? 'ON' : 'OFF',
    objects: fresh ? joinTags(result.objects?.tags) : '',
    food: fresh ? joinTags(result.food?.tags) : '',
    frametime: result?.frame.time,
  };
}
