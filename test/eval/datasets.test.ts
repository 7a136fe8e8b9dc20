import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  limitDataset,
  loadCocoYolo,
  loadFacemaskVoc,
  loadWiderVal416,
  parseVocXml,
  parseWiderLabels,
  parseYoloLabels,
  widerBlockTruths,
} from '../../scripts/eval/datasets.ts';
import { resolveDataDir } from '../../scripts/eval/data-dir.ts';
import { readXmlBlocks, readXmlField } from '../../scripts/eval/xml.ts';

const DATA = resolveDataDir();
const HAVE_DATA = existsSync(join(DATA, 'faces')) && existsSync(join(DATA, 'coco'));
if (!HAVE_DATA) console.warn(`[eval datasets] ${DATA} is absent: the tests on the real label files are skipped`);

describe('WIDER labels', () => {
  const text = '# 0--Parade/a.jpg 1000 500\n10 20 30 60\n\n# 1--Handshaking/b.jpg 416 416\r\n0 0 416 416\n';

  it('parses blocks and maps original pixels onto the stretched 416x416 file', () => {
    const blocks = parseWiderLabels(text);
    expect(blocks.map((b) => [b.source, b.width, b.height, b.faces.length])).toEqual([
      ['0--Parade/a.jpg', 1000, 500, 1],
      ['1--Handshaking/b.jpg', 416, 416, 1],
    ]);
    // x: *416/1000, y: *416/500.
    const [face] = widerBlockTruths(blocks[0]);
    expect(face.box[0]).toBeCloseTo(4.16, 10);
    expect(face.box[1]).toBeCloseTo(16.64, 10);
    expect(face.box[2]).toBeCloseTo(8.32, 10);
    expect(face.box[3]).toBeCloseTo(33.28, 10);
    expect(widerBlockTruths(blocks[1])[0].box).toEqual([0, 0, 416, 416]);
  });

  it('rejects a box line before any header and malformed lines, naming the line', () => {
    expect(() => parseWiderLabels('1 2 3 4\n')).toThrow(/line 1/);
    expect(() => parseWiderLabels('# a.jpg 10 10\n1 2 3\n')).toThrow(/line 2/);
    expect(() => parseWiderLabels('# a.jpg ten 10\n')).toThrow(/line 1/);
  });
});

describe('VOC xml', () => {
  it('reads size, names and boxes with attributes, comments, entities and CDATA', () => {
    const xml = `<?xml version="1.0"?>
      <annotation verified="yes"><!-- <object><name>commented out</name></object> -->
        <filename>a &amp; b.jpg</filename>
        <size><width>512</width><height> 366 </height><depth>3</depth></size>
        <object><name><![CDATA[con_mascarilla]]></name><difficult/>
          <bndbox><xmin>79</xmin><ymin>105.5</ymin><xmax>109</xmax><ymax>142</ymax></bndbox></object>
        <object ><name>sin_mascarilla</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>
      </annotation>`;
    const a = parseVocXml(xml);
    expect(a.filename).toBe('a & b.jpg');
    expect([a.width, a.height]).toEqual([512, 366]);
    expect(a.objects).toEqual([
      { name: 'con_mascarilla', box: [79, 105.5, 30, 36.5] },
      { name: 'sin_mascarilla', box: [1, 2, 2, 2] },
    ]);
  });

  it('does not confuse a tag with a longer one and rejects a broken box', () => {
    expect(readXmlField('<names>x</names><name>y</name>', 'name')).toBe('y');
    expect(readXmlBlocks('<a/><a>1</a>', 'a')).toEqual(['', '1']);
    expect(() => parseVocXml('<object><name>x</name><bndbox><xmin>5</xmin><ymin>0</ymin><xmax>1</xmax><ymax>1</ymax></bndbox></object>')).toThrow(
      /object 1/,
    );
  });
});

describe('YOLO labels', () => {
  it('turns normalised cx cy w h into pixel x y w h', () => {
    expect(parseYoloLabels('58 0.5 0.25 0.2 0.1\n\n3 1 1 0 0\n', 640, 480)).toEqual([
      { classId: 58, box: [256, 96, 128, 48] },
      { classId: 3, box: [640, 480, 0, 0] },
    ]);
    expect(() => parseYoloLabels('1.5 0 0 0 0', 10, 10)).toThrow(/line 1/);
  });
});

describe.skipIf(!HAVE_DATA)('the real sets in ../shared/data', () => {
  it('wider-val-416: 100 images, 2,656 faces, all inside 416x416', () => {
    const ds = loadWiderVal416(join(DATA, 'faces/wider-val-416'));
    expect(ds.images).toHaveLength(100);
    expect(ds.images.reduce((n, i) => n + i.truths.length, 0)).toBe(2656);
    // The first label block: 0_Parade_marchingband_1_593.jpg, 1024x624, first face 318 324 325 332.
    const first = ds.images.find((i) => i.id === '0_Parade_marchingband_1_593.jpg');
    expect(first?.truths[0].box[0]).toBeCloseTo((318 * 416) / 1024, 10);
    expect(first?.truths[0].box[3]).toBeCloseTo((8 * 416) / 624, 10);
    for (const img of ds.images) for (const { box } of img.truths) expect(box[0] + box[2]).toBeLessThanOrEqual(416.5);
    expect(limitDataset(ds, 7).images.map((i) => i.id)).toEqual(ds.images.slice(0, 7).map((i) => i.id));
  });

  it('facemask-voc: 600 images, 2,870 faces of all three classes', () => {
    const ds = loadFacemaskVoc(join(DATA, 'faces/facemask-voc'));
    expect(ds.images).toHaveLength(600);
    expect(ds.images.reduce((n, i) => n + i.truths.length, 0)).toBe(2870);
    const first = ds.images.find((i) => i.id === 'maksssksksss0.jpg');
    expect(first?.truths.map((t) => t.box)).toEqual([
      [79, 105, 30, 37],
      [185, 100, 41, 44],
      [325, 90, 35, 51],
    ]);
  });

  it('coco/val2017-a: 64 images, 440 objects in pixels of each image', async () => {
    const ds = await loadCocoYolo(join(DATA, 'coco/val2017-a'));
    expect(ds.images).toHaveLength(64);
    expect(ds.images.reduce((n, i) => n + i.truths.length, 0)).toBe(440);
    const first = ds.images.find((i) => i.id === '000000000139.jpg');
    // 000000000139.jpg is 640x426; first label: 58 0.389578 0.416103 0.0385937 0.163146.
    expect(first?.truths[0].classId).toBe(58);
    expect(first?.truths[0].box[2]).toBeCloseTo(0.0385937 * 640, 6);
    expect(first?.truths[0].box[1]).toBeCloseTo((0.416103 - 0.163146 / 2) * 426, 6);
  });
});
