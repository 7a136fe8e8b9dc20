/**
 * JSON Schemas of the API: the form fields of each endpoint (validated by src/http/params.ts and published in
 * the OpenAPI document) and the answers (used by fastify to serialise and by the OpenAPI document).
 */

export const THRESHOLD_SCHEMA = {
  type: 'number',
  minimum: 0,
  maximum: 1,
  default: 0.9,
  description: 'Minimum detection certainty, 0 to 1 (1.0 is accepted).',
} as const;

const APIKEY_SCHEMA = {
  type: 'string',
  description: 'Your API key. May instead be sent as an `apikey` header or `Authorization: Bearer <key>`.',
} as const;

const VIDEO_FPS_SCHEMA = {
  type: 'number',
  exclusiveMinimum: 0,
  maximum: 30,
  description: 'Videos, JSON answers: frames analysed per second of video (at most, and by default, api.video.sample_fps).',
} as const;

/** What a video answer says about the video. */
const VIDEO_SUMMARY_SCHEMA = {
  type: 'object',
  required: ['width', 'height', 'fps', 'duration', 'sampled'],
  properties: {
    width: { type: 'integer' },
    height: { type: 'integer' },
    fps: { type: 'number', description: 'Frames per second of the video.' },
    duration: { type: 'number', description: 'Seconds.' },
    sampled: { type: 'integer', description: 'Frames analysed.' },
  },
} as const;

const TAGS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'value'],
    properties: { name: { type: 'string' }, value: { type: 'string', description: 'score with 8 decimals' } },
  },
} as const;

export const FACE_FORM_SCHEMA = {
  type: 'object',
  properties: {
    apikey: APIKEY_SCHEMA,
    threshold: THRESHOLD_SCHEMA,
    imagef: {
      type: 'string',
      description: 'The image: an uploaded JPEG, PNG or WebP file (multipart), or an http(s) URL the service fetches.',
    },
    file: { type: 'string', description: 'Alias of `imagef`.' },
    mode: {
      type: 'string',
      enum: ['image', 'jpg', 'jpeg', 'json'],
      default: 'image',
      description: '`json`: the face list; `image` or `jpg`: a JPEG (see facemode).',
    },
    facemode: {
      type: 'string',
      enum: ['default', 'pixel', 'fill', 'black', 'jsonimage', 'body'],
      default: 'default',
      description:
        '`default`: faces outlined, not anonymised; `pixel`: faces pixelated; `fill`: faces covered with the `hex` colour; ' +
        '`black`: a black picture with only the face boxes; `jsonimage`: the JSON plus the pixelated picture as base64 JPEG in `image`; ' +
        '`body` (ours, beyond RAYPACK): every detected person filled whole with `hex`, faces and heads too. ' +
        'Anonymised regions cover the face box plus a margin.',
    },
    fps: VIDEO_FPS_SCHEMA,
    hex: {
      type: 'string',
      pattern: '^#?[0-9a-fA-F]{6}$',
      default: '00ff00',
      description: 'Colour RRGGBB for `fill` and for outlines.',
    },
  },
} as const;

export const RECOG_FORM_SCHEMA = {
  type: 'object',
  required: ['model'],
  properties: {
    apikey: APIKEY_SCHEMA,
    threshold: THRESHOLD_SCHEMA,
    file: {
      type: 'string',
      description: 'The image: an uploaded JPEG, PNG or WebP file (multipart), or an http(s) URL the service fetches.',
    },
    imagef: { type: 'string', description: 'Alias of `file`.' },
    model: { type: 'string', enum: ['1', '2'], description: '`1`: objects (80 COCO classes, model Raypack_Objects); `2`: food (model Raypack_Food).' },
    lang: { type: 'string', enum: ['de', 'en'], default: 'de', description: 'Language of the tag names.' },
    fps: VIDEO_FPS_SCHEMA,
    timeline: { type: 'string', enum: ['0', '1', 'false', 'true'], default: '0', description: 'Videos: `1` adds `results.timeline`, the tags of each second.' },
  },
} as const;

export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export const FACE_RESULT_SCHEMA = {
  type: 'object',
  required: ['totalfaces', 'time', 'faces'],
  properties: {
    totalfaces: { type: 'integer' },
    time: { type: 'number', description: 'Processing time in seconds.' },
    faces: {
      type: 'array',
      items: {
        type: 'object',
        required: ['xpos', 'ypos', 'width', 'height', 'score'],
        properties: {
          xpos: { type: 'integer' },
          ypos: { type: 'integer' },
          width: { type: 'integer' },
          height: { type: 'integer' },
          score: { type: 'number' },
        },
      },
    },
    video: { ...VIDEO_SUMMARY_SCHEMA, description: 'Videos only: the video and how many of its frames were analysed.' },
    frames: {
      type: 'array',
      description: 'Videos only (`faces` is then empty): the faces of each analysed frame, each with its track id (the same face keeps its id from frame to frame).',
      items: {
        type: 'object',
        required: ['frame', 'time', 'faces'],
        properties: {
          frame: { type: 'integer', description: 'Frame number in the video, from 0.' },
          time: { type: 'number', description: 'Seconds from the start.' },
          faces: {
            type: 'array',
            items: {
              type: 'object',
              required: ['xpos', 'ypos', 'width', 'height', 'score', 'track'],
              properties: { xpos: { type: 'integer' }, ypos: { type: 'integer' }, width: { type: 'integer' }, height: { type: 'integer' }, score: { type: 'number' }, track: { type: 'integer' } },
            },
          },
        },
      },
    },
    image: { type: 'string', description: 'facemode=jsonimage only: base64 JPEG with every face pixelated.' },
    imagetype: { type: 'string', description: 'facemode=jsonimage only: always image/jpeg.' },
  },
} as const;

export const FILECONTAINER_SCHEMA = {
  type: 'object',
  required: ['name', 'version', 'license', 'results'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    license: { type: 'string' },
    results: {
      type: 'object',
      required: ['stats', 'tags'],
      properties: {
        stats: {
          type: 'object',
          required: ['modelname', 'modelid', 'originalfile', 'starttime', 'endtime', 'duration'],
          properties: {
            modelname: { type: 'string' },
            modelid: { type: 'string' },
            originalfile: { type: 'string' },
            starttime: { type: 'integer', description: 'epoch milliseconds' },
            endtime: { type: 'integer', description: 'epoch milliseconds' },
            duration: { type: 'number', description: 'seconds' },
            video: { ...VIDEO_SUMMARY_SCHEMA, description: 'Videos only: the video and how many of its frames were analysed.' },
          },
        },
        timeline: {
          type: 'array',
          description: 'Videos with timeline=1 only: the tags of each second that has analysed frames.',
          items: { type: 'object', required: ['second', 'tags'], properties: { second: { type: 'integer' }, tags: TAGS_SCHEMA } },
        },
        tags: TAGS_SCHEMA,
      },
    },
  },
} as const;

/** Error answers every route may give. */
export const ERROR_RESPONSES = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA } as const;
