/** Argument parsing for `raypack-edge eval`, kept pure so it is tested without running anything. */
import { parseCommandArgs, wholeNumberOption } from '../../src/cli-args.ts';
import { RaypackError } from '../../src/errors.ts';

export const EVAL_USAGE = `usage: raypack-edge eval [--task face|objects|all] [--model ID[,ID...]] [--reference]
                        [--option KEY=VALUE]... [--data DIR] [--limit N] [--json FILE] [--threads N] [--markdown]
                        [--decode full|detection] [--variants]
       raypack-edge eval --privacy [--privacy-option KEY=VALUE]... [--baseline] [--body] [--limit N] [--json FILE]

Scores detectors on the labelled sets in the data directory (default ../shared/data next to the project, or
$RAYPACK_DATA): faces on faces/wider-val-416 and faces/facemask-voc (AP50, faces under 10 px ignored), objects on
coco/val2017-a (mAP50). Prints a table, then the JSON (to stdout, or to --json FILE).

  --task       face, objects or all (default all)
  --model      product model ids (models/<id>.json) and/or reference ids (ref:yunet-n, ref:yunet-s-640,
               ref:ultraface-rfb-640, ref:ultraface-rfb-320, ref:yolox-nano); default: each task's default model
  --reference  also run every reference model found under <data>/models
  --option     detector option passed to loadDetector (repeatable), e.g. --option tiles=2
  --limit      only the first N images of each set (sorted by file name)
  --threads    ONNX Runtime intra-op threads for every model (default 2)
  --markdown   print the table as Markdown
  --variants   score each product model's fp32 file and its int8 copy, and print int8 against fp32 (our rule:
               an int8 copy is a default only where it loses at most 1 point); \`--model nanodet.int8\` picks one
  --decode     full (default): every image decoded in full, as camera frames reach the detector;
               detection: decoded only as large as the detector needs, as \`detect\` and the API do with uploads
  --privacy    what the anonymized pictures hide, through the analysis stage and the renderer the API and the
               cameras use: per labelled face (both sides >= 10 px) the share of its box hidden, coverage50/70/90
               overall and by face size, false fill, ms per image, on both face sets
  --privacy-option  a privacy setting for --privacy (repeatable): threshold, tiles (auto or a number), zoom,
               maxTilesPerSide, overlap, models (comma-separated face model ids), personHeads, personThreshold
  --baseline   with --privacy, also the settings before the privacy stage (one whole-image pass hidden from 0.5)
  --body       with --privacy, body mode (every person hidden whole)
`;

export type TaskChoice = 'face' | 'objects' | 'all';

export interface EvalArgs {
  readonly help: boolean;
  readonly task: TaskChoice;
  readonly models: readonly string[];
  readonly reference: boolean;
  readonly options: Readonly<Record<string, string | number | boolean>>;
  readonly dataDir?: string;
  readonly limit?: number;
  readonly jsonFile?: string;
  readonly threads: number;
  readonly markdown: boolean;
  readonly decode: 'full' | 'detection';
  readonly variants: boolean;
  readonly privacy: boolean;
  readonly privacyOptions: Readonly<Record<string, string | number | boolean>>;
  readonly baseline: boolean;
  readonly body: boolean;
}

/** `key=value` with value typed as number or boolean when it reads as one. */
export function parseOption(text: string): [string, string | number | boolean] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new RaypackError('bad_parameter', `--option expects KEY=VALUE, not '${text}'`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  if (raw === 'true' || raw === 'false') return [key, raw === 'true'];
  const n = Number(raw);
  return [key, raw !== '' && Number.isFinite(n) ? n : raw];
}

export function parseEvalArgs(argv: readonly string[]): EvalArgs {
  const parsed = parseCommandArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      task: { type: 'string' },
      model: { type: 'string', multiple: true },
      reference: { type: 'boolean' },
      option: { type: 'string', multiple: true },
      data: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'string' },
      threads: { type: 'string' },
      markdown: { type: 'boolean' },
      decode: { type: 'string' },
      variants: { type: 'boolean' },
      privacy: { type: 'boolean' },
      'privacy-option': { type: 'string', multiple: true },
      baseline: { type: 'boolean' },
      body: { type: 'boolean' },
    },
  });
  const v = parsed.values;
  const task = (v.task ?? 'all') as TaskChoice;
  if (!['face', 'objects', 'all'].includes(task)) throw new RaypackError('bad_parameter', `--task must be face, objects or all, not '${v.task}'`);
  const decode = v.decode ?? 'full';
  if (decode !== 'full' && decode !== 'detection') throw new RaypackError('bad_parameter', `--decode must be full or detection, not '${v.decode}'`);
  const models = (v.model ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  return {
    help: v.help ?? false,
    task,
    models,
    reference: v.reference ?? false,
    options: Object.fromEntries((v.option ?? []).map(parseOption)),
    dataDir: v.data,
    limit: wholeNumberOption('limit', v.limit, 1),
    jsonFile: v.json,
    threads: wholeNumberOption('threads', v.threads, 1) ?? 2,
    markdown: v.markdown ?? false,
    decode,
    variants: v.variants ?? false,
    privacy: v.privacy ?? false,
    privacyOptions: Object.fromEntries((v['privacy-option'] ?? []).map(parseOption)),
    baseline: v.baseline ?? false,
    body: v.body ?? false,
  };
}
