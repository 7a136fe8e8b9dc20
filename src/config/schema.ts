/**
 * The daemon's configuration as ONE JSON Schema: the single source of truth for keys, types, defaults and
 * descriptions. `load.ts` validates against it (unknown keys rejected, every error reported with its path) and
 * fills the defaults; `describe.ts` turns it into the config reference; `config/default.yaml` is checked against it
 * by a test. Secrets are never keys here: the schema names the environment variables that hold them. The `api`
 * section lives in schema-api.ts.
 */

import { API_SCHEMA } from './schema-api.ts';
import { COUNTING_SCHEMA, LINES_SCHEMA, TRACKING_SCHEMA, ZONES_SCHEMA } from './schema-counting.ts';
import { DEEPSTACK_SCHEMA, HOMEASSISTANT_SCHEMA, METRICS_SCHEMA } from './schema-integrations.ts';

const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Anonymisation modes a camera may use by default; un-anonymised faces (`default`/`raw`) are only per request. */
export const FACE_MODES = ['pixel', 'fill', 'black', 'body'] as const;

const threshold = (task: string): Record<string, unknown> => ({
  type: 'number',
  minimum: 0,
  maximum: 1,
  description: `Minimum score for ${task} detections. Absent: the detector's own default.`,
});

const point = {
  type: 'array',
  description: '[x, y] in pixels of the analysed frame (width x height of this camera).',
  items: { type: 'number', minimum: 0 },
  minItems: 2,
  maxItems: 2,
};

/** A camera's anonymised HLS stream (src/camera/hls.ts): off unless enabled. */
const HLS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Anonymised HLS at /cameras/<id>/hls/index.m3u8 (H.264 in fMP4 segments, for NVRs, Home Assistant, VLC and browsers): only analysed frames, rendered in the camera facemode, go in. Off unless enabled.',
  properties: {
    enabled: { type: 'boolean', default: false, description: 'Run an H.264 encoder (one ffmpeg) for this camera and serve its playlist.' },
    segment_seconds: { type: 'number', minimum: 1, maximum: 10, default: 1, description: 'Length of a segment (a keyframe starts each one). Latency is about segment_seconds x 4. 1 s is what Chromium has been seen to play (docs/VIDEO.md).' },
    segments: { type: 'integer', minimum: 2, maximum: 20, default: 4, description: 'Segments in the playlist; older ones are deleted, so the temp folder stays bounded.' },
    fps: {
      type: 'number',
      minimum: 1,
      maximum: 30,
      description: "Output frames per second (constant: the newest anonymised frame is repeated between analysed ones). Default: the camera's fps.",
    },
    crf: { type: 'integer', minimum: 10, maximum: 45, default: 26, description: 'libx264 quality (lower is better and larger).' },
    max_kbps: { type: 'integer', minimum: 50, maximum: 20000, description: 'Cap on the bitrate in kbit/s (VBV). Absent: quality only.' },
  },
} as const;

