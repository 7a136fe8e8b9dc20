/**
 * The integration sections of the configuration schema (`homeassistant`, `metrics`, `deepstack`), part of the ONE schema in
 * schema.ts. Each integration is an extension the daemon starts only when its section enables it.
 */

export const HOMEASSISTANT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Home Assistant MQTT discovery: a device per camera with sensors (faces, people, objects, food, camera state), an occupancy binary sensor and the anonymised snapshot as an image entity, announced on the daemon\'s MQTT broker.',
  properties: {
    enabled: { type: 'boolean', default: true, description: 'Announce the cameras to Home Assistant (retained config messages under prefix).' },
    prefix: {
      type: 'string',
      pattern: '^[^#+]+$',
      default: 'homeassistant',
      description: "Home Assistant's discovery prefix (its MQTT integration setting; homeassistant unless changed there).",
    },
    status_topic: {
      type: 'string',
      pattern: '^[^#+]+$',
      description: "Home Assistant's birth topic: when it publishes online there, every config is announced again. Default: <prefix>/status.",
    },
    snapshot_interval_seconds: {
      type: 'number',
      minimum: 0,
      maximum: 3600,
      default: 10,
      description:
        'How often the anonymised snapshot (JPEG, the camera facemode) is published for the image entity; 0 = no image entity. Published only while the broker is connected, never buffered.',
    },
  },
} as const;

export const METRICS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Prometheus metrics at GET /metrics on the HTTP server.',
  properties: {
    enabled: { type: 'boolean', default: true, description: 'Serve /metrics.' },
    require_key: {
      type: 'boolean',
      default: false,
      description: 'Require an API key for /metrics (Prometheus: authorization: { credentials: <key> } in the scrape config).',
    },
  },
} as const;

export const DEEPSTACK_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'The DeepStack / CodeProject.AI-compatible detection API under /v1/vision (Frigate, Blue Iris, Agent DVR, Home Assistant, Double Take).',
  properties: {
    enabled: { type: 'boolean', default: true, description: 'Serve /v1/vision/face, /detection, /custom/<model> and /custom/list.' },
    keyless_clients: {
      type: 'array',
      default: [],
      items: { type: 'string', pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' },
      description:
        'Addresses or CIDRs (e.g. 192.168.1.20, 10.0.0.0/24) that may call /v1/vision without an API key, for clients that cannot send one (Blue Iris, Agent DVR, CodeProject.AI integrations). These routes answer boxes and labels only, never images. A key that is sent is still checked.',
    },
  },
} as const;
