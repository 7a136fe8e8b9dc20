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
        'Largest uploaded image in bytes (10 MB); larger uploads get 413 while they stream in. Memory held by uploads is at most max_in_flight times this.',
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
      description: 'API requests admitted at once; more get 503 with Retry-After before their upload is read.',
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
      description: 'Key guessing: after max_failures missing or wrong keys from one address within window_seconds, that address gets 429.',
      properties: {
        max_failures: { type: 'integer', minimum: 1, maximum: 100000, default: 10, description: 'Failures allowed per window.' },
        window_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 86400, default: 60, description: 'Length of the window.' },
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
