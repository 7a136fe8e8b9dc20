/**
 * The analysis stage: the one trip from image bytes or pixels to what is REPORTED (detections at the caller's
 * thresholds, precision-first) and what must be HIDDEN (privacy regions, recall-first: privacy.ts). The HTTP
 * routes, `raypack-edge detect`, eval, bench and the camera pipeline all call `analyse`; nothing else stitches
 * decode -> detect -> map-back. Each detector runs once per image: the whole-image face pass feeds both reporting
 * and hiding (at the lower threshold), one objects pass feeds objects, food and the person heads.
 */
import type { RgbImage } from '../core/image.ts';
import { RaypackError } from '../errors.ts';
import { FOOD_CLASS_IDS } from '../detect/labels.ts';
import { detectionDecodeOptions } from '../detect/registry.ts';
import type { Detection, Detector, Task } from '../detect/types.ts';
import type { PoseDetector } from '../detect/pose.ts';
import { decodeForDetection, decodeImage, scaleDetections, type DecodeLimits, type DetectionDecoded, type ImageFormat } from '../image/decode.ts';
import { DEFAULT_PRIVACY, findPrivacyRegions, privacyTiles, type PrivacySettings } from './privacy.ts';
import type { Analysis, AnalysisRequest, PrivacyRegion } from './types.ts';

/** Detectors by task, loaded once and shared (the daemon's, or a CLI's own). */
export type DetectorSource = (task: Task) => Promise<Detector>;

export interface StageOptions {
  readonly detectors: DetectorSource;
  /** Second-opinion face models for hiding (privacy.models), loaded on first use. */
  readonly privacyModels?: () => Promise<readonly Detector[]>;
  /** The pose detector for pose heads (privacy.poseHeads), loaded on first use. */
  readonly poseDetector?: () => Promise<PoseDetector>;
  readonly privacy?: PrivacySettings;
}

/** Encoded bytes (decoded here, within the caller's limits) or pixels (a camera frame). */
export type ImageInput = { readonly bytes: Uint8Array; readonly limits?: DecodeLimits } | { readonly image: RgbImage };

/** What `detector` gives at each threshold, from one inference when it can. */
async function detectAt(detector: Detector, image: RgbImage, thresholds: readonly number[]): Promise<Detection[][]> {
  if (detector.detectAt) return detector.detectAt(image, thresholds);
  return Promise.all(thresholds.map((threshold) => detector.detect(image, { threshold })));
}

export class AnalysisStage {
  readonly privacy: PrivacySettings;
  private readonly options: StageOptions;

  constructor(options: StageOptions) {
    this.options = options;
    this.privacy = options.privacy ?? DEFAULT_PRIVACY;
  }

