import { describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, MODEL_DEFAULTS, TASK_DEFAULTS, manifestFor, settingsFor, variantPath } from '../../src/detect/registry.ts';
import { listManifests } from '../../src/detect/manifest.ts';

describe('registry defaults', () => {
  it('names a model with a manifest for every task, and food shares the objects model', () => {
    for (const task of ['face', 'objects', 'food'] as const) {
      const manifest = manifestFor(task);
      expect(manifest.id).toBe(DEFAULT_MODELS[task]);
    }
    expect(manifestFor('face').task).toBe('face');
    expect(DEFAULT_MODELS.food).toBe(DEFAULT_MODELS.objects);
  });

  it('has per-model overrides only for models that exist', () => {
    const ids = new Set(listManifests().map((m) => m.id));
    for (const id of Object.keys(MODEL_DEFAULTS)) expect(ids.has(id)).toBe(true);
  });

  it('layers task defaults, model overrides and caller options', () => {
    // The default models run their int8 copies (within 1 point of AP50, faster); others their float file.
    expect(settingsFor('face', 'ssd-mobilenetv1-face')).toEqual({ ...TASK_DEFAULTS.face, variant: 'int8' });
    expect(settingsFor('face', 'ssd-mobilenetv1-face', { variant: 'fp32' }).variant).toBe('fp32');
    expect(settingsFor('objects', 'centernet').variant).toBe('fp32');
    expect(settingsFor('face', 'blazeface-back').tiling.tiles).toBe(2);
    const custom = settingsFor('face', 'blazeface-back', { tiles: 0, variant: 'fp32', nmsMode: 'greedy', overlap: 0.5 });
    expect(custom).toMatchObject({ tiling: { tiles: 0, overlap: 0.5, minImageToInput: 1.5 }, variant: 'fp32', nmsMode: 'greedy' });
    expect(settingsFor('objects', 'nanodet')).toEqual({ ...TASK_DEFAULTS.objects, variant: 'int8' });
    expect(settingsFor('food', 'nanodet').variant).toBe('int8');
  });

  it('maps variants to files', () => {
    expect(variantPath('nanodet', 'fp32')).toMatch(/models\/build\/nanodet\.onnx$/);
    expect(variantPath('nanodet', 'int8')).toMatch(/models\/build\/nanodet\.int8\.onnx$/);
  });

  it('refuses model ids that could name other files', () => {
    expect(() => manifestFor('face', '../package')).toThrow(/no model/);
    expect(() => manifestFor('objects', 'ssd-mobilenetv1-face')).toThrow(/face model/);
  });
});
