/**
 * The `api` section of the configuration schema (kept in its own file so schema.ts stays readable; it is part of
 * the ONE schema in schema.ts). Every default equals the HTTP API's own default in src/http/server.ts and
 * src/net/fetch-url.ts, so a config without this section behaves exactly like buildServer() without limits.
 * Units follow the rest of the config (seconds, bytes); src/config/api-options.ts maps them to ApiDeps.
 */

/** Host/CIDR names proxy-addr understands besides addresses and CIDRs. */
export const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'] as const;

const seconds = (fallback: number, description: string): Record<string, unknown> => ({
  type: 'number',
  exclusiveMinimum: 0,
  maximum: 3600,
  default: fallback,
  description,
});

export const API_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Limits and policies of the RAYPACK API (/raypackfacev3, /recog) served on http.host:http.port.',
  properties: {
    max_upload_bytes: {
      type: 'integer',
      minimum: 1024,
      maximum: 1073741824,
      default: 10485760,
      description:
        'Largest uploaded image in bytes (10 MB); larger uploads get 413 while they stream in. Memory held by uploads is at most (max_receiving + max_in_flight) times this.',
    },
    max_form_bytes: {
      type: 'integer',
      minimum: 1024,
      maximum: 16777216,
      default: 65536,
      description: 'Largest urlencoded/JSON body and largest text field in bytes (64 KB).',
    },
    max_pixels: {
      type: 'integer',
      minimum: 1,
      maximum: 1000000000,
      default: 40000000,
      description: 'Largest image in pixels (width x height, 40 MP), checked from its header before decoding; larger images get 413.',
    },
    max_image_side: {
      type: 'integer',
      minimum: 1,
      maximum: 65500,
      default: 65500,
      description:
        'Longest image side (width or height) in pixels, checked from its header before decoding; longer images get 413. 65500 is the most a JPEG can have, and every picture answer is a JPEG.',
    },
    decode_timeout_seconds: {
      type: 'integer',
      minimum: 1,
      maximum: 3600,
      default: 10,
      description: 'Abort decoding an image after this many whole seconds (libvips takes integer seconds).',
    },
    request_timeout_seconds: seconds(60, 'Time for a whole request, upload included; a slower client gets 408.'),
    headers_timeout_seconds: seconds(15, 'Time to receive the request headers (at most request_timeout_seconds).'),
    keep_alive_timeout_seconds: seconds(5, 'Idle keep-alive connections are closed after this.'),
    connection_timeout_seconds: seconds(30, 'An idle socket is closed after this.'),
    max_in_flight: {
      type: 'integer',
      minimum: 1,
      maximum: 1024,
      default: 16,
      description:
        'API requests past their upload and key at once (fetching an image URL, queued, analysed); more get 503 with Retry-After. A request takes its slot only once its body has arrived and its key was accepted.',
    },
    max_receiving: {
      type: 'integer',
      minimum: 1,
      maximum: 4096,
      default: 32,
      description: 'API request bodies arriving at once; more get 503 with Retry-After before their upload is read.',
    },
    max_per_client: {
      type: 'integer',
      minimum: 1,
      maximum: 4096,
      default: 8,
      description:
        'Of max_receiving and of max_in_flight, at most this many from one client address (IPv6: one /64), so that one address cannot take them all.',
    },
    min_body_bytes_per_second: {
      type: 'integer',
      minimum: 0,
      maximum: 1073741824,
      default: 1024,
      description: 'A request body must arrive at least this fast on average over every body_window_seconds, or it gets 408 and its connection is closed (0: no minimum).',
    },
    body_window_seconds: seconds(10, 'The window over which min_body_bytes_per_second is measured (the first one starts when the headers are in).'),
    video: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Video uploads (mp4, mov, mkv, webm) on /recog and /raypackfacev3: decoded by ffmpeg from the uploaded temp file only (no network protocols), within these limits; the upload itself is limited by max_upload_bytes.',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Accept video uploads (false: they get 415 like any other unsupported file).' },
        max_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600, default: 60, description: 'Longest video accepted, in seconds of video; longer ones get 413.' },
        max_frames: { type: 'integer', minimum: 1, maximum: 1000000, default: 3600, description: 'Most frames a video may have; more get 413.' },
        max_pixels: { type: 'integer', minimum: 1, maximum: 100000000, default: 2088960, description: 'Largest frame in pixels (1920x1088); larger get 413.' },
        max_processing_seconds: seconds(120, 'A video whose analysis takes longer is stopped: 413, nothing of it is kept.'),
        sample_fps: { type: 'number', exclusiveMinimum: 0, maximum: 30, default: 2, description: 'Frames per second analysed for JSON answers (/recog tags, /raypackfacev3 mode=json), unless the request asks for fewer (fps).' },
        analysis_fps: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 60,
          default: 10,
          description: 'Frames per second analysed for anonymized videos (/raypackfacev3 mode=image); every frame is written, the tracker and the next analysed frame cover the frames between.',
        },
      },
    },
    trust_proxy: {
      type: ['boolean', 'array'],
      items: { type: 'string', minLength: 1 },
      default: false,
      description:
        'Take the client address from X-Forwarded-For when the request comes from these proxies: a list of addresses, CIDRs or loopback/linklocal/uniquelocal. true trusts every sender (only behind a proxy that overwrites the header). The client address is what the key-failure limit counts and what the request log shows.',
    },
    auth_failures: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Key guessing, per client address over a sliding window: after max_failures missing or wrong keys, only keys that succeeded from that address before are checked (others get 429); after max_distinct_keys different wrong keys, every key gets 429. A success does not clear failures.',
      properties: {
        max_failures: { type: 'integer', minimum: 1, maximum: 100000, default: 10, description: 'Failures per window before only known keys are checked.' },
        max_distinct_keys: {
          type: 'integer',
          minimum: 1,
          maximum: 100000,
          description: 'Different wrong keys per window before no key from the address is checked. Default: 3 x max_failures (never fewer than max_failures).',
        },
        window_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 86400, default: 60, description: 'Length of the sliding window.' },
        trust_seconds: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 31536000,
          default: 86400,
          description: 'How long a key that succeeded from an address stays known there (is checked while that address is blocked for other keys).',
        },
      },
    },
    fetch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Image URLs (imagef/file=http(s)://...) are fetched by the device itself; only public addresses are reached unless allowed here.',
      properties: {
        allow: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: [],
          description:
            'CIDRs, addresses or host names that may be fetched although they are not public (e.g. 192.168.1.0/24, nas.local, *.lan). Everything else must resolve to public addresses only.',
        },
        max_bytes: {
          type: 'integer',
          minimum: 1024,
          maximum: 1073741824,
          description: 'Largest image body fetched. Default: api.max_upload_bytes.',
        },
        timeout_seconds: seconds(10, 'Time for the whole fetch, redirects included.'),
        max_redirects: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'Redirects followed; each hop is checked like the first URL.' },
        ca_file: {
          type: 'string',
          minLength: 1,
          description:
            'PEM file of extra CA certificates trusted for https image servers (e.g. a NAS with its own CA), added to the built-in roots. Read at start; an unreadable file stops the start.',
        },
      },
    },
  },
} as const;