  async analyse(input: ImageInput, request: AnalysisRequest): Promise<Analysis> {
    const timings: Record<string, number> = {};
    const report = request.report ?? {};
    const privacy = request.privacy || undefined;
    const wantsFace = report.face !== undefined || privacy !== undefined;
    const objectsTask = report.objects !== undefined || report.food !== undefined;
    const passes = request.privacyPasses;
    const wantsPersons = privacy !== undefined && (privacy === 'body' || (this.privacy.personHeads && passes?.persons !== false));
    const face = wantsFace ? await this.detector('face') : undefined;
    const objects = objectsTask || wantsPersons ? await this.detector('objects') : undefined;

    // Decode: only as large as the one detector needs when nothing is rendered or hidden (JSON answers).
    const t0 = performance.now();
    let image: RgbImage;
    let decoded: DetectionDecoded | undefined;
    let format: ImageFormat | undefined;
    if ('image' in input) {
      image = input.image;
    } else if (!request.keepPixels && privacy === undefined && (face === undefined) !== (objects === undefined)) {
      decoded = await decodeForDetection(input.bytes, { ...detectionDecodeOptions((face ?? objects)!), limits: input.limits });
      image = decoded.image;
      format = decoded.format;
    } else {
      const full = await decodeImage(input.bytes, input.limits);
      image = { data: full.data, width: full.width, height: full.height };
      format = full.format;
    }
    if ('bytes' in input) timings.decode = performance.now() - t0;
    const toOriginal = (list: Detection[]): Detection[] => (decoded ? scaleDetections(list, decoded) : list);

    // The whole-image face pass runs once for both: the reported faces are exactly what detect() gives at the
    // caller's threshold, the hidden ones what it gives at the privacy threshold.
    let faceFound: Detection[] = [];
    let faces: Detection[] | undefined;
    if (face) {
      const reportThreshold = report.face?.threshold ?? face.defaultThreshold;
      const t = performance.now();
      const [reported, hidden] = await detectAt(face, image, [reportThreshold, privacy ? this.privacy.threshold : reportThreshold]);
      timings.face = performance.now() - t;
      if (report.face) faces = toOriginal(reported);
      faceFound = toOriginal(hidden);
    }

    let objectsFound: Detection[] | undefined;
    let objectResults: Detection[] | undefined;
    let food: Detection[] | undefined;
    let objectCandidates: Analysis['objectCandidates'];
    if (objects) {
      const objectsThreshold = report.objects ? (report.objects.threshold ?? objects.defaultThreshold) : Infinity;
      const candidates = report.objects && request.objectCandidates !== undefined ? Math.min(request.objectCandidates, objectsThreshold) : Infinity;
      const thresholds = [
        objectsThreshold,
        report.food ? (report.food.threshold ?? objects.defaultThreshold) : Infinity,
        wantsPersons ? this.privacy.personThreshold : Infinity,
        candidates,
      ];
      const t = performance.now();
      const lists = (await detectAt(objects, image, thresholds.map((v) => (Number.isFinite(v) ? v : 1)))).map(toOriginal);
      timings.objects = performance.now() - t;
      if (report.objects) objectResults = lists[0];
      if (report.food) food = lists[1].filter((d) => d.classId !== undefined && FOOD_CLASS_IDS.has(d.classId));
      objectsFound = wantsPersons ? lists[2] : undefined;
      if (Number.isFinite(candidates)) objectCandidates = { detections: lists[3], reportThreshold: objectsThreshold };
    }

    let regions: PrivacyRegion[] | undefined;
    if (privacy && face) {
      const modelsRun = passes?.models !== false || (this.privacy.flip && passes?.flip !== false);
      const extra = this.privacy.models.length > 0 && this.options.privacyModels && modelsRun ? await this.options.privacyModels() : [];
      const pose = this.privacy.poseHeads && this.options.poseDetector && passes?.poses !== false ? await this.options.poseDetector() : undefined;
      const found = await findPrivacyRegions(image, { face, objects: wantsPersons ? objects : undefined, extra, pose }, this.privacy, privacy, { faces: faceFound, objects: objectsFound }, passes);
      regions = found.regions;
      Object.assign(timings, found.timings);
    }

    return {
      width: decoded ? decoded.originalWidth : image.width,
      height: decoded ? decoded.originalHeight : image.height,
      ...(decoded ? {} : { image }),
      ...(format ? { format } : {}),
      ...(faces ? { faces } : {}),
      ...(objectResults ? { objects: objectResults } : {}),
      ...(food ? { food } : {}),
      ...(objectCandidates ? { objectCandidates } : {}),
      ...(regions ? { privacy: regions } : {}),
      timings,
    };
  }

  /** The second-opinion face models, loaded now (the daemon does so at start). */
  async privacyModelsReady(): Promise<readonly Detector[]> {
    return this.privacy.models.length > 0 && this.options.privacyModels ? this.options.privacyModels() : [];
  }

  /** How many privacy tiles an image of this size gets (cameras take them one per frame). */
  async privacyGridSize(width: number, height: number): Promise<number> {
    const face = await this.detector('face');
    return privacyTiles(width, height, face.inputSize ?? 512, this.privacy).length;
  }

  /** The pose detector, loaded now (the daemon does so at start when pose heads are on, so a missing model stops it there). */
  poseDetectorReady(): Promise<PoseDetector> {
    if (!this.options.poseDetector) throw new RaypackError('model_unavailable', 'no pose detector configured');
    return this.options.poseDetector();
  }

  /** A detector that cannot be loaded is `model_unavailable` (503, retry later), never a 500 with internals. */
  private async detector(task: Task): Promise<Detector> {
    try {
      return await this.options.detectors(task);
    } catch (error) {
      if (error instanceof RaypackError) throw error;
      throw new RaypackError('model_unavailable', `the ${task} model is not available`, { retryAfterSeconds: 30 }, { cause: error });
    }
  }
}
