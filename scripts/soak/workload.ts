/**
 * The soak's requests: good uploads of real photos in every mode, and the bad ones the hardening issue found (wrong
 * keys, truncated and fake images, uploads over the limit, an image no JPEG can hold, a 300-character boundary, a
 * decompression bomb's header, an SSRF URL, a slow body, a client that sends everything before reading). Each kind
 * names the statuses it may get; anything else is counted as unexpected.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export interface Kind {
  readonly name: string;
  /** Relative weight in the mix. */
  readonly weight: number;
  /** Statuses this kind may be answered with (0: no answer, only for kinds where that is allowed). */
  readonly expected: readonly number[];
  readonly run: (target: Target) => Promise<number>;
}

export interface Target {
  readonly base: string;
  readonly port: number;
  readonly key: string;
  readonly cameras: readonly string[];
}

const SAMPLES = join(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo');
// 429 is a fine answer to any keyed request too: the soak's own bad keys put 127.0.0.1 on a soft block, where
// its good key (used before) still works, and anything else is refused.
const LIMITED = 429;

export async function buildKinds(): Promise<Kind[]> {
  const photos = [1, 2, 3].map((n) => readFileSync(join(SAMPLES, `sample${n}.jpg`)));
  const strip = await sharp({ create: { width: 1_000_000, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
  const oversized = Buffer.concat([photos[0], Buffer.alloc(11 * 1024 * 1024)]);
  const truncated = photos[1].subarray(0, photos[1].length >> 1);
  let turn = 0;
  const photo = (): Buffer => photos[turn++ % photos.length];

  const form = (fields: Record<string, string>, file?: { name: string; bytes: Buffer; field?: string }): FormData => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    if (file) f.append(file.field ?? 'imagef', new Blob([file.bytes], { type: 'image/jpeg' }), file.name);
    return f;
  };
  const post = async (t: Target, path: string, body: FormData, headers: Record<string, string> = {}): Promise<number> => {
    const r = await fetch(`${t.base}${path}`, { method: 'POST', body, headers });
    await r.arrayBuffer();
    return r.status;
  };
  const get = async (t: Target, path: string): Promise<number> => {
    const r = await fetch(`${t.base}${path}`, { headers: { apikey: t.key } });
    await r.arrayBuffer();
    return r.status;
  };

  return [
    { name: 'face json', weight: 10, expected: [200, 503], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key, mode: 'json' }, { name: 'p.jpg', bytes: photo() })) },
    { name: 'face pixel image', weight: 6, expected: [200, 503], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key, mode: 'image', facemode: 'pixel' }, { name: 'p.jpg', bytes: photo() })) },
    { name: 'face jsonimage', weight: 4, expected: [200, 503], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key, facemode: 'jsonimage' }, { name: 'p.jpg', bytes: photo() })) },
    { name: 'recog objects', weight: 4, expected: [200, 503], run: (t) => post(t, '/recog', form({ apikey: t.key, model: '1', threshold: '0.4' }, { name: 'p.jpg', bytes: photo(), field: 'file' })) },
    { name: 'recog food', weight: 2, expected: [200, 503], run: (t) => post(t, '/recog', form({ apikey: t.key, model: '2', lang: 'en' }, { name: 'p.jpg', bytes: photo(), field: 'file' })) },
    { name: 'snapshot', weight: 4, expected: [200, 503], run: (t) => get(t, `/cameras/${t.cameras[turn++ % t.cameras.length]}/snapshot.jpg?facemode=pixel`) },
    { name: 'cameras', weight: 2, expected: [200], run: (t) => get(t, '/cameras') },
    { name: 'healthz', weight: 2, expected: [200], run: (t) => get(t, '/healthz') },
    { name: 'wrong key', weight: 3, expected: [401, LIMITED], run: (t) => post(t, '/raypackfacev3', form({ apikey: `wrong-${turn++ % 5}` }, { name: 'p.jpg', bytes: photo() })) },
    { name: 'no key', weight: 2, expected: [401, LIMITED], run: (t) => post(t, '/recog', form({ model: '1' }, { name: 'p.jpg', bytes: photo(), field: 'file' })) },
    { name: 'truncated jpeg', weight: 3, expected: [422, 503], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key, mode: 'json' }, { name: 't.jpg', bytes: truncated })) },
    { name: 'text as jpeg', weight: 2, expected: [415], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key }, { name: 'x.jpg', bytes: Buffer.from('not an image\n') })) },
    { name: 'over the limit', weight: 2, expected: [413], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key }, { name: 'big.jpg', bytes: oversized })) },
    { name: '1x1000000 png', weight: 2, expected: [413], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key, mode: 'image', facemode: 'pixel' }, { name: 's.png', bytes: strip })) },
    { name: 'png bomb header', weight: 1, expected: [413, 422], run: (t) => post(t, '/raypackfacev3', form({ apikey: t.key, mode: 'json' }, { name: 'b.png', bytes: pngHeader(50_000, 50_000) })) },
    { name: 'ssrf url', weight: 1, expected: [400], run: (t) => post(t, '/recog', form({ apikey: t.key, model: '1', file: 'http://169.254.169.254/latest/meta-data/' })) },
    { name: '300-char boundary', weight: 2, expected: [400], run: (t) => raw(t, rawMultipart(t.key, 'b'.repeat(300))) },
    { name: 'malformed multipart', weight: 1, expected: [400], run: (t) => raw(t, rawMultipart(t.key, 'zzz', false)) },
    { name: 'send first, wrong key', weight: 1, expected: [401, LIMITED], run: (t) => sendFirst(t, 16 * 1024 * 1024) },
    { name: 'slow body', weight: 0.3, expected: [408], run: (t) => slowBody(t) },
  ];
}

/** A PNG signature and IHDR claiming width x height (CRC not filled in). */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr[16] = 8;
  ihdr[17] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr]);
}

/** A multipart request carrying `mode=json`; without `closed`, the closing boundary is missing (a malformed body). */
function rawMultipart(key: string, boundary: string, closed = true): string {
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\njson\r\n${closed ? `--${boundary}--\r\n` : ''}`;
  return `POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\napikey: ${key}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** One request as raw bytes; the answer's status (0 when none came). */
function raw(t: Target, request: string | Buffer, options: { pauseUntilWritten?: boolean; trickleMs?: number } = {}): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(t.port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split))?.[1];
      if (split >= 0 && length !== undefined && text.length - split - 4 >= Number(length)) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0));
    });
    if (options.pauseUntilWritten) socket.pause();
    socket.write(request, () => socket.resume());
    if (options.trickleMs) timer = setInterval(() => socket.writable && socket.write('x'), options.trickleMs);
  });
}

function sendFirst(t: Target, bytes: number): Promise<number> {
  const b = 'sendfirst';
  const head = Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="imagef"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
  const body = Buffer.concat([head, Buffer.alloc(bytes, 0xff), Buffer.from(`\r\n--${b}--\r\n`)]);
  const request = Buffer.concat([
    Buffer.from(`POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\napikey: soak-wrong-key\r\nContent-Type: multipart/form-data; boundary=${b}\r\nContent-Length: ${body.length}\r\n\r\n`),
    body,
  ]);
  return raw(t, request, { pauseUntilWritten: true });
}

function slowBody(t: Target): Promise<number> {
  const head = `POST /raypackfacev3 HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=s\r\nContent-Length: 100000\r\n\r\n--s\r\n`;
  return raw(t, head, { trickleMs: 5000 });
}
