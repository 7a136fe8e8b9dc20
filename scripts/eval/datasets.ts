/**
 * Loaders for the labelled evaluation sets in `../shared/data` (see its README). The parsers are pure functions over
 * file text; the `load*` functions do the file IO. Every box is returned in the pixel space of the image FILE the
 * detector will see, as [x, y, width, height].
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { RaypackError } from '../../src/errors.ts';
import { readXmlBlocks, readXmlField } from './xml.ts';

export type Box = readonly [number, number, number, number];

export interface GroundTruth {
  readonly box: Box;
  /** COCO class id for object sets; absent for faces. */
  readonly classId?: number;
}

export interface LabelledImage {
  /** File name inside the set's image folder. */
  readonly id: string;
  readonly path: string;
  readonly truths: readonly GroundTruth[];
}

export type DatasetName = 'faces/wider-val-416' | 'faces/facemask-voc' | 'coco/val2017-a';
export type DatasetTask = 'face' | 'objects';

export interface Dataset {
  readonly name: DatasetName;
  readonly task: DatasetTask;
  readonly images: readonly LabelledImage[];
}

export const FACE_SETS: readonly DatasetName[] = ['faces/wider-val-416', 'faces/facemask-voc'];
export const OBJECT_SETS: readonly DatasetName[] = ['coco/val2017-a'];

/** The side of the stretched WIDER FACE files. */
export const WIDER_SIDE = 416;

export interface WiderBlock {
  /** `<event>/<file>.jpg` as written in labels.txt. */
  readonly source: string;
  readonly width: number;
  readonly height: number;
  /** Faces as x1 y1 x2 y2 in the ORIGINAL width x height space. */
  readonly faces: readonly (readonly [number, number, number, number])[];
}

/** Parse labels.txt: blocks `# <event>/<file>.jpg <W> <H>` followed by `x1 y1 x2 y2` lines. */
export function parseWiderLabels(text: string): WiderBlock[] {
  const blocks: { source: string; width: number; height: number; faces: [number, number, number, number][] }[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const parts = line.slice(1).trim().split(/\s+/);
      const width = Number(parts[1]);
      const height = Number(parts[2]);
      if (parts.length !== 3 || !(width > 0) || !(height > 0)) {
        throw new RaypackError('bad_parameter', `labels.txt line ${index + 1}: expected '# <file> <W> <H>'`);
      }
      blocks.push({ source: parts[0], width, height, faces: [] });
      return;
    }
    const current = blocks.at(-1);
    const values = line.split(/\s+/).map(Number);
    if (!current || values.length !== 4 || values.some((v) => !Number.isFinite(v))) {
      throw new RaypackError('bad_parameter', `labels.txt line ${index + 1}: expected 'x1 y1 x2 y2' after a '#' header`);
    }
    current.faces.push([values[0], values[1], values[2], values[3]]);
  });
  return blocks;
}

/** Map original-size corner boxes onto the stretched side x side file: x*side/W, y*side/H. */
export function widerBlockTruths(block: WiderBlock, side = WIDER_SIDE): GroundTruth[] {
  const sx = side / block.width;
  const sy = side / block.height;
  return block.faces.map(([x1, y1, x2, y2]) => ({ box: [x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy] as const }));
}

export interface VocAnnotation {
  readonly filename?: string;
  readonly width?: number;
  readonly height?: number;
  readonly objects: readonly { readonly name: string; readonly box: Box }[];
}

/** Read the fields we need from one Pascal VOC annotation (no XML library: the files are simple and regular). */
export function parseVocXml(xml: string): VocAnnotation {
  const size = readXmlBlocks(xml, 'size')[0] ?? '';
  const width = Number(readXmlField(size, 'width'));
  const height = Number(readXmlField(size, 'height'));
  const objects = readXmlBlocks(xml, 'object').map((object, index) => {
    const bndbox = readXmlBlocks(object, 'bndbox')[0];
    const [xmin, ymin, xmax, ymax] = ['xmin', 'ymin', 'xmax', 'ymax'].map((f) => Number(bndbox && readXmlField(bndbox, f)));
    if (![xmin, ymin, xmax, ymax].every(Number.isFinite) || xmax < xmin || ymax < ymin) {
      throw new RaypackError('bad_parameter', `VOC object ${index + 1} has no valid <bndbox>`);
    }
    return { name: readXmlField(object, 'name') ?? '', box: [xmin, ymin, xmax - xmin, ymax - ymin] as const };
  });
  return {
    filename: readXmlField(xml, 'filename'),
    width: width > 0 ? width : undefined,
    height: height > 0 ? height : undefined,
    objects,
  };
}

