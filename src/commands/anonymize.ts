/**
 * `raypack-edge anonymize <input> -o <output>`: a video file, or a folder of photos (or one photo), anonymized with
 * the privacy pipeline the cameras use (the analysis stage's recall-first regions and the tracker). Videos:
 * src/video/anonymize.ts (every frame rendered, H.264, audio copied, the input's frame rate and length). Photos:
 * each one through the stage with every privacy pass, written as JPEG under the same relative path.
 * Progress goes to stderr: one line redrawn in place on a terminal, a line every 10 % otherwise.
 * Exit codes: 0 done, 1 the input could not be anonymized (nothing is written for it), 2 usage, 130 interrupted
 * (SIGINT/SIGTERM: ffmpeg is stopped and the partial file deleted first).
 */
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { AnalysisStage } from '../analysis/stage.ts';
import { DEFAULT_PRIVACY, type PrivacySettings } from '../analysis/privacy.ts';
import { parseCommandArgs, wholeNumberOption } from '../cli-args.ts';
import { loadPoseDetector, type PoseDetector } from '../detect/pose.ts';
import { loadDetector } from '../detect/registry.ts';
import type { Detector, Task } from '../detect/types.ts';
import { RaypackError, isRaypackError } from '../errors.ts';
import { parseHexColour, renderFaces, type Rgb } from '../image/anonymize.ts';
import { sniffImageFormat } from '../image/decode.ts';
import { anonymizeVideo, type Progress } from '../video/anonymize.ts';

const USAGE = `usage: raypack-edge anonymize [options] <video file | photo | folder of photos> -o <output>

options:
  -o, --output PATH          the anonymized video (.mp4, H.264; .mkv keeps any audio codec) or photo folder
  --facemode pixel|fill|body  pixel: faces and heads pixelated (default); fill: filled with --hex;
                             body: every person filled whole as well
  --hex RRGGBB               fill colour (default 000000)
  --threshold T              face score from which a face is hidden, 0.05..1 (default ${DEFAULT_PRIVACY.threshold}: recall first)
  --fps N                    analyse N frames per second of video (default: every frame); the tracker carries
                             the hidden regions across the frames between, and every frame is written
  --threads N                ONNX Runtime threads (default: all cores)
  --quiet                    no progress line
`;

const PHOTO_EXTENSIONS = /\.(jpe?g|png|webp)$/i;
const FACEMODES = ['pixel', 'fill', 'body'] as const;
type Facemode = (typeof FACEMODES)[number];

interface Settings {
  readonly facemode: Facemode;
  readonly colour: Rgb;
  readonly privacy: PrivacySettings;
  readonly fps?: number;
  readonly threads?: number;
  readonly quiet: boolean;
}

