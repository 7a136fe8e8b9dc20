/** The MQTT messages a camera publishes for an analysed frame: the RAYPACK face result and Filecontainers. */
import type { AnalysisResult } from '../analysis/camera.ts';
import type { FaceMessage, FileContainerMessage } from '../mqtt/topics.ts';
import { buildFaceResult, buildFileContainer, RECOG_MODELS } from '../raypack/wire.ts';

export function faceMessage(result: AnalysisResult): FaceMessage {
  return {
    ...buildFaceResult(result.faces, Math.round(result.faceSeconds * 1e6) / 1e6),
    camera: result.camera,
    frametime: result.frame.time,
    sequence: result.frame.seq,
  };
}

export function containerMessage(result: AnalysisResult, kind: 'objects' | 'food', license: string): FileContainerMessage | undefined {
  const tags = result[kind];
  if (!tags) return undefined;
  const model = kind === 'objects' ? RECOG_MODELS['1'] : RECOG_MODELS['2'];
  const container = buildFileContainer({
    model,
    originalfile: `camera:${result.camera}#${result.frame.seq}`,
    starttime: tags.starttime,
    endtime: tags.endtime,
    tags: tags.tags,
    license,
  });
  return { ...container, camera: result.camera, frametime: result.frame.time, sequence: result.frame.seq };
}
