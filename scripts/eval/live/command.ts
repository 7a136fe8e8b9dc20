/**
 * `raypack-edge eval --privacy --live`: the privacy of a real camera. A clip panning across labelled photos of
 * both face sets (pan.ts, clip.ts), the frame number in a band under the picture and one above it (band.ts), is served over RTSP
 * (GStreamer's RTSP server, test/helpers/rtsp.ts) to the daemon's camera pipeline run in this process with the
 * default camera rate and privacy settings and facemode fill in magenta. Fill snapshots are pulled over HTTP every
 * 0.2 s; each one tells from its band which clip frame it shows, so the faces in it are known exactly, and the
 * share of each face's box filled is measured on the JPEG served (measure.ts, runs.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../../src/config/load.ts';
import { Daemon } from '../../../src/daemon.ts';
import { isRaypackError } from '../../../src/errors.ts';
import { RtspServer } from '../../../test/helpers/rtsp.ts';
import { printReport } from '../print.ts';
import type { EvalArgs } from '../args.ts';
import { FACE_SETS, loadDataset } from '../datasets.ts';
import { BAND_HEIGHT, frameSize, pickPhotos, writeClip } from './clip.ts';
import { FILL_HEX, measureSnapshot } from './measure.ts';
import type { ClipOptions } from './pan.ts';
import { formatLiveTable } from './report.ts';
import { frameFromSeq, liveMetrics, type LiveMetrics, type ObservedFrame } from './runs.ts';

export const SNAPSHOT_INTERVAL_MS = 200;
const CAMERA_ID = 'live';

export interface LiveRunOptions {
  readonly dataDir: string;
  readonly photos: number;
  /** The camera's analysis rate; absent: the camera default. */
  readonly fps?: number;
  readonly secondsPerPhoto: number;
  readonly clipFps: number;
  readonly size: { readonly width: number; readonly height: number };
  readonly zoom: number;
  readonly threads?: number;
  /** Keys of the configuration's `privacy` section (snake_case, checked by the config schema) over the defaults. */
  readonly privacy?: Readonly<Record<string, unknown>>;
  readonly log?: (line: string) => void;
}

export interface LiveRunResult {
  /** The `privacy` configuration keys set over the defaults ({}: the defaults). */
  readonly privacy: Readonly<Record<string, unknown>>;
  readonly clip: { readonly photos: readonly { id: string; set: string }[]; readonly frames: number; readonly fps: number; readonly seconds: number; readonly width: number; readonly height: number; readonly pictureHeight: number };
  readonly camera: { readonly fps: number; readonly width: number; readonly height: number; readonly facemode: string; readonly status: unknown };
  /**
   * `unreadable`: snapshots whose bands could not be read; `inferred`: distinct analysed frames among them whose
   * clip frame their sequence number told (runs.ts frameFromSeq), measured as well; `distinctFrames` counts both.
   */
  readonly snapshots: { readonly pulled: number; readonly unreadable: number; readonly inferred: number; readonly distinctFrames: number; readonly firstFrame?: number; readonly lastFrame?: number };
  readonly metrics: LiveMetrics;
  /** Every analysed frame seen: its clip frame number and the coverage of each face (for looking into runs). */
  readonly frames: readonly ObservedFrame[];
}

