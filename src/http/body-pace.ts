/**
 * A request body must keep arriving: at least `minBytesPerSecond` on average over every `windowMs` (the first
 * window starts when the headers are complete). A slower body is answered 408 and its connection closed, long
 * before the 60 s request timeout; a body that is being drained after an early answer and stalls is closed.
 * Bytes are counted on the socket (the HTTP parser may consume it without 'data' events), so the guard never
 * touches the body stream itself. One ticker serves every watched request.
 */
import { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface BodyPaceLimits {
  readonly minBytesPerSecond: number;
  readonly windowMs: number;
  /** How often bodies are checked (default 1 s, or the window when that is shorter). */
  readonly tickMs?: number;
}

export interface PaceClock {
  now(): number;
  setInterval(fn: () => void, ms: number): { unref?(): void };
  clearInterval(handle: unknown): void;
}

const realClock: PaceClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

interface Watched {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly socket: Socket;
  readonly baseBytes: number;
  /** (time, body bytes so far) at each tick, oldest first, spanning at least one window. */
  readonly samples: Array<{ at: number; bytes: number }>;
}

export class BodyPaceGuard {
  private readonly watched = new Set<Watched>();
  private ticker: unknown;
  private readonly clock: PaceClock;
  private readonly tickMs: number;

  /**
   * `onTooSlow` answers a request whose reply has not been sent yet (the server's 408); a request already answered
   * is handed to `onStalledDrain` (close the connection).
   */
  constructor(
    readonly limits: BodyPaceLimits,
    private readonly onTooSlow: (request: FastifyRequest, reply: FastifyReply) => void,
    private readonly onStalledDrain: (socket: Socket) => void,
    clock: PaceClock = realClock,
  ) {
    this.clock = clock;
    this.tickMs = limits.tickMs ?? Math.min(1000, limits.windowMs);
  }

  /** Watch this request's body until it is complete (a request without a body, or already read, is ignored). */
  watch(request: FastifyRequest, reply: FastifyReply): void {
    const raw = request.raw;
    if (raw.complete || !hasBody(request) || this.limits.minBytesPerSecond <= 0) return;
    const socket = raw.socket;
    // Requests made in-process (fastify's inject) have a stand-in socket that counts no bytes: nothing to pace.
    if (!(socket instanceof Socket)) return;
    this.watched.add({ request, reply, socket, baseBytes: socket.bytesRead, samples: [{ at: this.clock.now(), bytes: 0 }] });
    if (this.ticker === undefined) {
      const ticker = this.clock.setInterval(() => this.tick(), this.tickMs);
      ticker.unref?.();
      this.ticker = ticker;
    }
  }

  get size(): number {
    return this.watched.size;
  }

  close(): void {
    if (this.ticker !== undefined) this.clock.clearInterval(this.ticker);
    this.ticker = undefined;
    this.watched.clear();
  }

  private tick(): void {
    const now = this.clock.now();
    for (const w of this.watched) {
      if (w.request.raw.complete || w.socket.destroyed) {
        this.watched.delete(w);
        continue;
      }
      const bytes = w.socket.bytesRead - w.baseBytes;
      w.samples.push({ at: now, bytes });
      // Keep the newest sample that is at least one window old, and everything after it.
      while (w.samples.length > 2 && now - w.samples[1].at >= this.limits.windowMs) w.samples.shift();
      const oldest = w.samples[0];
      const span = now - oldest.at;
      if (span < this.limits.windowMs) continue;
      if (bytes - oldest.bytes >= (this.limits.minBytesPerSecond * span) / 1000) continue;
      this.watched.delete(w);
      if (w.reply.sent) this.onStalledDrain(w.socket);
      else this.onTooSlow(w.request, w.reply);
    }
    if (this.watched.size === 0 && this.ticker !== undefined) {
      this.clock.clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}

function hasBody(request: FastifyRequest): boolean {
  const headers = request.raw.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = Number(headers['content-length']);
  return Number.isFinite(length) && length > 0;
}
