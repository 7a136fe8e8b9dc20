/**
 * The recall-first privacy detector: what must be hidden in one image. It is separate from what is reported: it
 * hides from its own, lower face score, and looks more than once:
 * - the whole-image face pass (shared with reporting, run once at the lower of the two thresholds);
 * - overlapping tiles, chosen from the image size so that small faces reach the model enlarged (a 416 px crowd
 *   photo's 2x2 tiles are seen at twice their size by the 512 px SSD);
 * - second-opinion face models, where measured to add recall (settings.models);
 * - the whole-image face pass and the second-opinion models again on the mirrored image (settings.flip): the models
 *   find some profiles and masked faces one way round only;
 * - the whole-image face pass once more on the image framed by its own mirror image (settings.border): a face cut by
 *   the image edge is completed by its reflection, and every face is seen a little smaller;
 * - heads from people: a person found by the objects detector whose head area holds no detected face gets that
 *   area hidden (a face turned away, masked, or too small or blurred for the face models);
 * - in `body` mode, every person hidden whole.
 * Face boxes from all passes are fused (weighted box fusion, fusion.ts). Pure orchestration over Detectors.
 */
import { area, expandWithMargin, intersection, type Rect } from '../core/geometry.ts';
import { mirrorBorder, mirrorBox, mirrorImage, unborderBox, type RgbImage } from '../core/image.ts';
import { windowStarts, type PlannedRegion } from '../detect/tiling.ts';
import type { Detection, Detector } from '../detect/types.ts';
import { headRegion, type PoseDetector } from '../detect/pose.ts';
import { weightedBoxFusion, type ScoredBox } from './fusion.ts';
import type { PrivacyMode, PrivacyRegion } from './types.ts';

export interface PrivacySettings {
  /** Face score from which a face is hidden (reporting keeps the caller's threshold). */
  readonly threshold: number;
  /** Tiles on top of the whole image: `auto` picks the grid from the image size, 0 none, n an n-per-side grid. */
  readonly tiles: 'auto' | number;
  /** `auto` tiles: the enlargement aimed at (tile side = model input / zoom) and the most tiles per side. */
  readonly zoom: number;
  readonly maxTilesPerSide: number;
  /** Fraction of a tile shared with its neighbour. */
  readonly overlap: number;
  /** Second-opinion face models (ids of face manifests), run on the whole image. */
  readonly models: readonly string[];
  /** Score from which the second-opinion models' faces are hidden; 0: each model's own default threshold. */
  readonly modelThreshold: number;
  /** Hide the head area of a person (objects detector, label person, at least this score) that holds no face. */
  readonly personHeads: boolean;
  readonly personThreshold: number;
  /**
   * Hide the head area of every pose (MoveNet MultiPose: nose, eyes, ears, shoulders; src/detect/head-region.ts)
   * whose head holds no detected face: more exact than a person box's top, and it sees heads turned away.
   */
  readonly poseHeads: boolean;
  /**
   * When a head (pose or person) counts as hidden already by the faces found in it: 0, when a face box lies at least
   * half inside it; above 0, only when those faces, grown by the render margin, cover at least this share of the
   * head (a masked face whose box holds the eyes only leaves its head to be hidden whole).
   */
  readonly headCover: number;
  /**
   * The whole-image face pass and the second-opinion models once more on the mirrored image: the models find some
   * faces one way round only (profiles, masked and half-covered faces). About one more pass of each.
   */
  readonly flip: boolean;
  /**
   * The whole-image face pass once more on the image framed by a mirrored border of this share of its width (left
   * and right) and height (above and below); 0: off. Faces cut by the image edge, which the models miss, are
   * completed by their reflection; faces too large for the model at the image's own scale are seen smaller.
   */
  readonly border: number;
}

/**
 * Chosen with `raypack-edge eval --privacy` on both shared face sets (docs/PRIVACY.md): of the settings measured,
 * the one with the most faces of 40 px or more hidden (coverage70 0.955 / 0.981) that keeps coverage70 over 0.90
 * (0.949 / 0.954), at 6.6 / 8.2 % false fill. Pose heads instead of person-box heads: as much coverage for about half
 * the false fill; a head whose faces were found by their eyes only is hidden whole (headCover 0.5: +2 points on
 * large faces for 2 points of false fill, a trade we make for the privacy promise); the mirrored passes (flip: +1.9
 * / +1.0 points on large faces, +1.6 / +1.2 overall, for 0.1 / 0.3 points of false fill); the mirrored border
 * (border 0.35: +1.3 / +0.8 points on large faces, +1.9 / +1.6 overall, for 0.7 / 0.5 points of false fill).
 */