export async function runLiveEval(options: LiveRunOptions): Promise<LiveRunResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[eval --live] ${line}\n`));
  const sets = await Promise.all(FACE_SETS.map((name) => loadDataset(options.dataDir, name)));
  const photos = await pickPhotos(sets, options.photos);
  const clipOptions: ClipOptions = {
    width: options.size.width,
    height: options.size.height - 2 * BAND_HEIGHT,
    fps: options.clipFps,
    secondsPerPhoto: options.secondsPerPhoto,
    leadInFrames: Math.round(3 * options.clipFps),
    tailFrames: Math.round(3 * options.clipFps),
    zoom: options.zoom,
  };
  const size = frameSize(clipOptions);
  const dir = mkdtempSync(join(tmpdir(), 'raypack-live-eval-'));
  const rtsp = new RtspServer({ file: join(dir, 'clip.mp4') });
  let daemon: Daemon | undefined;
  try {
    log(`writing the clip: ${photos.length} photos, ${options.secondsPerPhoto} s each at ${options.clipFps} fps, ${size.width}x${size.height}`);
    const plan = await writeClip(photos, clipOptions, join(dir, 'clip.mp4'), 'ffmpeg', (n, total) => {
      if (n % 500 === 0 || n === total) log(`clip: ${n}/${total} frames`);
    });
    await rtsp.start();
    const loaded = loadConfig({
      text: JSON.stringify({
        device: 'live-eval',
        log_level: 'warn',
        state_dir: join(dir, 'state'),
        ...(options.threads !== undefined ? { inference: { threads: options.threads } } : {}),
        mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
        http: { host: '127.0.0.1', port: 0 },
        homeassistant: { enabled: false },
        ...(options.privacy && Object.keys(options.privacy).length > 0 ? { privacy: options.privacy } : {}),
        cameras: [{ id: CAMERA_ID, url: rtsp.url, width: size.width, height: size.height, facemode: 'fill', hex: FILL_HEX, ...(options.fps !== undefined ? { fps: options.fps } : {}) }],
      }),
      env: {},
    });
    const cameraConfig = loaded.config.cameras[0];
    daemon = new Daemon(loaded);
    const endpoints = await daemon.start();
    log(`daemon up, camera at ${cameraConfig.fps} fps; pulling fill snapshots every ${SNAPSHOT_INTERVAL_MS} ms`);
    const url = `${endpoints.httpUrl}/cameras/${CAMERA_ID}/snapshot.jpg?facemode=fill&hex=${FILL_HEX}`;
    /** A served JPEG measured: its clip frame from its bands, or `knownFrame` when given. */
    const measure = async (jpeg: Uint8Array, knownFrame?: number): Promise<ObservedFrame | undefined> => {
      const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return measureSnapshot({ data, width: info.width, height: info.height }, size, plan, photos, knownFrame);
    };
    const observed = new Map<number, ObservedFrame>();
    let pulled = 0;
    let unreadable = 0;
    // Unreadable snapshots by camera sequence number, measured once the readable ones around them tell their frame.
    const unread = new Map<number, Uint8Array>();
    let lastNew = Date.now();
    let lastLog = Date.now();
    let lastFrame = -1;
    let latest: number | undefined;
    const clipMs = (plan.totalFrames / options.clipFps) * 1000;
    const deadline = Date.now() + clipMs + 60_000;
    // Past the last photo: every frame with faces has been shown.
    const endFrame = plan.photosEnd + Math.ceil((2 * options.clipFps) / cameraConfig.fps);
    for (;;) {
      const tick = Date.now();
      const response = await fetch(url).catch(() => undefined);
      if (response?.ok) {
        pulled += 1;
        const jpeg = new Uint8Array(await response.arrayBuffer());
        const seq = Number(response.headers.get('x-raypack-frame'));
        const measured = await measure(jpeg);
        const seen = measured && Number.isInteger(seq) ? { ...measured, seq } : measured;
        latest = seen?.frame ?? latest;
        if (!seen) {
          unreadable += 1;
          if (Number.isInteger(seq) && !unread.has(seq)) unread.set(seq, jpeg);
        }
        else if (!observed.has(seen.frame)) {
          observed.set(seen.frame, seen);
          lastNew = Date.now();
          lastFrame = Math.max(lastFrame, seen.frame);
        }
      } else {
        await response?.arrayBuffer().catch(() => undefined);
      }
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        const m = liveMetrics([...observed.values()]);
        log(`frame ${lastFrame}/${plan.totalFrames}: ${observed.size} analysed frames seen, ${m.faceFrames} face-frames, coverage70 ${(m.overall.coverage70 * 100).toFixed(1)} %`);
      }
      if (lastFrame >= endFrame) break;
      // The clip ended and the camera reconnected to its start: what it shows now was measured already.
      if (latest !== undefined && latest < lastFrame - 10 * options.clipFps) {
        log(`the clip ended at frame ${lastFrame} and started again: measuring what was seen`);
        break;
      }
      if (Date.now() > deadline) {
        log('the clip did not reach its end in time: measuring what was seen');
        break;
      }
      if (observed.size > 0 && Date.now() - lastNew > 15_000) {
        log('no new frame for 15 s: measuring what was seen');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, SNAPSHOT_INTERVAL_MS - (Date.now() - tick))));
    }
    const status = daemon.camera(CAMERA_ID)?.status();
    const readable = [...observed.values()];
    let inferred = 0;
    for (const [seq, jpeg] of unread) {
      const frame = frameFromSeq(seq, readable, options.clipFps / cameraConfig.fps);
      if (frame === undefined || observed.has(frame)) continue;
      const seen = await measure(jpeg, frame);
      if (!seen) continue;
      observed.set(frame, { ...seen, seq });
      inferred += 1;
    }
    if (unread.size > 0) log(`${unread.size} analysed frames had unreadable bands; ${inferred} of them placed by their sequence number and measured`);
    const frames = [...observed.values()].sort((a, b) => a.frame - b.frame);
    return {
      privacy: options.privacy ?? {},
      clip: { photos: photos.map((p) => ({ id: p.id, set: p.set })), frames: plan.totalFrames, fps: options.clipFps, seconds: plan.totalFrames / options.clipFps, width: size.width, height: size.height, pictureHeight: clipOptions.height },
      camera: { fps: cameraConfig.fps, width: size.width, height: size.height, facemode: 'fill', status },
      snapshots: { pulled, unreadable, inferred, distinctFrames: frames.length, firstFrame: frames[0]?.frame, lastFrame: frames.at(-1)?.frame },
      metrics: liveMetrics(frames),
      frames,
    };
  } finally {
    await daemon?.stop();
    await rtsp.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function liveEvalCommand(args: EvalArgs, dataDir: string): Promise<number> {
  let result: LiveRunResult;
  try {
    result = await runLiveEval({ dataDir, photos: args.photos, fps: args.fps, secondsPerPhoto: args.secondsPerPhoto, clipFps: args.clipFps, size: args.size, zoom: args.zoom, privacy: args.privacyOptions });
  } catch (error) {
    if (!isRaypackError(error)) throw error;
    process.stderr.write(`raypack-edge eval: ${error.message}\n`);
    return 2;
  }
  printReport(formatLiveTable(result), { ...result }, args.jsonFile);
  return 0;
}
