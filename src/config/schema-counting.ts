/**
 * The per-camera object tracking, zones and lines of the configuration schema (part of the ONE schema in
 * schema.ts; checks the schema cannot express are in counting.ts). Coordinates are normalised to the frame,
 * [0, 0] top left and [1, 1] bottom right, so zones survive a change of the camera's width and height.
 */
import { DEFAULT_COUNTING } from '../counting/counter.ts';

const NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

const normalisedPoint = {
  type: 'array',
  description: '[x, y] in 0-1 frame coordinates: [0, 0] is the top left corner, [1, 1] the bottom right.',
  items: { type: 'number', minimum: 0, maximum: 1 },
  minItems: 2,
  maxItems: 2,
};

const labels = {
  type: 'array',
  items: { type: 'string', minLength: 1 },
  minItems: 1,
  uniqueItems: true,
  description: 'Tracked labels counted here. Default: every label the camera tracks.',
};

export const TRACKING_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Object tracks (needs the objects task): the object detections of these labels get track ids, their events go to the camera\'s events topic (kind object), and zones and lines count them.',
  properties: {
    labels: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      default: ['person'],
      description: 'COCO labels to track (English names, e.g. person, car, dog). Empty: no object tracks.',
    },
    max_missed_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 60, default: 2, description: 'An object track ends (event end) once unseen for this long.' },
    update_seconds: { type: 'number', minimum: 0, maximum: 3600, default: 5, description: 'Least time between two update events of one object track.' },
  },
};

export const ZONES_SCHEMA = {
  type: 'array',
  default: [],
  description: 'Zones (polygons) where object tracks are counted: occupancy now, entries, exits, dwell per track. Needs the objects task.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'points'],
    properties: {
      name: { type: 'string', pattern: NAME_PATTERN, description: 'Unique among the camera\'s zones; used in MQTT topics and metrics.' },
      points: { type: 'array', minItems: 3, maxItems: 64, items: normalisedPoint, description: 'The polygon\'s corners in order, 0-1 frame coordinates.' },
      labels,
    },
  },
};

export const LINES_SCHEMA = {
  type: 'array',
  default: [],
  description: 'Counting lines: crossings of object tracks per direction. Needs the objects task.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'a', 'b'],
    properties: {
      name: { type: 'string', pattern: NAME_PATTERN, description: 'Unique among the camera\'s lines; used in MQTT topics and metrics.' },
      a: { ...normalisedPoint, description: 'The line\'s first end, 0-1 frame coordinates.' },
      b: { ...normalisedPoint, description: 'The line\'s second end.' },
      in: {
        type: 'string',
        enum: ['left_to_right', 'right_to_left'],
        default: 'left_to_right',
        description:
          'Which crossing counts as in (the other is out): left_to_right is from the left of a->b to its right as seen on the screen (walking from a to b, the right hand side). A line drawn from bottom (a) to top (b) has its left and right where the screen has them.',
      },
      labels,
    },
  },
};

export const COUNTING_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'How zones and lines count (docs/COUNTING.md).',
  properties: {
    hysteresis: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: DEFAULT_COUNTING.hysteresis,
      description: 'A track changes side of a line, or enters or leaves a zone, only once its reference point is this share of its box height past the line or edge (jitter on a line never counts).',
    },
    rejoin_seconds: {
      type: 'number',
      minimum: 0,
      maximum: 60,
      default: DEFAULT_COUNTING.rejoinMs / 1000,
      description: 'A new track that appears this soon after another vanished, near where it was last seen, continues it: no second entry or crossing for one person whose track broke.',
    },
    rejoin_distance: { type: 'number', minimum: 0, maximum: 10, default: DEFAULT_COUNTING.rejoinDistance, description: 'How near, in box heights of the vanished track.' },
    min_track_seconds: {
      type: 'number',
      minimum: 0,
      maximum: 60,
      default: DEFAULT_COUNTING.minTrackMs / 1000,
      description: 'A track counts (entries, exits, crossings, occupancy) once it has been followed this long; a duplicate box of one person or a false detection that lives shorter counts nothing.',
    },
    reset_time: {
      type: 'string',
      default: '00:00',
      description: 'Local time of day (HH:MM, the device\'s time zone) at which entries, exits and crossings reset to 0.',
    },
  },
};
