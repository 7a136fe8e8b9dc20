/**
 * Reads a request's form: multipart/form-data (streamed by @fastify/multipart, the file buffered up to the upload
 * limit and refused with 413 the moment it passes it) or an already parsed urlencoded/JSON body. The `apikey`
 * field is handed to `onKey` as soon as it is parsed, so a wrong key stops the upload instead of waiting for it.
 */
import type { FastifyRequest } from 'fastify';
import { RaypackError, isRaypackError } from '../errors.ts';
import { toRaypackError } from './errors.ts';

export interface UploadedFile {
  readonly fieldname: string;
  readonly filename: string;
  readonly bytes: Buffer;
}

export interface Form {
  /** Text fields, names lower-cased. */
  readonly fields: Record<string, string>;
  readonly file?: UploadedFile;
}

export interface FormLimits {
  readonly maxUploadBytes: number;
  /** Largest text field (a URL, a key). */
  readonly maxFieldBytes: number;
}

/** Field names under which an image file is accepted (RAYPACK uses `imagef` for faces and `file` for recog). */
const FILE_FIELDS: ReadonlySet<string> = new Set(['imagef', 'file']);
const KEY_FIELDS: ReadonlySet<string> = new Set(['apikey']);

/** Which fields carry the image file and the key (other APIs name them differently: DeepStack's `image`, `api_key`). */
export interface FormFields {
  readonly files: ReadonlySet<string>;
  readonly keys: ReadonlySet<string>;
}

export async function readForm(
  request: FastifyRequest,
  limits: FormLimits,
  onKey: (key: string) => void,
  names: FormFields = { files: FILE_FIELDS, keys: KEY_FIELDS },
): Promise<Form> {
  if (request.isMultipart()) return readMultipart(request, limits, onKey, names);
  const fields: Record<string, string> = {};
  const body = request.body;
  if (body !== undefined && body !== null) {
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new RaypackError('unsupported_media_type', 'send the parameters as multipart/form-data or application/x-www-form-urlencoded');
    }
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[name.toLowerCase()] = String(value);
    }
  }
  for (const name of names.keys) if (fields[name] !== undefined) onKey(fields[name]);
  return { fields };
}

async function readMultipart(request: FastifyRequest, limits: FormLimits, onKey: (key: string) => void, names: FormFields): Promise<Form> {
  const fields: Record<string, string> = {};
  let file: UploadedFile | undefined;
  try {
    const parts = request.parts({
      limits: { fileSize: limits.maxUploadBytes + 1, files: 1, fields: 32, parts: 40, fieldSize: limits.maxFieldBytes, headerPairs: 64 },
    });
    for await (const part of parts) {
      const name = part.fieldname.toLowerCase();
      if (part.type === 'file') {
        if (!names.files.has(name)) {
          part.file.resume();
          throw new RaypackError('bad_parameter', `unexpected file field '${part.fieldname.slice(0, 40)}': send the image as ${[...names.files].join(' or ')}`);
        }
        file = { fieldname: name, filename: part.filename, bytes: await readCapped(part.file, limits.maxUploadBytes) };
        continue;
      }
      if (part.valueTruncated) throw new RaypackError('bad_parameter', `the field ${name.slice(0, 40)} is too long`);
      const value = typeof part.value === 'string' ? part.value : String(part.value);
      fields[name] = value;
      if (names.keys.has(name)) onKey(value);
    }
  } catch (error) {
    throw multipartError(error);
  }
  return { fields, file };
}

/**
 * What went wrong while the multipart body was parsed. Our own coded errors and @fastify/multipart's (they carry a
 * 4xx status) keep their meaning; anything else came out of busboy reading the client's bytes (its constructor
 * refuses a boundary over 252 characters with "The needle cannot have a length bigger than 256", a truncated body
 * ends with "Unexpected end of form"...), so it is the client's malformed request: a 400, never a 500.
 */
function multipartError(error: unknown): RaypackError {
  if (isRaypackError(error)) return error;
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return toRaypackError(error);
  const reason = error instanceof Error ? error.message : String(error);
  const message = /needle|boundary/i.test(reason)
    ? 'the multipart/form-data boundary is missing or too long (RFC 2046 allows 1 to 70 characters)'
    : 'the multipart/form-data body is malformed';
  return new RaypackError('bad_parameter', message, undefined, { cause: error });
}

/**
 * Buffer a file part, refusing it the moment it passes `maxBytes`. (@fastify/multipart's toBuffer() keeps reading
 * a truncated file to its end before it throws, so a 1 GB upload would be read in full before the 413.)
 */
async function readCapped(stream: AsyncIterable<Buffer> & { destroy(): void }, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new RaypackError('payload_too_large', `the uploaded file is larger than the limit of ${maxBytes} bytes`, { maxBytes });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
