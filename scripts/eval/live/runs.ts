/**
 * The live eval's figures from what the snapshots showed (pure): per face-frame (a labelled face in an analysed
 * frame that a snapshot showed) the share of its box hidden; coverage50/70/90 overall and by size; the share of
 * frames leaving at least one face visible; and per face the longest run of consecutive analysed frames in
 * which it stays visible (hidden less than VISIBLE_BELOW).
 */
import { summarize as sampleStats } from '../../bench/stats.ts';
import { SIZE_BUCKETS, summarize, type CoverageSummary } from '../privacy.ts';

/** A face counts as visible in a frame when less than this share of its box is hidden. */
export const VISIBLE_BELOW = 0.7;
/** The target: no face this large visible for more than MAX_RUN consecutive analysed frames. */
export const RUN_SIZE = 40;
export const MAX_RUN = 2;

export interface ObservedFace {
  /** Photo and label index: the same face across frames. */
  readonly photo: number;
  readonly face: number;
  readonly size: number;
  readonly coverage: number;
}

export interface ObservedFrame {
  /** The clip frame number read from the band. */
  readonly frame: number;
  /** The camera's frame sequence number (x-raypack-frame): consecutive analysed frames differ by 1. */
  readonly seq?: number;
  readonly faces: readonly ObservedFace[];
  /** Filled picture pixels outside every face grown by the render margin, share of the picture (measure.ts). */
  readonly falseFill?: number;
}

export interface FaceRun {
  readonly photo: number;
  readonly face: number;
  /** The face's largest size over its frames. */
  readonly size: number;
  /** Analysed frames it was seen in, and visible in. */
  readonly frames: number;
  readonly visible: number;
  /** The longest run of consecutive snapshots (distinct analysed frames seen) it was visible in, and the clip frames where it started and ended. */
  readonly longestRun: number;
  /**
   * The same run in analysed frames (camera sequence numbers, first to last, both counted): analysed frames the
   * snapshots did not catch inside a run are counted as visible. Equal to longestRun when no sequence is known.
   */
  readonly longestRunAnalysed: number;
  readonly runFrom?: number;
  readonly runTo?: number;
}

export interface LiveMetrics {
  readonly frames: number;
  readonly framesWithFaces: number;
  readonly faceFrames: number;
  readonly overall: CoverageSummary;
  readonly atLeast40: CoverageSummary;
  readonly bySize: Readonly<Record<string, CoverageSummary>>;
  /** Of the frames with faces, the share leaving at least one face visible (of any size, and of 40 px or more). */
  readonly framesWithVisibleFace: number;
  readonly framesWithVisibleFace40: number;
  readonly faces: number;
  readonly faces40: number;
  /** Faces of RUN_SIZE px or more visible for more than MAX_RUN consecutive analysed frames (longestRunAnalysed), and consecutive snapshots (longestRun). */
  readonly faces40OverMaxRun: number;
  readonly faces40OverMaxRunSnapshots: number;
  /** The worst runs of faces of RUN_SIZE px or more, longest first. */
  readonly worstRuns: readonly FaceRun[];
  /** Mean false fill over the distinct analysed frames measured (NaN when none was). */
  readonly falseFill: number;
}

/**
 * Runs per face over the analysed frames in clip order (`frames` deduplicated by frame number). A face's run
 * ends at a frame where it is hidden or where it is not in the picture.
 */
export function faceRuns(frames: readonly ObservedFrame[]): FaceRun[] {
  const ordered = [...frames].sort((a, b) => a.frame - b.frame);
  const state = new Map<
    string,
    { photo: number; face: number; size: number; frames: number; visible: number; run: number; runStart: number; runStartSeq?: number; longest: number; longestSpan: number; from?: number; to?: number }
  >();
  for (const f of ordered) {
    const present = new Set<string>();
    for (const face of f.faces) {
      const key = `${face.photo}/${face.face}`;
      present.add(key);
      let s = state.get(key);
      if (!s) {
        s = { photo: face.photo, face: face.face, size: 0, frames: 0, visible: 0, run: 0, runStart: f.frame, longest: 0, longestSpan: 0 };
        state.set(key, s);
      }
      s.size = Math.max(s.size, face.size);
      s.frames += 1;
      if (face.coverage < VISIBLE_BELOW) {
        s.visible += 1;
        if (s.run === 0) {
          s.runStart = f.frame;
          s.runStartSeq = f.seq;
        }
        s.run += 1;
        const span = f.seq !== undefined && s.runStartSeq !== undefined ? f.seq - s.runStartSeq + 1 : s.run;
        if (span > s.longestSpan || (span === s.longestSpan && s.run > s.longest)) {
          s.longestSpan = span;
          s.from = s.runStart;
          s.to = f.frame;
        }
        s.longest = Math.max(s.longest, s.run);
      } else {
        s.run = 0;
      }
    }
    for (const [key, s] of state) if (!present.has(key)) s.run = 0;
  }
  return [...state.values()].map((s) => ({
    photo: s.photo,
    face: s.face,
    size: Math.round(s.size),
    frames: s.frames,
    visible: s.visible,
    longestRun: s.longest,
    longestRunAnalysed: s.longestSpan,
    ...(s.from !== undefined ? { runFrom: s.from, runTo: s.to } : {}),
  }));
}