/** Parse a YOLO label file (`class cx cy w h`, normalised 0-1) into pixel boxes for an image of width x height. */
export function parseYoloLabels(text: string, width: number, height: number): GroundTruth[] {
  const truths: GroundTruth[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const v = line.split(/\s+/).map(Number);
    if (v.length !== 5 || v.some((x) => !Number.isFinite(x)) || !Number.isInteger(v[0])) {
      throw new RaypackError('bad_parameter', `YOLO label line ${index + 1}: expected 'class cx cy w h'`);
    }
    const [classId, cx, cy, w, h] = v;
    truths.push({ classId, box: [(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height] });
  });
  return truths;
}

const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

/** Load the stretched WIDER FACE validation subset. */
export function loadWiderVal416(dir: string): Dataset {
  const blocks = parseWiderLabels(readFileSync(join(dir, 'labels.txt'), 'utf8'));
  const images = blocks.map((block) => {
    const id = basename(block.source);
    const path = join(dir, 'images', id);
    if (!existsSync(path)) throw new RaypackError('not_found', `labels.txt names ${block.source} but ${path} is missing`);
    return { id, path, truths: widerBlockTruths(block) };
  });
  return { name: 'faces/wider-val-416', task: 'face', images: sortById(images) };
}

/** Load the face-mask set: every object (with, without or badly worn mask) is a face. */
export function loadFacemaskVoc(dir: string): Dataset {
  const images = readdirSync(join(dir, 'annotations'))
    .filter((f) => f.endsWith('.xml'))
    .map((file) => {
      const annotation = parseVocXml(readFileSync(join(dir, 'annotations', file), 'utf8'));
      const id = annotation.filename ?? file.replace(/\.xml$/, '.jpg');
      const path = join(dir, 'images', id);
      if (!existsSync(path)) throw new RaypackError('not_found', `${file} names ${id} but ${path} is missing`);
      return { id, path, truths: annotation.objects.map((o) => ({ box: o.box })) };
    });
  return { name: 'faces/facemask-voc', task: 'face', images: sortById(images) };
}

/** Load a COCO subset in YOLO layout (`images/`, `labels/`); reads each image's header for its size. */
export async function loadCocoYolo(dir: string, name: DatasetName = 'coco/val2017-a'): Promise<Dataset> {
  const files = readdirSync(join(dir, 'images')).filter((f) => IMAGE_EXT.test(f));
  const images: LabelledImage[] = [];
  for (const id of files) {
    const path = join(dir, 'images', id);
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) throw new RaypackError('undecodable_image', `${path} has no size`);
    // Orientation would change which way the normalised labels apply; none of these files carries one.
    if (meta.orientation && meta.orientation !== 1) {
      throw new RaypackError('bad_parameter', `${path} has EXIF orientation ${meta.orientation}: labels would not match`);
    }
    const labelPath = join(dir, 'labels', id.replace(IMAGE_EXT, '.txt'));
    // An image without a label file has no objects (the YOLO convention).
    const text = existsSync(labelPath) ? readFileSync(labelPath, 'utf8') : '';
    images.push({ id, path, truths: parseYoloLabels(text, meta.width, meta.height) });
  }
  return { name, task: 'objects', images: sortById(images) };
}

/** Where each set lives under the data directory, and what the loader expects to find there. */
export const DATASET_LAYOUT: Record<DatasetName, { readonly task: DatasetTask; readonly expects: readonly string[] }> = {
  'faces/wider-val-416': { task: 'face', expects: ['labels.txt', 'images'] },
  'faces/facemask-voc': { task: 'face', expects: ['annotations', 'images'] },
  'coco/val2017-a': { task: 'objects', expects: ['images', 'labels'] },
};

/** The paths a set needs that are missing under dataDir (empty when the set is complete enough to load). */
export function missingDatasetPaths(dataDir: string, name: DatasetName): string[] {
  return DATASET_LAYOUT[name].expects.map((p) => join(dataDir, name, p)).filter((p) => !existsSync(p));
}

export async function loadDataset(dataDir: string, name: DatasetName): Promise<Dataset> {
  const dir = join(dataDir, name);
  switch (name) {
    case 'faces/wider-val-416':
      return loadWiderVal416(dir);
    case 'faces/facemask-voc':
      return loadFacemaskVoc(dir);
    case 'coco/val2017-a':
      return loadCocoYolo(dir, name);
  }
}

/** Keep the first n images (deterministic: the sets are sorted by file name). */
export function limitDataset(dataset: Dataset, limit?: number): Dataset {
  if (limit === undefined || limit >= dataset.images.length) return dataset;
  return { ...dataset, images: dataset.images.slice(0, Math.max(0, limit)) };
}

function sortById<T extends { id: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
