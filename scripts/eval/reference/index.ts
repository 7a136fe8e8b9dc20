/** The reference detectors by id; each is loaded only when its ONNX file is present under `<data>/models`. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Detector } from '../../../src/detect/types.ts';
import { loadUltraface } from './ultraface.ts';
import { loadYolox } from './yolox.ts';
import { loadYunet } from './yunet.ts';

export interface ReferenceModel {
  readonly id: string;
  readonly task: 'face' | 'objects';
  /** Path under the models directory that must exist. */
  readonly file: string;
  load(modelsDir: string, threads?: number): Promise<Detector>;
}

export const REFERENCE_MODELS: readonly ReferenceModel[] = [
  { id: 'ref:yunet-n', task: 'face', file: 'yunet/yunet_n_dynamic.onnx', load: (d, t) => loadYunet(d, 'yunet-n', t) },
  { id: 'ref:yunet-s-640', task: 'face', file: 'yunet/yunet_s_640_640.onnx', load: (d, t) => loadYunet(d, 'yunet-s-640', t) },
  { id: 'ref:ultraface-rfb-640', task: 'face', file: 'ultraface/version-RFB-640.onnx', load: (d, t) => loadUltraface(d, 'ultraface-rfb-640', t) },
  { id: 'ref:ultraface-rfb-320', task: 'face', file: 'ultraface/version-RFB-320.onnx', load: (d, t) => loadUltraface(d, 'ultraface-rfb-320', t) },
  { id: 'ref:yolox-nano', task: 'objects', file: 'yolox/yolox_nano.onnx', load: (d, t) => loadYolox(d, t) },
];

export function availableReferenceModels(modelsDir: string): ReferenceModel[] {
  return REFERENCE_MODELS.filter((m) => existsSync(join(modelsDir, m.file)));
}

export function findReferenceModel(id: string): ReferenceModel | undefined {
  const key = id.startsWith('ref:') ? id : `ref:${id}`;
  return REFERENCE_MODELS.find((m) => m.id === key);
}