export async function anonymizeCommand(argv: string[]): Promise<number> {
  let input: string;
  let output: string;
  let settings: Settings;
  try {
    ({ input, output, settings } = parse(argv));
  } catch (error) {
    if (error === HELP) {
      process.stdout.write(USAGE);
      return 0;
    }
    process.stderr.write(`raypack-edge anonymize: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const info = await stat(input).catch(() => undefined);
  if (!info) return fail(`${input}: no such file or folder`);
  if (resolve(input) === resolve(output)) return fail('the output must not be the input');
  const stage = new PrivacyStage(settings);
  try {
    if (info.isDirectory()) return await anonymizePhotos(stage, input, output, settings);
    const head = await readHead(input);
    if (sniffImageFormat(head)) return await anonymizePhotoFiles(stage, [[input, output]], settings);
    const progress = new ProgressLine(settings.quiet);
    // Ctrl-C or a service stop: ffmpeg is killed and the partial file deleted before the exit (130).
    const interrupted = new AbortController();
    const interrupt = (signal: NodeJS.Signals): void => interrupted.abort(new RaypackError('internal', `interrupted (${signal}): no output written`));
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const result = await anonymizeVideo({
      signal: interrupted.signal,
      stage: stage.stage,
      input,
      output,
      privacy: settings.facemode === 'body' ? 'body' : 'faces',
      render: settings.facemode === 'pixel' ? 'pixel' : 'fill',
      colour: settings.colour,
      analysisFps: settings.fps,
      onProgress: (p) => progress.update(p),
    }).finally(() => {
      process.removeListener('SIGINT', interrupt);
      process.removeListener('SIGTERM', interrupt);
      progress.end();
    });
    const seconds = result.elapsedMs / 1000;
    const length = result.frames / (result.info.fps.num / result.info.fps.den);
    process.stderr.write(
      `raypack-edge anonymize: ${output}: ${result.frames} frames (${result.analysed} analysed), ${length.toFixed(1)} s of video in ${seconds.toFixed(1)} s (${(length / seconds).toFixed(2)}x real time), audio ${result.audio === 'none' ? 'none' : result.audio === 'copy' ? 'copied' : 're-encoded to AAC'}\n`,
    );
    return 0;
  } catch (error) {
    const code = fail(`${input}: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof RaypackError && error.message.startsWith('interrupted') ? 130 : code;
  } finally {
    await stage.close();
  }
}

const HELP = Symbol('help');

function parse(argv: string[]): { input: string; output: string; settings: Settings } {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      facemode: { type: 'string', default: 'pixel' },
      hex: { type: 'string', default: '000000' },
      threshold: { type: 'string' },
      fps: { type: 'string' },
      threads: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw HELP;
  if (positionals.length !== 1) throw new RaypackError('bad_parameter', positionals.length === 0 ? 'no input given' : 'give one input (a video, a photo or a folder)');
  if (!values.output) throw new RaypackError('bad_parameter', 'no output given (-o PATH)');
  const facemode = values.facemode as Facemode;
  if (!FACEMODES.includes(facemode)) throw new RaypackError('bad_parameter', `--facemode must be one of ${FACEMODES.join(', ')}`);
  const colour = parseHexColour(values.hex!);
  if (!colour) throw new RaypackError('bad_parameter', '--hex must be a colour written RRGGBB, e.g. 00ff00');
  const threshold = values.threshold === undefined ? DEFAULT_PRIVACY.threshold : Number(values.threshold);
  if (!(threshold >= 0.05 && threshold <= 1)) throw new RaypackError('bad_parameter', '--threshold must be a number from 0.05 to 1');
  const fps = values.fps === undefined ? undefined : Number(values.fps);
  // At least 1: the frames between two analysed ones wait in memory (30 at 1 fps of a 30 fps video).
  if (fps !== undefined && !(fps >= 1 && fps <= 240)) throw new RaypackError('bad_parameter', '--fps must be a number from 1 to 240');
  const threads = wholeNumberOption('threads', values.threads, 1);
  return {
    input: positionals[0],
    output: values.output,
    settings: { facemode, colour, privacy: { ...DEFAULT_PRIVACY, threshold }, fps, threads, quiet: values.quiet ?? false },
  };
}

function fail(message: string): number {
  process.stderr.write(`raypack-edge anonymize: ${message}\n`);
  return 1;
}

async function readHead(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** The analysis stage with the detectors hiding needs, loaded on first use and closed at the end. */
/** The analysis stage of the command, with the models it loads (the privacy eval of videos runs this one too). */
export class PrivacyStage {
  readonly stage: AnalysisStage;
  private readonly loaded: Array<Promise<{ close(): Promise<void> }>> = [];

  constructor(settings: Pick<Settings, 'privacy' | 'threads'>) {
    const threads = settings.threads;
    const detectors = new Map<Task, Promise<Detector>>();
    let extra: Promise<Detector[]> | undefined;
    let pose: Promise<PoseDetector> | undefined;
    const keep = <T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> => {
      this.loaded.push(p);
      return p;
    };
    this.stage = new AnalysisStage({
      privacy: settings.privacy,
      detectors: (task) => {
        let d = detectors.get(task);
        if (!d) detectors.set(task, (d = keep(loadDetector(task, { threads }))));
        return d;
      },
      // The whole image only, as the daemon loads them: a second opinion is for the large faces the main model misses.
      privacyModels: () => (extra ??= Promise.all(settings.privacy.models.map((id) => keep(loadDetector('face', { modelId: id, threads, tiles: 0 }))))),
      poseDetector: () => (pose ??= keep(loadPoseDetector({ threads }))),
    });
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.loaded);
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
  }
}

/** Photos under `dir`, sorted, as [input, output] pairs (the same relative path under `out`, as .jpg). */
async function photosUnder(dir: string, out: string): Promise<Array<[string, string]>> {
  const pairs: Array<[string, string]> = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && PHOTO_EXTENSIONS.test(entry.name)) {
        const rel = relative(dir, path);
        pairs.push([path, join(out, rel.slice(0, rel.length - extname(rel).length) + '.jpg')]);
      }
    }
  };
  await walk(dir);
  return pairs;
}