export const DEFAULT_PRIVACY: PrivacySettings = {
  threshold: 0.2,
  tiles: 'auto',
  zoom: 2,
  maxTilesPerSide: 3,
  overlap: 0.25,
  models: ['blazeface-back'],
  modelThreshold: 0,
  personHeads: false,
  personThreshold: 0.35,
  poseHeads: true,
  headCover: 0.5,
  flip: true,
  border: 0.35,
};

export interface PrivacyDetectors {
  readonly face: Detector;
  /** Needed for person heads and body mode. */
  readonly objects?: Detector;
  readonly extra: readonly Detector[];
  /** Needed for pose heads. */
  readonly pose?: PoseDetector;
}

/** What the stage already found on this image, so that no pass runs twice. */
export interface KnownDetections {
  /** The whole-image face pass, at or below settings.threshold. */
  readonly faces: readonly Detection[];
  /** The objects pass when it ran (at or below settings.personThreshold). */
  readonly objects?: readonly Detection[];
}

/**
 * The tile regions (no whole-image one) for an image, or none: a grid of at most `maxTilesPerSide` (or `tiles`)
 * per axis, each axis on its own, so tiles are rectangles that follow the image: a 2000x2 strip gets 3 tiles, not
 * the 1,300 squares its short side would cut it into.
 */
export function privacyTiles(width: number, height: number, inputSize: number, settings: PrivacySettings): PlannedRegion[] {
  const o = Math.min(Math.max(settings.overlap, 0), 0.9);
  const along = (length: number): number => {
    if (settings.tiles !== 'auto') return Math.max(1, Math.min(settings.tiles, Math.floor(length / 8)));
    const target = inputSize / Math.max(1, settings.zoom);
    return Math.max(1, Math.min(settings.maxTilesPerSide, Math.ceil((length - target * o) / (target * (1 - o)))));
  };
  const nx = along(width);
  const ny = along(height);
  if (nx * ny < 2) return [];
  // n windows of side s with overlap o cover s * (n - (n - 1) * o) = length.
  const tileW = Math.ceil(width / (nx - (nx - 1) * o));
  const tileH = Math.ceil(height / (ny - (ny - 1) * o));
  const regions: PlannedRegion[] = [];
  for (const y of windowStarts(height, tileH, ny)) {
    for (const x of windowStarts(width, tileW, nx)) regions.push({ x, y, width: Math.min(tileW, width - x), height: Math.min(tileH, height - y), whole: false });
  }
  return regions;
}

/** `count` tiles of `grid` from `from` on, wrapping around (so successive windows visit every tile in turn). */
export function windowOf<T>(grid: readonly T[], window: { readonly from: number; readonly count: number }): T[] {
  if (grid.length === 0) return [];
  const count = Math.min(grid.length, Math.max(0, window.count));
  return Array.from({ length: count }, (_, i) => grid[(((window.from + i) % grid.length) + grid.length) % grid.length]);
}

/**
 * The head area of a person box: at the top of the box, about half its width across (a standing person's box is
 * wider than the head by the arms and shoulders), a little taller than wide, at most 40 % of the box's height (a
 * box of a head and shoulders only), reaching half a head above the box (person boxes often stop at the hair or
 * the shoulders: seen on the people walking away from the camera in the shared one-by-one video). The renderer
 * adds no margin to it; the image edges clip it.
 */
export function headOfPerson(person: Rect): Rect {
  const width = person.width * 0.55;
  const height = Math.min(width * 1.3, person.height * 0.4);
  return { x: person.x + (person.width - width) / 2, y: person.y - height / 2, width, height: height * 1.5 };
}

function toScored(detections: readonly Detection[], source: string, threshold: number): ScoredBox[] {
  return detections.filter((d) => d.score >= threshold).map((d) => ({ x: d.box[0], y: d.box[1], width: d.box[2], height: d.box[3], score: d.score, source }));
}

export interface PrivacyResult {
  readonly regions: PrivacyRegion[];
  readonly timings: Record<string, number>;
}

/**
 * Whether the face boxes found hide `head` already (privacy.head_cover): with `headCover` 0, when one lies at least
 * half inside it; above 0, when those faces, grown by the render margin, cover at least that share of the head.
 */
export function facesHideHead(head: Rect, faces: readonly Rect[], image: { readonly width: number; readonly height: number }, headCover: number): boolean {
  const inHead = faces.filter((f) => intersection(f, head) >= 0.5 * Math.min(area(f), area(head)));
  if (headCover <= 0) return inHead.length > 0;
  const covered = inHead.reduce((sum, f) => sum + intersection(expandWithMargin(f, image.width, image.height), head), 0);
  return covered >= headCover * area(head);
}