/**
 * The clip frame of an analysed frame whose bands cannot be read (the fill covers both: a frame hidden almost
 * whole), from its camera sequence number: between the nearest readable snapshots before and after it, when
 * their clip frames lie exactly `ratio` (clip fps / camera fps, an integer) apart per sequence number, so no frame
 * was dropped or doubled in between. Undefined when no such pair brackets it. Leaving such frames out would
 * drop the most filled frames from coverage and false fill alike.
 */
export function frameFromSeq(seq: number, readable: ReadonlyArray<{ readonly seq?: number; readonly frame: number }>, ratio: number): number | undefined {
  if (!Number.isInteger(seq) || !Number.isInteger(ratio) || ratio < 1) return undefined;
  let before: { seq: number; frame: number } | undefined;
  let after: { seq: number; frame: number } | undefined;
  for (const r of readable) {
    if (r.seq === undefined) continue;
    if (r.seq <= seq && (!before || r.seq > before.seq)) before = { seq: r.seq, frame: r.frame };
    if (r.seq >= seq && (!after || r.seq < after.seq)) after = { seq: r.seq, frame: r.frame };
  }
  if (!before || !after) return undefined;
  if (after.frame - before.frame !== ratio * (after.seq - before.seq)) return undefined;
  return before.frame + ratio * (seq - before.seq);
}

/** Keep one observation per clip frame (several snapshots can show the same analysed frame). */
export function dedupeFrames<T extends { readonly frame: number }>(frames: readonly T[]): T[] {
  const seen = new Map<number, T>();
  for (const f of frames) if (!seen.has(f.frame)) seen.set(f.frame, f);
  return [...seen.values()].sort((a, b) => a.frame - b.frame);
}

export function liveMetrics(observed: readonly ObservedFrame[], worst = 10): LiveMetrics {
  const frames = dedupeFrames(observed);
  const all = frames.flatMap((f) => f.faces);
  const bySize: Record<string, CoverageSummary> = {};
  for (const b of SIZE_BUCKETS) bySize[b.name] = summarize(all.filter((f) => f.size >= b.min && f.size < b.max));
  const withFaces = frames.filter((f) => f.faces.length > 0);
  const share = (pick: (f: ObservedFrame) => boolean): number => (withFaces.length > 0 ? withFaces.filter(pick).length / withFaces.length : Number.NaN);
  const runs = faceRuns(frames);
  const big = runs.filter((r) => r.size >= RUN_SIZE);
  return {
    frames: frames.length,
    framesWithFaces: withFaces.length,
    faceFrames: all.length,
    overall: summarize(all),
    atLeast40: summarize(all.filter((f) => f.size >= 40)),
    bySize,
    framesWithVisibleFace: share((f) => f.faces.some((x) => x.coverage < VISIBLE_BELOW)),
    framesWithVisibleFace40: share((f) => f.faces.some((x) => x.size >= 40 && x.coverage < VISIBLE_BELOW)),
    faces: runs.length,
    faces40: big.length,
    faces40OverMaxRun: big.filter((r) => r.longestRunAnalysed > MAX_RUN).length,
    faces40OverMaxRunSnapshots: big.filter((r) => r.longestRun > MAX_RUN).length,
    falseFill: sampleStats(frames.flatMap((f) => (f.falseFill === undefined ? [] : [f.falseFill]))).mean,
    worstRuns: [...big].sort((a, b) => b.longestRunAnalysed - a.longestRunAnalysed || b.size - a.size).slice(0, worst).filter((r) => r.longestRunAnalysed > 0),
  };
}
