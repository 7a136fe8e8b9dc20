/**
 * `raypack-edge eval --privacy`: the privacy evaluation (privacy.ts) on both face sets, with the product's privacy
 * settings (and, with --baseline, the settings before the privacy stage beside them), printed as a table and JSON.
 */
import { AnalysisStage } from '../../src/analysis/stage.ts';
import { DEFAULT_PRIVACY, type PrivacySettings } from '../../src/analysis/privacy.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import { loadPoseDetector, type PoseDetector } from '../../src/detect/pose.ts';
import type { Detector, Task } from '../../src/detect/types.ts';
import { RaypackError } from '../../src/errors.ts';
import { printReport } from './print.ts';
import type { EvalArgs } from './args.ts';
import { FACE_SETS, limitDataset, loadDataset } from './datasets.ts';
import { BASELINE_PRIVACY, evaluatePrivacy, formatPrivacyTable, type PrivacyResult } from './privacy.ts';

/** Privacy settings from --privacy-option KEY=VALUE on top of the defaults; unknown keys and bad values refused. */
export function privacySettingsFrom(options: Readonly<Record<string, string | number | boolean>>, base: PrivacySettings = DEFAULT_PRIVACY): PrivacySettings {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(options)) {
    if (!(key in base)) throw new RaypackError('bad_parameter', `unknown privacy option '${key}' (known: ${Object.keys(base).join(', ')})`);
    const current = (base as unknown as Record<string, unknown>)[key];
    if (key === 'models') out.models = String(value).split(',').map((m) => m.trim()).filter(Boolean);
    else if (key === 'tiles') out.tiles = value === 'auto' ? 'auto' : Number(value);
    else if (typeof current === 'boolean') out[key] = value === true || value === 'true';
    else if (typeof current === 'number') {
      if (typeof value !== 'number') throw new RaypackError('bad_parameter', `privacy option '${key}' must be a number`);
      out[key] = value;
    }
  }
  if (out.tiles !== 'auto' && !(Number.isInteger(out.tiles) && (out.tiles as number) >= 0)) throw new RaypackError('bad_parameter', `privacy option 'tiles' must be auto or a whole number`);
  return out as unknown as PrivacySettings;
}

export async function privacyEvalCommand(args: EvalArgs, dataDir: string): Promise<number> {
  if (args.live) return (await import('./live/command.ts')).liveEvalCommand(args, dataDir);
  if (args.videos) return (await import('./videos/command.ts')).videoLeakCommand(args, dataDir);
  let settings: PrivacySettings;
  try {
    settings = privacySettingsFrom(args.privacyOptions);
  } catch (error) {
    process.stderr.write(`raypack-edge eval: ${(error as Error).message}\n`);
    return 2;
  }
  const runs: { name: string; settings: PrivacySettings }[] = [
    ...(args.baseline ? [{ name: 'before (0.5, whole image)', settings: BASELINE_PRIVACY }] : []),
    { name: describe(settings), settings },
  ];
  const detectors = new Map<string, Promise<Detector>>();
  const detector = (task: Task | string): Promise<Detector> => {
    let d = detectors.get(task);
    if (!d) {
      d = task === 'face' || task === 'objects' || task === 'food' ? loadDetector(task === 'food' ? 'objects' : task, { threads: args.threads }) : loadDetector('face', { model: task, threads: args.threads, tiles: 0 });
      detectors.set(task, d);
    }
    return d;
  };
  const results: PrivacyResult[] = [];
  let pose: Promise<PoseDetector> | undefined;
  try {
    for (const name of FACE_SETS) {
      const dataset = limitDataset(await loadDataset(dataDir, name), args.limit);
      for (const run of runs) {
        const stage = new AnalysisStage({
          detectors: (task) => detector(task),
          privacyModels: () => Promise.all(run.settings.models.map((m) => detector(m))),
          poseDetector: () => (pose ??= loadPoseDetector({ threads: args.threads })),
          privacy: run.settings,
        });
        let last = 0;
        const result = await evaluatePrivacy(stage, dataset, {
          settings: run.name,
          mode: args.body ? 'body' : 'faces',
          onImage: (done, total) => {
            if (done === total || performance.now() - last > 5000) {
              last = performance.now();
              process.stderr.write(`[eval --privacy] ${name} ${run.name}: ${done}/${total} images\n`);
            }
          },
        });
        results.push(result);
      }
    }
  } finally {
    await Promise.all([...detectors.values(), ...(pose ? [pose] : [])].map((d) => d.then((x) => x.close(), () => undefined)));
  }
  printReport(formatPrivacyTable(results), { settings: runs, results }, args.jsonFile);
  return 0;
}

function describe(s: PrivacySettings): string {
  const parts = [`${s.threshold}`, `tiles ${s.tiles}`];
  if (s.models.length > 0) parts.push(`+${s.models.join('+')}`);
  if (s.personHeads) parts.push('heads');
  if (s.poseHeads) parts.push('poses');
  if (s.flip) parts.push('flip');
  if (s.border > 0) parts.push(`border ${s.border}`);
  return parts.join(', ');
}
