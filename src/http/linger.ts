/**
 * Closing a connection without losing the answer on it. When a socket is closed while bytes the client sent are
 * still unread, the kernel answers with a RST instead of a FIN; a client that is still sending then fails with EPIPE
 * or ECONNRESET (curl: `(55) Send failure: Broken pipe`) before it ever reads the answer that was already on its way.
 * Node does exactly that after a `Connection: close` answer (end, then destroy as soon as the FIN is written), and
 * for its own parse errors and timeouts. So: end our side (FIN after the answer), keep reading and discarding what
 * the client still sends, and close only when the client closes too, or after a bounded number of bytes or time.
 */
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Bytes read and thrown away after the answer before the socket is destroyed anyway. */
  readonly maxBytes: number;
  /** Time after the answer before the socket is destroyed anyway. */
  readonly maxMs: number;
}

const lingering = new WeakSet<Socket>();

/**
 * End `socket` once what was written has gone out (FIN), read and discard what still arrives, and destroy it when
 * the client closes its side, after `maxBytes` more bytes or after `maxMs`. Idempotent.
 */
export function lingerClose(socket: Socket, limits: LingerLimits): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  const startBytes = socket.bytesRead;
  const timer = setTimeout(() => socket.destroy(), limits.maxMs);
  timer.unref();
  // The HTTP parser may consume the socket's handle directly (no 'data' events): poll bytesRead for the bound.
  const poll = setInterval(() => {
    if (socket.bytesRead - startBytes > limits.maxBytes) socket.destroy();
  }, 50);
  poll.unref();
  socket.once('close', () => {
    clearTimeout(timer);
    clearInterval(poll);
  });
  // Both halves ended (the client's FIN after ours) closes a half-open socket by itself; without allowHalfOpen the
  // client's FIN ends it at once, which is as good.
  socket.once('end', () => socket.destroy());
  if (socket.readableFlowing !== true) socket.resume();
  if (socket.writable) socket.end();
}

/**
 * For a request answered before its body was read to the end with `Connection: close`: Node would end and destroy
 * the socket right after the answer (socket.destroySoon). Make that a lingerClose instead.
 */
export function lingerAfterAnswer(socket: Socket, limits: LingerLimits): void {
  if (socket.destroyed) return;
  socket.destroySoon = () => lingerClose(socket, limits);
}
