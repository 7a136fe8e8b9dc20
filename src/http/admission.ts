/**
 * Admission of API requests in two stages, so that a client nobody has authenticated yet, or whose body has not
 * arrived, cannot hold what real work needs:
 *
 * 1. receiving (onRequest, before a byte of the body is read): the inference queue must have room, and the request
 *    takes a receiving place: at most `maxReceiving` bodies arrive at once, at most `maxPerClient` of them from
 *    one client address. A body that arrives too slowly is cut off by the BodyPaceGuard (408), which frees the
 *    place within its window.
 * 2. in flight (admit(), once the form is read and its key accepted): the receiving place is traded for one of
 *    `maxInFlight` slots (again at most `maxPerClient` per address), held while the image is fetched, queued and
 *    analysed.
 *
 * Refusals are 503 `busy` with Retry-After, answered before the body is read when they happen in stage 1. Every
 * place is given back once the answer is sent or the client goes away.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { RaypackError } from '../errors.ts';
import type { InferenceQueue } from '../pipeline/inference-queue.ts';
import { clientKey } from './client-address.ts';

export interface AdmissionLimits {
  /** Requests past their body and key: fetching, queued or being analysed. */
  readonly maxInFlight: number;
  /** Requests whose body is still arriving. */
  readonly maxReceiving: number;
  /** Per client address, in each of the two stages. */
  readonly maxPerClient: number;
}

export interface AdmissionStats {
  readonly receiving: number;
  readonly inFlight: number;
  readonly clients: number;
}

type Stage = 'receiving' | 'inFlight';

interface Ticket {
  readonly client: string;
  stage: Stage | undefined;
  /** The answer was sent or the client went away: nothing may be taken any more. */
  closed: boolean;
}

export class Admission {
  private readonly tickets = new WeakMap<IncomingMessage, Ticket>();
  private readonly perClient = new Map<string, Record<Stage, number>>();
  private readonly totals: Record<Stage, number> = { receiving: 0, inFlight: 0 };

  constructor(
    readonly limits: AdmissionLimits,
    private readonly queue: InferenceQueue,
  ) {}

  /** onRequest of the API routes. */
  readonly onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!this.queue.hasRoom()) {
      throw new RaypackError('busy', 'the inference queue is full, try again shortly', { retryAfterSeconds: 1 });
    }
    const ticket: Ticket = { client: clientKey(request.ip), stage: undefined, closed: false };
    this.take(ticket, 'receiving', this.limits.maxReceiving, 'too many uploads in progress');
    this.tickets.set(request.raw, ticket);
    // 'close' fires once whether the answer was sent or the client went away.
    reply.raw.once('close', () => {
      ticket.closed = true;
      this.release(ticket);
    });
  };

  /** The body has arrived and its key was accepted: trade the receiving place for an in-flight slot (503 when none is free). */
  admit(request: FastifyRequest): void {
    const ticket = this.tickets.get(request.raw);
    // No ticket (a request that came in without onRequest), already admitted, or already over (its 'close' has
    // fired: a slot taken now would never be given back).
    if (!ticket || ticket.stage === 'inFlight' || ticket.closed) return;
    this.release(ticket);
    this.take(ticket, 'inFlight', this.limits.maxInFlight, 'too many requests in progress');
  }

  stats(): AdmissionStats {
    return { receiving: this.totals.receiving, inFlight: this.totals.inFlight, clients: this.perClient.size };
  }

  private take(ticket: Ticket, stage: Stage, max: number, what: string): void {
    const counts = this.perClient.get(ticket.client) ?? { receiving: 0, inFlight: 0 };
    if (this.totals[stage] >= max) {
      throw new RaypackError('busy', `${what}, try again shortly`, { retryAfterSeconds: 1 });
    }
    if (counts[stage] >= this.limits.maxPerClient) {
      throw new RaypackError('busy', `${what} from this address, try again shortly`, { retryAfterSeconds: 1 });
    }
    counts[stage] += 1;
    this.totals[stage] += 1;
    this.perClient.set(ticket.client, counts);
    ticket.stage = stage;
  }

  private release(ticket: Ticket): void {
    const stage = ticket.stage;
    if (stage === undefined) return;
    ticket.stage = undefined;
    this.totals[stage] -= 1;
    const counts = this.perClient.get(ticket.client);
    if (!counts) return;
    counts[stage] -= 1;
    if (counts.receiving === 0 && counts.inFlight === 0) this.perClient.delete(ticket.client);
  }
}
