/** Argument parsing for `raypack-edge eval`, kept pure so it is tested without running anything. */
import { parseCommandArgs, wholeNumberOption } from '../../src/cli-args.ts';
import { RaypackError } from '../../src/errors.ts';

export const EVAL_USAGE = `usage: raypack-edge eval [--task face|objects|all] [--model ID[,ID...]] [--reference]
                        [--option KEY=VALUE]... [--data DIR] [--limit N] [--json FILE] [--threads N] [--markdown]
                        [--decode full|detection] [--variants]
       raypack-edge eval --privacy [--privacy-option KEY=VALUE]... [--baseline] [--body] [--limit N] [--json FILE]
       raypack-edge eval --privacy --live [--photos N] [--fps N] [--seconds-per-photo S] [--clip-fps N]
                        [--size WxH] [--zoom Z] [--json FILE]
       raypack-edge eval --privacy --videos [--sample-fps N] [--analysis-fps N] [--limit N] [--json FILE]

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
  --live       with --privacy, a real camera: a clip panning across labelled photos of both sets (the frame number
               stamped in a band under the picture) served over RTSP to the daemon's camera with the default
               privacy settings, fill snapshots pulled every 0.2 s: coverage of the faces in the frames they show,
               and per face the longest run of analysed frames it stays visible (scripts/eval/live)
               --privacy-option with --live: keys of the configuration's privacy section, e.g. tiles_per_frame=2
  --photos     --live: photos in the clip, spread over both sets (default 30)
  --fps        --live: the camera's analysis rate (default: the camera default, 5)
  --seconds-per-photo  --live: how long the pan over one photo lasts (default 4)
  --clip-fps   --live: the clip's frame rate (default 15)
  --size       --live: the camera frame, picture and band, WxH (default 1280x720; the band is 48 px)
  --zoom       --live: scale on top of the least that covers the picture (default 1)
  --videos     with --privacy, every video in <data>/video anonymized by the anonymize command's pipeline, and the
               reference detectors (YuNet, UltraFace) on sampled frames before and after: frame-level leak rate
  --sample-fps --videos: frames checked per second of video (default 2)
  --analysis-fps  --videos: frames analysed per second (default: every frame, as \`raypack-edge anonymize\`)
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
  readonly live: boolean;
  readonly videos: boolean;
  readonly photos: number;
  readonly fps?: number;
  readonly secondsPerPhoto: number;
  readonly clipFps: number;
  readonly size: { readonly width: number; readonly height: number };
  readonly zoom: number;
  readonly sampleFps: number;
  readonly analysisFps?: number;
}

function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0)) throw new RaypackError('bad_parameter', `--${name} must be a positive number, not '${text}'`);
  return n;
}

function parseSize(text: string | undefined): { width: number; height: number } {
  if (text === undefined) return { width: 1280, height: 720 };
  const m = /^(\d+)x(\d+)$/.exec(text);
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width < 320 || height < 120 || width > 3840 || height > 2160 || width % 2 || height % 2) {
    throw new RaypackError('bad_parameter', `--size must be WxH, even, from 320x120 to 3840x2160, not '${text}'`);
  }
  return { width, height };
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
      live: { type: 'boolean' },
      videos: { type: 'boolean' },
      photos: { type: 'string' },
      fps: { type: 'string' },
      'seconds-per-photo': { type: 'string' },
      'clip-fps': { type: 'string' },
      size: { type: 'string' },
      zoom: { type: 'string' },
      'sample-fps': { type: 'string' },
      'analysis-fps': { type: 'string' },
    },
  });
  const v = parsed.values;
  const task = (v.task ?? 'all') as TaskChoice;
  if (!['face', 'objects', 'all'].includes(task)) throw new RaypackError('bad_parameter', `--task must be face, objects or all, not '${v.task}'`);
  const decode = v.decode ?? 'full';
  if (decode !== 'full' && decode !== 'detection') throw new RaypackError('bad_parameter', `--decode must be full or detection, not '${v.decode}'`);
  if ((v.live || v.videos) && !v.privacy) throw new RaypackError('bad_parameter', '--live and --videos go with --privacy');
  if (v.live && v.videos) throw new RaypackError('bad_parameter', '--live and --videos are separate runs: give one');
  const fps = positiveNumber('fps', v.fps);
  if (fps !== undefined && fps > 30) throw new RaypackError('bad_parameter', '--fps is at most 30 (the camera limit)');
  const zoom = positiveNumber('zoom', v.zoom) ?? 1;
  if (zoom < 1) throw new RaypackError('bad_parameter', '--zoom is at least 1 (the photo must cover the picture)');
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
    live: v.live ?? false,
    videos: v.videos ?? false,
    photos: wholeNumberOption('photos', v.photos, 1) ?? 30,
    fps,
    secondsPerPhoto: positiveNumber('seconds-per-photo', v['seconds-per-photo']) ?? 4,
    clipFps: wholeNumberOption('clip-fps', v['clip-fps'], 1) ?? 15,
    size: parseSize(v.size),
    zoom,
    sampleFps: positiveNumber('sample-fps', v['sample-fps']) ?? 2,
    analysisFps: positiveNumber('analysis-fps', v['analysis-fps']),
  };
}
