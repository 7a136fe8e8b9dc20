/** HTTP/1.1 clients on raw sockets, for what fetch and curl hide: when they read, how slowly they send. */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** 0 when no status line arrived. */
  readonly status: number;
  readonly head: string;
  readonly body: string;
  /** The socket error the client saw (EPIPE, ECONNRESET), if any. */
  readonly error?: string;
  readonly ms: number;
}

export interface UploadOptions {
  readonly port: number;
  readonly path?: string;
  /** Extra header lines, e.g. { apikey: 'k' }. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Bytes of the image part (0xff filler after a JPEG signature). */
  readonly fileBytes: number;
  /** Fields sent before the file. */
  readonly fields?: Readonly<Record<string, string>>;
  /** Transfer-Encoding: chunked instead of Content-Length. */
  readonly chunked?: boolean;
  /** Source address (any 127.x works on Linux), to be another client. */
  readonly localAddress?: string;
}

const BOUNDARY = 'rawclientboundary';

export function uploadBody(options: Pick<UploadOptions, 'fileBytes' | 'fields'>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(options.fields ?? {})) {
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="imagef"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`));
  const file = Buffer.alloc(options.fileBytes, 0xff);
  file[1] = 0xd8;
  parts.push(file, Buffer.from(`\r\n--${BOUNDARY}--\r\n`));
  return Buffer.concat(parts);
}

function requestHead(options: UploadOptions, bodyLength: number): string {
  const lines = [`POST ${options.path ?? '/raypackfacev3'} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Type: multipart/form-data; boundary=${BOUNDARY}`];
  lines.push(options.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${bodyLength}`);
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

function collect(socket: Socket, started: number, onData?: (text: string) => void): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let text = '';
    let error: string | undefined;
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      onData?.(text);
      // A whole answer on a kept-alive connection: done (a client would reuse or close it; we close).
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split))?.[1];
      if (split >= 0 && length !== undefined && Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length)) socket.destroy();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => {
      const split = text.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        head: split < 0 ? text : text.slice(0, split),
        body: split < 0 ? '' : text.slice(split + 4),
        error,
        ms: Date.now() - started,
      });
    });
  });
}

/**
 * Like Python requests or a naive client: write the whole request, and only then start reading. The answer to an
 * early refusal sits unread in the kernel meanwhile; a RST from the server destroys it.
 */
export function sendEverythingFirst(options: UploadOptions): Promise<RawAnswer> {
  const started = Date.now();
  const socket = connect({ port: options.port, host: '127.0.0.1', localAddress: options.localAddress });
  socket.pause();
  const answer = collect(socket, started);
  const body = uploadBody(options);
  socket.write(requestHead(options, body.length));
  if (options.chunked) {
    for (let at = 0; at < body.length; at += 256 * 1024) {
      const piece = body.subarray(at, at + 256 * 1024);
      socket.write(`${piece.length.toString(16)}\r\n`);
      socket.write(piece);
      socket.write('\r\n');
    }
    socket.write('0\r\n\r\n');
  } else {
    socket.write(body);
  }
  // Start reading only when every byte was handed to the kernel (or the write failed).
  const check = setInterval(() => {
    if (socket.writableLength === 0 || socket.destroyed) {
      clearInterval(check);
      socket.resume();
    }
  }, 5);
  return answer;
}

export interface TrickleOptions {
  readonly port: number;
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly localAddress?: string;
  /** Declared body size. */
  readonly contentLength: number;
  /** One byte every this many ms. */
  readonly everyMs: number;
}

/** A slow-body client: complete headers, then one byte of body every `everyMs`, until the server answers or closes. */
export function trickle(options: TrickleOptions): { answer: Promise<RawAnswer>; socket: Socket } {
  const started = Date.now();
  const socket = connect({ port: options.port, host: '127.0.0.1', localAddress: options.localAddress });
  const lines = [`POST ${options.path ?? '/raypackfacev3'} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Type: multipart/form-data; boundary=${BOUNDARY}`];
  lines.push(`Content-Length: ${options.contentLength}`);
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const body = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="mode"\r\n\r\n`);
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) return;
    socket.write(body.subarray(sent % body.length, (sent % body.length) + 1));
    sent += 1;
  }, options.everyMs);
  const answer = collect(socket, started).finally(() => clearInterval(timer));
  return { answer, socket };
}
