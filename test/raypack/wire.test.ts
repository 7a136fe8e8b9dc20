import { describe, expect, it } from 'vitest';
import { RECOG_MODELS, buildFaceResult, buildFileContainer, faceBoxes, recogTags } from '../../src/raypack/wire.ts';
import type { Detection } from '../../src/detect/types.ts';

describe('face result', () => {
  it('rounds to integer pixels, clips to the image, sorts by score', () => {
    const detections: Detection[] = [
      { label: 'face', score: 0.8, box: [10.4, 20.6, 30.2, 40.5] },
      { label: 'face', score: 0.99, box: [-5, 90, 20, 30] },
    ];
    const boxes = faceBoxes(detections, 100, 100);
    expect(boxes).toEqual([
      { xpos: 0, ypos: 90, width: 15, height: 10, score: 0.99 },
      { xpos: 10, ypos: 21, width: 31, height: 40, score: 0.8 },
    ]);
    const result = buildFaceResult(boxes, 0.25);
    expect(Object.keys(result)).toEqual(['totalfaces', 'time', 'faces']);
    expect(result.totalfaces).toBe(2);
    expect(Object.keys(result.faces[0])).toEqual(['xpos', 'ypos', 'width', 'height', 'score']);
  });

  it('drops boxes entirely outside the image', () => {
    expect(faceBoxes([{ label: 'face', score: 1, box: [200, 200, 10, 10] }], 100, 100)).toEqual([]);
  });
});

describe('Raypack_AI_Filecontainer', () => {
  const detections: Detection[] = [
    { label: 'person', classId: 0, score: 0.7, box: [0, 0, 1, 1] },
    { label: 'dog', classId: 16, score: 0.95, box: [0, 0, 1, 1] },
    { label: 'person', classId: 0, score: 0.91, box: [0, 0, 1, 1] },
    { label: 'cup', classId: 41, score: 0.2, box: [0, 0, 1, 1] },
  ];

  it('one tag per label above the threshold with its best score, highest first, 8 decimals', () => {
    expect(recogTags(detections, 0.5, 'en')).toEqual([
      { name: 'dog', value: '0.95000000' },
      { name: 'person', value: '0.91000000' },
    ]);
    expect(recogTags(detections, 0.5, 'de')).toEqual([
      { name: 'Hund', value: '0.95000000' },
      { name: 'Person', value: '0.91000000' },
    ]);
    expect(recogTags(detections, 1.0, 'de')).toEqual([]);
  });

  it('has exactly the documented shape', () => {
    const container = buildFileContainer({
      model: RECOG_MODELS['2'],
      originalfile: 'https://example.com/x.jpg',
      starttime: 1544183968616,
      endtime: 1544183970545,
      tags: [{ name: 'Pizza', value: '1.00000000' }],
    });
    expect(container).toEqual({
      name: 'Raypack_AI_Filecontainer',
      version: '1.0',
      license: 'commercial',
      results: {
        stats: {
          modelname: 'Raypack_Food',
          modelid: '2',
          originalfile: 'https://example.com/x.jpg',
          starttime: 1544183968616,
          endtime: 1544183970545,
          duration: 1.929,
        },
        tags: [{ name: 'Pizza', value: '1.00000000' }],
      },
    });
    expect(RECOG_MODELS['1']).toMatchObject({ task: 'objects', modelname: 'Raypack_Objects' });
  });
});
