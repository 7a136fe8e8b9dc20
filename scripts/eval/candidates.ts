/**
 * Which detectors an eval run scores: product models through the detector registry (`loadDetector(task, options)`,
 * options passed through as given), reference models from `<data>/models`.
 */
import { RaypackError } from '../../src/errors.ts';
import { loadDetector, splitVariant } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';
import { availableReferenceModels, findReferenceModel } from './reference/index.ts';

export type EvalTask = 'face' | 'objects';

export interface Candidate {
  /** What the table calls it before loading (the loaded detector's modelId wins). */
  readonly label: string;
  readonly task: EvalTask;
  readonly variant: string;
  load(): Promise<Detector>;
}

/** `k=v k=v` for the table; empty for defaults. */
export function variantLabel(options: Readonly<Record<string, unknown>>): string {
  return Object.entries(options)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

export interface CandidateRequest {
  readonly tasks: readonly EvalTask[];
  readonly models: readonly string[];
  readonly reference: boolean;
  readonly options: Readonly<Record<string, unknown>>;
  readonly modelsDir: string;
  readonly threads: number;
  /** The task of a product model id (from its manifest); undefined when unknown. */
  readonly taskOfModel: (id: string) => EvalTask | undefined;
  /** Score each product model's float file and its int8 copy (an explicit `variant` option wins). */
  readonly variants?: boolean;
}

export function selectCandidates(req: CandidateRequest): Candidate[] {
  const one = (task: EvalTask, model: string | undefined, options: Readonly<Record<string, unknown>>): Candidate => ({
    label: model ?? `default ${task} model`,
    task,
    variant: variantLabel(options),
    load: () => loadDetector(task, { threads: req.threads, ...options, ...(model ? { model } : {}) }),
  });
  const product = (task: EvalTask, model?: string, variant?: 'fp32' | 'int8'): Candidate[] => {
    const fixed = variant ?? (req.options.variant as string | undefined);
    if (fixed !== undefined || !req.variants) return [one(task, model, { ...req.options, ...(variant ? { variant } : {}) })];
    return (['fp32', 'int8'] as const).map((v) => one(task, model, { ...req.options, variant: v }));
  };
  const out: Candidate[] = [];
  for (const requested of req.models) {
    const ref = findReferenceModel(requested);
    if (ref) {
      if (req.tasks.includes(ref.task)) out.push({ label: ref.id, task: ref.task, variant: '', load: () => ref.load(req.modelsDir, req.threads) });
      continue;
    }
    const { id, variant } = splitVariant(requested);
    const task = req.taskOfModel(id);
    if (!task) throw new RaypackError('bad_parameter', `unknown model '${requested}': not a models/<id>.json manifest nor a reference model`);
    if (req.tasks.includes(task)) out.push(...product(task, id, variant));
  }
  if (req.models.length === 0) for (const task of req.tasks) out.push(...product(task));
  if (req.reference) {
    const available = availableReferenceModels(req.modelsDir).filter((m) => req.tasks.includes(m.task));
    for (const ref of available) {
      if (!out.some((c) => c.label === ref.id)) out.push({ label: ref.id, task: ref.task, variant: '', load: () => ref.load(req.modelsDir, req.threads) });
    }
  }
  return out;
}