export async function findPrivacyRegions(
  image: RgbImage,
  detectors: PrivacyDetectors,
  settings: PrivacySettings,
  mode: PrivacyMode,
  known: KnownDetections,
  /**
   * A camera's share of the passes (it spreads them over its frames): only these of the grid's tiles; the
   * second-opinion models, the mirrored passes and the bordered pass unless `models` / `flip` / `border` is false.
   * Absent: every pass.
   */
  passes?: { readonly tiles?: { readonly from: number; readonly count: number }; readonly models?: boolean; readonly flip?: boolean; readonly border?: boolean },
): Promise<PrivacyResult> {
  const timings: Record<string, number> = {};
  const time = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      timings[name] = (timings[name] ?? 0) + performance.now() - t0;
    }
  };
  const faces: ScoredBox[] = toScored(known.faces, 'face', settings.threshold);
  const grid = privacyTiles(image.width, image.height, detectors.face.inputSize ?? 512, settings);
  const tiles = passes?.tiles ? windowOf(grid, passes.tiles) : grid;
  if (tiles.length > 0) {
    const found = await time('privacyTiles', () => detectors.face.detect(image, { threshold: settings.threshold, regions: tiles }));
    faces.push(...toScored(found, 'face:tiles', settings.threshold));
  }
  // The second-opinion models on `on`, their faces mapped back into the image and named `<model><suffix>`.
  const secondOpinions = async (on: RgbImage, suffix: string, back: (found: Detection[]) => Detection[]): Promise<void> => {
    for (const model of detectors.extra) {
      const threshold = settings.modelThreshold > 0 ? settings.modelThreshold : model.defaultThreshold;
      const found = await time(`privacy:${model.modelId}${suffix}`, () => model.detect(on, { threshold }));
      faces.push(...toScored(back(found), `${model.modelId}${suffix}`, threshold));
    }
  };
  if (passes?.models !== false) await secondOpinions(image, '', (found) => found);
  if (settings.flip && passes?.flip !== false) {
    const mirrored = mirrorImage(image);
    const back = (found: readonly Detection[]): Detection[] => found.map((d) => ({ ...d, box: mirrorBox(d.box, image.width) }));
    const found = await time('privacyFlip', () => detectors.face.detect(mirrored, { threshold: settings.threshold }));
    faces.push(...toScored(back(found), 'face:flip', settings.threshold));
    await secondOpinions(mirrored, ':flip', back);
  }
  if (settings.border > 0 && passes?.border !== false) {
    const left = Math.round(image.width * settings.border);
    const top = Math.round(image.height * settings.border);
    const framed = mirrorBorder(image, left, top);
    const found = await time('privacyBorder', () => detectors.face.detect(framed, { threshold: settings.threshold }));
    const back = found.flatMap((d) => {
      const box = unborderBox(d.box, left, top, image.width, image.height);
      return box ? [{ ...d, box }] : [];
    });
    faces.push(...toScored(back, 'face:border', settings.threshold));
  }
  const regions: PrivacyRegion[] = weightedBoxFusion(faces).map((f) => ({
    x: f.x,
    y: f.y,
    width: f.width,
    height: f.height,
    kind: 'face',
    score: f.score,
    sources: f.sources,
  }));

  // A head that holds a hidden face needs nothing more; one that does not is hidden whole.
  const faceIn = (head: Rect): boolean => facesHideHead(head, regions.filter((r) => r.kind === 'face'), image, settings.headCover);
  if (settings.poseHeads && detectors.pose) {
    const pose = detectors.pose;
    const poses = await time('privacyPoses', () => pose.detect(image));
    for (const p of poses) {
      const head = headRegion(p, { bounds: image });
      if (!head) continue;
      const box = { x: head.box[0], y: head.box[1], width: head.box[2], height: head.box[3] };
      if (!faceIn(box)) regions.push({ ...box, kind: 'head', score: head.score, sources: ['pose-head'] });
    }
  }

  if ((settings.personHeads || mode === 'body') && detectors.objects) {
    const objects = detectors.objects;
    const persons = (known.objects ?? (await time('privacyPersons', () => objects.detect(image, { threshold: settings.personThreshold }))))
      .filter((d) => d.label === 'person' && d.score >= settings.personThreshold)
      .map((d) => ({ x: d.box[0], y: d.box[1], width: d.box[2], height: d.box[3], score: d.score }));
    for (const person of persons) {
      if (mode === 'body') {
        regions.push({ ...person, kind: 'person', sources: ['person'] });
        continue;
      }
      const head = headOfPerson(person);
      // A head already hidden (a face, or a pose's head) needs nothing more.
      const covered = faceIn(head) || regions.some((r) => r.kind === 'head' && intersection(r, head) >= 0.5 * area(head));
      if (!covered) regions.push({ ...head, kind: 'head', score: person.score, sources: ['person-head'] });
    }
  }
  return { regions, timings };
}
