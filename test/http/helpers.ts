/** Shared by the HTTP tests: a server with the REAL detectors, multipart bodies, test images. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector, Task } from '../../src/detect/types.ts';
import { buildServer, type ApiDeps } from '../../src/http/server.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { sha256Hex } from '../../src/auth/api-keys.ts';
import { setLogSink } from '../../src/log.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const SAMPLES = join(ROOT, 'node_modules/@vladmandic/face-api/demo');
export const DATA = resolve(ROOT, '../shared/data');
export const KEY = 'test-key-7f3a';
export const ADMIN_KEY = 'admin-key-91c2';

export const sample = (n: number): Buffer => readFileSync(join(SAMPLES, `sample${n}.jpg`));

/** Log lines written by the server during the tests (checked for leaked keys). */
export const logLines: string[] = [];
setLogSink((line) => {
  logLines.push(line);
  if (logLines.length > 5000) logLines.splice(0, 1000);
});

const cache = new Map<Task, Promise<Detector>>();
/** The real ONNX detectors, one session per task for the whole test file, one thread each (shared cores). */
export function realDetectors(task: Task): Promise<Detector> {
  let detector = cache.get(task);
  if (!detector) {
    detector = loadDetector(task, { threads: 1 });
    cache.set(task, detector);
  }
  return detector;
}

export async function closeDetectors(): Promise<void> {
  for (const d of cache.values()) await (await d).close();
  cache.clear();
}

export function testServer(overrides: Partial<ApiDeps> = {}): FastifyInstance {
  return buildServer({
    detectors: realDetectors,
    queue: new InferenceQueue({ concurrency: 1, capacity: 4 }),
    apiKeys: [{ sha256: sha256Hex(KEY), name: 'test' }],
    env: { RAYPACK_ADMIN_API_KEYS: ADMIN_KEY },
    ...overrides,
  });
}

export type Part = string | { filename: string; data: Buffer; type?: string };

/** A multipart/form-data body exactly as curl -F builds it. */
export function multipart(fields: readonly (readonly [string, Part])[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '------------------------raypacktest' + Math.random().toString(16).slice(2);
  const chunks: Buffer[] = [];
  for (const [name, value] of fields) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if (typeof value === 'string') {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    } else {
      chunks.push(
        Buffer.from(
          `Content-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\nContent-Type: ${value.type ?? 'image/jpeg'}\r\n\r\n`,
        ),
      );
      chunks.push(value.data, Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export async function postForm(
  app: FastifyInstance,
  url: string,
  fields: readonly (readonly [string, Part])[],
  headers: Record<string, string> = {},
  remoteAddress = '127.0.0.1',
) {
  const body = multipart(fields);
  return app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, ...headers }, remoteAddress });
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const x0 = Math.max(a[0], b[0]);
  const y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(8 + data.length + 4);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}
/** A valid PNG header (correct CRC) that claims 50000 x 50000 pixels: a decompression bomb's opening. */
export function pngBomb(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(50_000, 0);
  ihdr.writeUInt32BE(50_000, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.alloc(64)), chunk('IEND', Buffer.alloc(0))]);
}

export const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10000" height="10000"><rect width="100%" height="100%"/></svg>');