export const CAMERA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  description: 'One camera: an ffmpeg input analysed at a fixed size and rate.',
  properties: {
    id: { type: 'string', pattern: ID_PATTERN, description: 'Short id used in MQTT topics and HTTP paths (letters, digits, _ and -).' },
    url: {
      type: 'string',
      minLength: 1,
      description:
        'What ffmpeg reads: rtsp://user:pass@host/path, http(s)://, or a file path. Credentials in the URL are never logged. Give either url or url_env.',
    },
    url_env: {
      type: 'string',
      pattern: ENV_NAME_PATTERN,
      description: 'Name of an environment variable holding the URL (keeps camera passwords out of the config file).',
    },
    enabled: { type: 'boolean', default: true, description: 'false: the camera is configured but not started.' },
    fps: { type: 'number', exclusiveMinimum: 0, maximum: 30, default: 5, description: 'Analysis frames per second: ffmpeg delivers this rate.' },
    width: { type: 'integer', minimum: 32, maximum: 3840, default: 640, description: 'Width of the analysed frame in pixels (ffmpeg scales to it).' },
    height: { type: 'integer', minimum: 32, maximum: 2160, default: 360, description: 'Height of the analysed frame in pixels.' },
    fit: {
      type: 'string',
      enum: ['stretch', 'pad'],
      default: 'stretch',
      description:
        'How the picture is brought to width x height: stretch (aspect may change) or pad (aspect kept, black bars; better for detection when the camera aspect differs).',
    },
    tasks: {
      type: 'array',
      items: { type: 'string', enum: ['face', 'objects', 'food'] },
      uniqueItems: true,
      default: ['face'],
      description:
        'What is published on MQTT: face, objects, food. Faces are always detected when snapshots are anonymised, whether published or not.',
    },
    thresholds: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Per-task minimum scores.',
      properties: { face: threshold('face'), objects: threshold('object'), food: threshold('food') },
    },
    facemode: {
      type: 'string',
      enum: [...FACE_MODES],
      default: 'pixel',
      description:
        'How faces are anonymised in snapshots and the MJPEG stream: pixel (pixelated), fill (a box of colour hex), black (a black picture with only the face boxes), or body (every detected person filled whole with hex, for sites that must not show people at all; needs the objects detector, loaded for it).',
    },
    hex: { type: 'string', pattern: '^#?[0-9A-Fa-f]{6}$', default: '00ff00', description: 'Colour (RRGGBB) of fill boxes and outlines.' },
    privacy_masks: {
      type: 'array',
      default: [],
      description: 'Polygons blacked out in every frame before analysis, so they never appear in any image or result that leaves the device.',
      items: { type: 'array', minItems: 3, maxItems: 64, items: point },
    },
    allow_raw: {
      type: 'boolean',
      default: false,
      description:
        'Allow un-anonymised faces (?facemode=default or raw) on snapshot/stream, and only for requests with an admin API key. Privacy masks still apply.',
    },
    loop: { type: 'boolean', default: false, description: 'Loop a file input forever (ffmpeg -stream_loop -1); for demos and tests.' },
    realtime: {
      type: 'boolean',
      description: 'Read the input at its native rate (ffmpeg -re). Default: true for files, false for network streams.',
    },
    rtsp_transport: { type: 'string', enum: ['tcp', 'udp'], default: 'tcp', description: 'RTSP transport; tcp survives lossy Wi-Fi better.' },
    stall_timeout_seconds: {
      type: 'number',
      exclusiveMinimum: 0,
      description: 'Restart ffmpeg when no frame arrived for this long. Default: the global stall_timeout_seconds.',
    },
    connect_timeout_seconds: {
      type: 'number',
      exclusiveMinimum: 0,
      description: 'Watchdog before the first frame of a run. Default: the global connect_timeout_seconds.',
    },
    input_args: {
      type: 'array',
      items: { type: 'string' },
      default: [],
      description: 'Extra ffmpeg arguments placed before -i (e.g. hardware decoding: ["-hwaccel", "auto"]).',
    },
    tracking: TRACKING_SCHEMA,
    zones: ZONES_SCHEMA,
    lines: LINES_SCHEMA,
    counting: COUNTING_SCHEMA,
    hls: HLS_SCHEMA,
    event_snapshots: {
      type: 'integer',
      minimum: 0,
      maximum: 1000,
      default: 50,
      description:
        'Anonymised JPEGs (camera facemode) kept for the latest track events, served at /cameras/<id>/events/<track>.jpg and linked as `snapshot` in each event message; 0 = none. About 30-80 kB each at 640x360.',
    },
  },
} as const;

/** Schema of one task's detector choice (config `models.face` / `models.objects`). */
function detectorChoice(task: string, defaultModel: string): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description: `The ${task} detector.`,
    properties: {
      model: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', description: `A model id (models/<id>.json) of this task; default ${defaultModel}.` },
      variant: {
        enum: ['fp32', 'int8'],
        description: "ONNX file: the int8 copy or the float model. Default: the model's own (int8 for the two default models: at most 1 point of AP50 below fp32, 1.4-2.6x faster).",
      },
      tiles: {
        type: 'integer',
        minimum: 0,
        maximum: 4,
        description: "Tiles along the long side, each run on top of the whole image, for crowds and small, distant faces: more accurate (SSD: WIDER AP50 0.71 -> 0.76 with 2) at n*n+1 passes. Default: the model's (0 for the SSD).",
      },
    },
  };
}

