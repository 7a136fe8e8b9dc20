/** The OpenAPI 3 description served at `GET /openapi.json`, built from the same schemas the routes use. */
import { ERROR_SCHEMA, FACE_FORM_SCHEMA, FACE_RESULT_SCHEMA, FILECONTAINER_SCHEMA, RECOG_FORM_SCHEMA } from './schemas.ts';

declare module 'fastify' {
  /** Documentation keys of a route schema, read by openApiDocument (the names @fastify/swagger uses). */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    consumes?: readonly string[];
    hide?: boolean;
  }
}

type Schema = { readonly type: string; readonly properties: Record<string, unknown>; readonly required?: readonly string[] };

/** The multipart variant of a form schema: the image fields are files (or a URL as text). */
function multipart(schema: Schema, fileFields: readonly string[]): Schema {
  const properties: Record<string, unknown> = { ...schema.properties };
  for (const name of fileFields) {
    properties[name] = {
      ...(properties[name] as object),
      oneOf: [{ type: 'string', format: 'binary' }, { type: 'string', format: 'uri' }],
    };
  }
  return { ...schema, properties };
}

function errors(extra: Record<string, string> = {}): Record<string, unknown> {
  const statuses: Record<string, string> = {
    400: 'A parameter is missing or invalid (the message names it), or the image URL is refused.',
    401: 'Missing or wrong API key.',
    413: 'The upload or the image (pixels) is too large.',
    415: 'The file is not a JPEG, PNG or WebP image.',
    422: 'The image cannot be decoded or fetched.',
    429: 'Too many failed API key attempts from this address.',
    500: 'Internal error (details are in the service log).',
    503: 'The inference queue is full or the model is unavailable; see Retry-After.',
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
}

function formBody(schema: Schema, fileFields: readonly string[]): Record<string, unknown> {
  return {
    required: true,
    content: {
      'multipart/form-data': { schema: multipart(schema, fileFields) },
      'application/x-www-form-urlencoded': { schema },
    },
  };
}

/** A route registered by a plugin (cameras, snapshots...), described from its fastify schema. */
export interface ExtraRoute {
  readonly method: string;
  readonly url: string;
  readonly schema?: { readonly summary?: string; readonly description?: string; readonly response?: Record<string, unknown> };
}

/** Fastify path `/cameras/:id` in OpenAPI's `/cameras/{id}` form. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function extraPaths(routes: readonly ExtraRoute[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (method === 'head' || method === 'options') continue;
    const path = openApiPath(route.url);
    const responses = Object.fromEntries(
      Object.entries(route.schema?.response ?? { 200: {} }).map(([status, schema]) => [
        status.replace('xx', 'XX'),
        { description: `HTTP ${status}`, content: { 'application/json': { schema } } },
      ]),
    );
    const parameters = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    paths[path] = {
      ...paths[path],
      [method]: { summary: route.schema?.summary ?? `${route.method} ${route.url}`, description: route.schema?.description, parameters, responses },
    };
  }
  return paths;
}

export function openApiDocument(extraRoutes: readonly ExtraRoute[] = [], serverUrl?: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: {
      title: 'RAYPACK Edge API',
      version: '1.0.0',
      description:
        'The RAYPACK HTTP API (face detection and anonymisation, object and food recognition), answered on the device. ' +
        'Existing RAYPACK clients work by changing only the host name.',
    },
    servers: serverUrl ? [{ url: serverUrl }] : undefined,
    components: {
      securitySchemes: {
        apikeyHeader: { type: 'apiKey', in: 'header', name: 'apikey' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: { Error: ERROR_SCHEMA, FaceResult: FACE_RESULT_SCHEMA, FileContainer: FILECONTAINER_SCHEMA },
    },
    paths: {
      ...extraPaths(extraRoutes),
      '/raypackfacev3': {
        post: {
          summary: 'Detect faces; answer JSON or a JPEG with faces outlined or anonymised',
          description: 'The API key may also be sent as the `apikey` form field.',
          security: [{}, { apikeyHeader: [] }, { bearer: [] }],
          requestBody: formBody(FACE_FORM_SCHEMA, ['imagef', 'file']),
          responses: {
            200: {
              description: '`mode=json` or `facemode=jsonimage`: JSON; otherwise a JPEG.',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/FaceResult' } },
                'image/jpeg': { schema: { type: 'string', format: 'binary' } },
              },
            },
            ...errors(),
          },
        },
      },
      '/recog': {
        post: {
          summary: 'Recognise objects (model 1) or food (model 2)',
          description: 'One tag per label at or above the threshold with its best score, highest first.',
          security: [{}, { apikeyHeader: [] }, { bearer: [] }],
          requestBody: formBody(RECOG_FORM_SCHEMA, ['file', 'imagef']),
          responses: {
            200: { description: 'A Raypack_AI_Filecontainer.', content: { 'application/json': { schema: { $ref: '#/components/schemas/FileContainer' } } } },
            ...errors(),
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3 document', content: { 'application/json': {} } } } },
      },
    },
  };
}
