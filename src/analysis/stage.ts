/**
 * The analysis stage: the one trip from image bytes or pixels to what is REPORTED (detections at the caller's
 * thresholds, precision-first) and what must be HIDDEN (privacy regions, recall-first: privacy.ts). The HTTP
 * routes, `raypack-edge detect`, eval, bench and the camera pipeline all call `analyse`; nothing else stitches
 * decode -> detect -> map-back. Each detector runs once per image: the whole-image face pass feeds both reporting
 * and hiding (at the lower threshold), one objects pass feeds objects, food and the person heads.
 */
import type { RgbImage } from '../core/image.ts';
import { FOOD_CLASS_IDS } from '../detect/labels.ts';
import { detectionDecodeOptions } from '../detect/registry.ts';
import type { Detection, Detector, Task } from '../detect/types.ts';
import { decodeForDetection, decodeImage, scaleDetections, type DecodeLimits, type DetectionDecoded, type ImageFormat } from '../image/decode.ts';
import { DEFAULT_PRIVACY, findPrivacyRegions, type PrivacySettings } from './privacy.ts';
import type { Analysis, AnalysisRequest, PrivacyRegion } from './types.ts';

/** Detectors by task, loaded once and shared (the daemon's, or a CLI's own). */
export type DetectorSource = (task: Task) => Promise<Detector>;

export interface StageOptions {
  readonly detectors: DetectorSource;
  /** Second-opinion face models for hiding (privacy.models), loaded on first use. */
  readonly privacyModels?: () => Promise<readonly Detector[]>;
  readonly privacy?: PrivacySettings;
  readonly decodeLimits?: DecodeLimits;
}

export type ImageInput = { readonly bytes: Uint8Array } | { readonly image: RgbImage };

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
    const wantsPersons = privacy !== undefined && (this.privacy.personHeads || privacy === 'body');
    const face = wantsFace ? await this.options.detectors('face') : undefined;
    const objects = objectsTask || wantsPersons ? await this.options.detectors('objects') : undefined;

    // Decode: only as large as the one detector needs when nothing is rendered or hidden (JSON answers).
    const t0 = performance.now();
    let image: RgbImage;
    let decoded: DetectionDecoded | undefined;
    let format: ImageFormat | undefined;
    if ('image' in input) {
      image = input.image;
    } else if (!request.keepPixels && privacy === undefined && (face === undefined) !== (objects === undefined)) {
      decoded = await decodeForDetection(input.bytes, { ...detectionDecodeOptions((face ?? objects)!), limits: this.options.decodeLimits });
      image = decoded.image;
      format = decoded.format;
    } else {
      const full = await decodeImage(input.bytes, this.options.decodeLimits);
      image = { data: full.data, width: full.width, height: full.height };
      format = full.format;
    }
    if ('bytes' in input) timings.decode = performance.now() - t0;
    const toOriginal = (list: Detection[]): Detection[] => (decoded ? scaleDetections(list, decoded) : list);

    let faceFound: Detection[] = [];
    let faces: Detection[] | undefined;
    if (face) {
      const reportThreshold = report.face?.threshold ?? face.defaultThreshold;
      const threshold = privacy ? Math.min(reportThreshold, this.privacy.threshold) : reportThreshold;
      const t = performance.now();
      faceFound = toOriginal(await face.detect(image, { threshold }));
      timings.face = performance.now() - t;
      if (report.face) faces = faceFound.filter((d) => d.score >= reportThreshold);
    }

    let objectsFound: Detection[] | undefined;
    let objectResults: Detection[] | undefined;
    let food: Detection[] | undefined;
    if (objects) {
      const thresholds = [
        report.objects ? (report.objects.threshold ?? objects.defaultThreshold) : Infinity,
        report.food ? (report.food.threshold ?? objects.defaultThreshold) : Infinity,
        wantsPersons ? this.privacy.personThreshold : Infinity,
      ];
      const t = performance.now();
      objectsFound = toOriginal(await objects.detect(image, { threshold: Math.min(...thresholds) }));
      timings.objects = performance.now() - t;
      if (report.objects) objectResults = objectsFound.filter((d) => d.score >= thresholds[0]);
      if (report.food) food = objectsFound.filter((d) => d.score >= thresholds[1] && d.classId !== undefined && FOOD_CLASS_IDS.has(d.classId));
    }

    let regions: PrivacyRegion[] | undefined;
    if (privacy && face) {
      const extra = this.privacy.models.length > 0 && this.options.privacyModels ? await this.options.privacyModels() : [];
      const found = await findPrivacyRegions(image, { face, objects, extra }, this.privacy, privacy, { faces: faceFound, objects: objectsFound });
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
      ...(regions ? { privacy: regions } : {}),
      timings,
    };
  }
}