async function anonymizePhotos(stage: PrivacyStage, dir: string, out: string, settings: Settings): Promise<number> {
  const pairs = await photosUnder(dir, out);
  if (pairs.length === 0) return fail(`${dir}: no photos (.jpg, .png, .webp) in it`);
  return anonymizePhotoFiles(stage, pairs, settings);
}

/** Each photo through the stage with every privacy pass; one that cannot be read is reported and not written. */
async function anonymizePhotoFiles(stage: PrivacyStage, pairs: Array<[string, string]>, settings: Settings): Promise<number> {
  let failed = 0;
  for (const [i, [from, to]] of pairs.entries()) {
    try {
      const bytes = new Uint8Array(await readFile(from));
      const analysis = await stage.stage.analyse({ bytes }, { privacy: settings.facemode === 'body' ? 'body' : 'faces', keepPixels: true });
      if (!analysis.image || !analysis.privacy) throw new RaypackError('internal', 'the analysis gave no privacy regions: nothing is written');
      const jpeg = await renderFaces(analysis.image, analysis.privacy, settings.facemode === 'pixel' ? 'pixel' : 'fill', { colour: settings.colour });
      await mkdir(dirname(to), { recursive: true });
      await writeFile(to, jpeg);
      if (!settings.quiet) process.stderr.write(`raypack-edge anonymize: [${i + 1}/${pairs.length}] ${to}: ${analysis.privacy.length} region${analysis.privacy.length === 1 ? '' : 's'} hidden\n`);
    } catch (error) {
      failed += 1;
      const message = isRaypackError(error) || error instanceof Error ? error.message : String(error);
      process.stderr.write(`raypack-edge anonymize: ${from}: ${message} (not written)\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/** The progress on stderr: redrawn in place at most 4 times a second on a terminal, every 10 % (or 10 s) otherwise. */
class ProgressLine {
  private readonly tty = process.stderr.isTTY === true;
  private lastDraw = 0;
  private lastStep = -1;
  private drawn = false;

  constructor(private readonly quiet: boolean) {}

  update(p: Progress): void {
    if (this.quiet) return;
    const now = performance.now();
    const share = p.total ? Math.min(1, p.frames / p.total) : undefined;
    if (this.tty) {
      if (now - this.lastDraw < 250 && p.frames !== p.total) return;
      this.lastDraw = now;
      process.stderr.write(`\r${formatProgress(p)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const step = share !== undefined ? Math.floor(share * 10) : Math.floor(now / 10_000);
    if (step === this.lastStep) return;
    this.lastStep = step;
    process.stderr.write(`${formatProgress(p)}\n`);
  }

  end(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

/** `anonymize: 312/1394 frames (22%), 9.8 frames/s, ETA 1m50s` (pure, tested). */
export function formatProgress(p: Progress): string {
  const rate = p.elapsedMs > 0 ? (p.frames * 1000) / p.elapsedMs : 0;
  const of = p.total ? `/${p.total}` : '';
  const share = p.total ? ` (${Math.floor((100 * Math.min(p.frames, p.total)) / p.total)}%)` : '';
  const eta = p.total && rate > 0 ? `, ETA ${formatDuration(Math.max(0, p.total - p.frames) / rate)}` : '';
  return `anonymize: ${p.frames}${of} frames${share}, ${rate.toFixed(1)} frames/s${eta}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