export const CONFIG_SCHEMA = {
  $id: 'https://raypack.ai/schemas/edge-config.json',
  type: 'object',
  additionalProperties: false,
  description: 'RAYPACK Edge daemon configuration (YAML or JSON).',
  properties: {
    device: { type: 'string', pattern: ID_PATTERN, default: 'raypack-edge', description: 'Device name: the second level of every MQTT topic.' },
    state_dir: {
      type: 'string',
      default: '',
      description: 'Writable directory for generated files (the demo video) and the zone and line counts kept across restarts (counts/<camera>.json). Empty: $STATE_DIRECTORY (systemd) or a temp directory.',
    },
    log_level: { type: 'string', enum: ['debug', 'info', 'warn', 'error'], default: 'info', description: 'Minimum log level.' },
    demo: {
      type: 'boolean',
      default: false,
      description: 'Add the DEMO camera: a looped video made at start from sample photos shipped with the dependencies.',
    },
    stall_timeout_seconds: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 20,
      description: 'Watchdog: kill and restart ffmpeg when a camera delivered no frame for this long.',
    },
    connect_timeout_seconds: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 30,
      description:
        'Watchdog before the first frame after (re)starting ffmpeg: opening and probing a stream can take longer than a stall on a busy device. Never shorter than the stall timeout.',
    },
    restart_backoff: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Delay before restarting a failed ffmpeg: doubles from initial to max; reset after a run of at least max seconds. Meanwhile a network camera that is down is probed every ~2 s (a TCP connect and an RTSP OPTIONS): when it answers again ffmpeg restarts at once and the delays start over.',
      properties: {
        initial_seconds: { type: 'number', exclusiveMinimum: 0, default: 1, description: 'First restart delay.' },
        max_seconds: { type: 'number', exclusiveMinimum: 0, default: 60, description: 'Longest restart delay.' },
      },
    },
    ffmpeg_path: { type: 'string', default: 'ffmpeg', description: 'The ffmpeg executable.' },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Where results are published. Without url: an embedded broker (aedes) on embedded.host:embedded.port.',
      properties: {
        url: { type: 'string', pattern: '^(mqtts?|tcp|ssl|wss?)://', description: 'External broker: mqtt://host:1883 or mqtts://host:8883.' },
        embedded: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'The embedded broker used when url is absent.',
          properties: {
            host: { type: 'string', default: '127.0.0.1', description: 'Listen address (0.0.0.0 to let other machines subscribe).' },
            port: {
              type: 'integer',
              minimum: 0,
              maximum: 65535,
              default: 1883,
              description: 'Listen port (0: any free port). Left at its default and taken (a broker already runs there): the daemon publishes to that broker if it accepts a connection, else the embedded one takes a free port; the log says which.',
            },
          },
        },
        username: { type: 'string', description: 'Broker user name.' },
        password_env: {
          type: 'string',
          pattern: ENV_NAME_PATTERN,
          default: 'RAYPACK_MQTT_PASSWORD',
          description: 'Environment variable holding the broker password (passwords are never read from the config file).',
        },
        client_id: { type: 'string', description: 'MQTT client id. Default: raypack-edge-<device>.' },
        protocol_version: { type: 'integer', enum: [4, 5], default: 4, description: '4 = MQTT 3.1.1, 5 = MQTT 5.' },
        tls: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'TLS files for mqtts:// (paths to PEM files).',
          properties: {
            ca: { type: 'string', description: 'CA certificate file.' },
            cert: { type: 'string', description: 'Client certificate file.' },
            key: { type: 'string', description: 'Client private key file.' },
            reject_unauthorized: { type: 'boolean', default: true, description: 'Verify the broker certificate.' },
          },
        },
        base_topic: { type: 'string', pattern: '^[^#+]+$', default: 'raypack', description: 'First level of every topic.' },
        qos: { type: 'integer', enum: [0, 1], default: 1, description: 'QoS of result messages.' },
        heartbeat_seconds: {
          type: 'number',
          exclusiveMinimum: 0,
          default: 30,
          description: 'Republish an unchanged result (and the camera status) at least this often.',
        },
        keepalive_seconds: { type: 'integer', minimum: 0, default: 30, description: 'MQTT keep-alive.' },
        reconnect: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description:
            'Reconnect delays: double from initial to max while the broker is unreachable, each up to a quarter shorter at random. An attempt on a dead broker is one refused connection, so the cap stays low: a broker that returns is reconnected within max_seconds, however long it was away.',
          properties: {
            initial_seconds: { type: 'number', exclusiveMinimum: 0, default: 1, description: 'First reconnect delay.' },
            max_seconds: { type: 'number', exclusiveMinimum: 0, default: 8, description: 'Longest reconnect delay.' },
          },
        },
        offline_buffer: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Messages kept while the broker is unreachable; the oldest are dropped (and counted) beyond either bound.',
          properties: {
            max_messages: { type: 'integer', minimum: 0, default: 1000, description: 'Most messages kept.' },
            max_bytes: { type: 'integer', minimum: 0, default: 1048576, description: 'Most payload bytes kept.' },
          },
        },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The local HTTP server: RAYPACK API, camera status, anonymised snapshots and MJPEG.',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Serve HTTP.' },
        host: {
          type: 'string',
          default: '127.0.0.1',
          description: 'Listen address. 127.0.0.1 (the default): this machine only; 0.0.0.0: every interface, for Home Assistant, an NVR or a browser on the network.',
        },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080, description: 'Listen port (0: any free port). Left at its default and taken: a free port, which the log names.' },
        mjpeg_fps: { type: 'number', exclusiveMinimum: 0, maximum: 30, default: 5, description: 'Frames per second of /cameras/:id/stream.mjpeg.' },
        mjpeg_max_clients: { type: 'integer', minimum: 1, default: 8, description: 'Most simultaneous MJPEG viewers per camera.' },
        require_key_for_cameras: {
          type: 'boolean',
          default: false,
          description: 'Require an API key for /cameras routes (anonymised images). Raw images always need an admin key.',
        },
      },
    },
    api: API_SCHEMA,
    license: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      default: 'commercial',
      description:
        'The license field of every Raypack_AI_Filecontainer: /recog answers and the objects/food messages on MQTT (RAYPACK sends "commercial").',
    },
    api_keys: {
      type: 'array',
      default: [],
      description:
        'API keys, each given as an environment variable holding the key or as the SHA-256 (hex) of the key: never the key itself. RAYPACK_API_KEYS and RAYPACK_ADMIN_API_KEYS (comma-separated) are read too. Admin keys may request raw snapshots where a camera allows it.',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          env: { type: 'string', pattern: ENV_NAME_PATTERN, description: 'Environment variable holding the key.' },
          sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$', description: 'SHA-256 of the key, hex (echo -n KEY | sha256sum).' },
          name: { type: 'string', description: 'Label for logs (the key itself is never logged).' },
          admin: { type: 'boolean', default: false, description: 'Admin key.' },
        },
      },
    },
    models: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Which detector each task runs, for the cameras and the HTTP API alike. Unset keys keep the measured defaults (docs/EVAL.md).',
      properties: {
        face: detectorChoice('face', 'ssd-mobilenetv1-face'),
        objects: detectorChoice('objects (and food, its COCO food classes)', 'nanodet'),
      },
    },
    privacy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'What is HIDDEN in every anonymized picture (snapshots, MJPEG, API pictures), recall-first and separate from what is reported: its own face threshold, tiles, second-opinion models, head areas of people (src/analysis/privacy.ts). Defaults chosen by `raypack-edge eval --privacy` (README, Privacy).',
      properties: {
        threshold: { type: 'number', minimum: 0.05, maximum: 1, default: 0.2, description: 'Face score from which a face is hidden (the API threshold and camera thresholds only limit what is reported).' },
        tiles: {
          oneOf: [
            { type: 'string', enum: ['auto'] },
            { type: 'integer', minimum: 0, maximum: 4 },
          ],
          default: 'auto',
          description: 'Overlapping tiles on top of the whole image, so that small faces reach the face model enlarged: auto (a grid chosen from the image size, see zoom), 0 (none) or n per side.',
        },
        zoom: { type: 'number', minimum: 1, maximum: 4, default: 2, description: 'auto tiles: the enlargement aimed at (tile side = model input / zoom).' },
        max_tiles_per_side: { type: 'integer', minimum: 2, maximum: 4, default: 3, description: 'auto tiles: at most this many per side.' },
        overlap: { type: 'number', minimum: 0, maximum: 0.5, default: 0.25, description: 'Share of a tile its neighbour sees too.' },
        models: {
          type: 'array',
          items: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' },
          default: ['blazeface-back'],
          description: 'Second-opinion face models (ids of face manifests), run on the whole image at their own default threshold; their faces are fused with the main model\'s. blazeface-back finds large masked faces the SSD misses.',
        },
        models_threshold: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0,
          description: 'Score from which the second-opinion models\' faces are hidden; 0: each model\'s own default threshold.',
        },
        person_heads: { type: 'boolean', default: false, description: 'Hide the head area of every person the objects detector finds whose head holds no detected face (a face turned away, masked or too small).' },
        person_threshold: { type: 'number', minimum: 0.05, maximum: 1, default: 0.35, description: 'Person score from which person_heads (and facemode body) hide.' },
        pose_heads: {
          type: 'boolean',
          default: true,
          description: 'Hide the head area of every pose (MoveNet MultiPose: nose, eyes, ears, shoulders) whose head holds no detected face; more exact than person_heads, at the cost of a pose pass per image.',
        },
        head_cover: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0.5,
          description: 'When a head (pose_heads, person_heads) counts as hidden already by the faces found in it: 0, when a face box lies at least half inside it; above 0, only when those faces with their margin cover at least this share of the head (a masked face whose box holds the eyes only then gets its head hidden whole).',
        },
        flip: {
          type: 'boolean',
          default: true,
          description: 'Run the face model and the second-opinion models once more on the mirrored image: they find some faces one way round only (profiles, masked and half-covered faces). About one more pass per rendered upload; cameras take it in turn with the tiles.',
        },
        border: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0.35,
          description: 'Run the face model once more on the image framed by its own mirror image, this share of its width on either side and of its height above and below (0: off): a face cut by the image edge is completed by its reflection, and faces too large for the model are seen smaller. One more pass per rendered upload; cameras take it in turn with the tiles.',
        },
        tiles_per_frame: {
          type: 'integer',
          minimum: 0,
          maximum: 16,
          default: 1,
          description: 'Cameras: privacy tiles run per frame, taking the grid in turn (the tracker keeps what a tile found hidden until its turn comes again); uploads run the whole grid. A camera\'s first frame and a frame that begins a new scene (a cut: PTZ preset, lights, a stream that came back) run every pass at once.',
        },
        max_missed_seconds: {
          type: 'number',
          minimum: 0,
          maximum: 10,
          default: 1.5,
          description: 'Cameras: how long a face the detectors miss stays hidden at its predicted (tracked) position.',
        },
      },
    },
    inference: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The inference queue shared by all cameras and the HTTP API.',
      properties: {
        threads: { type: 'integer', minimum: 0, maximum: 64, default: 0, description: 'ONNX Runtime intra-op threads per model; 0 = one per core. With a single inference at a time (concurrency 1) all cores serve it: 4 cameras at 5 fps, 1280x720, dropped 10-16% of frames with 1 thread and none with 2 on a 2-core machine (docs/BENCHMARKS.md).' },
        concurrency: { type: 'integer', minimum: 1, maximum: 16, default: 1, description: 'Inference jobs run at once.' },
        queue_size: { type: 'integer', minimum: 0, maximum: 1000, default: 4, description: 'Jobs waiting at most; more are refused (camera frames dropped and counted).' },
      },
    },
    publish: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'When results are published: on change, and at least every mqtt.heartbeat_seconds.',
      properties: {
        min_iou: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0.6,
          description: 'A box counts as moved (and the result as changed) when its overlap with the last published box falls below this IoU.',
        },
        min_interval_seconds: { type: 'number', minimum: 0, default: 0.5, description: 'Publish a changed result at most this often per camera and task.' },
        lang: { type: 'string', enum: ['de', 'en'], default: 'de', description: 'Language of object and food tags (RAYPACK default: de).' },
      },
    },
    homeassistant: HOMEASSISTANT_SCHEMA,
    metrics: METRICS_SCHEMA,
    deepstack: DEEPSTACK_SCHEMA,
    cameras: { type: 'array', default: [], items: CAMERA_SCHEMA, description: 'The cameras.' },
  },
} as const;
