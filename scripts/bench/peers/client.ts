/** The bench's side of the peer worker: forks it (through tsx, as the CLI runs) and sends one request at a time. */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RaypackError } from '../../../src/errors.ts';
import type { PeerId, PeerInfo, PeerRequest, PeerResponse, PeerRun } from './protocol.ts';

const require = createRequire(import.meta.url);
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

type Pending = { resolve: (response: PeerResponse) => void; reject: (error: Error) => void };
/** Distributes Omit over the request union, so each variant keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class PeerClient {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (message: PeerResponse) => {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    });
    // Keep only the end of the worker's stderr, to explain a crash.
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.pending.values()) {
        waiter.reject(new Error(`the peer worker exited (${signal ?? code}): ${this.stderrTail.trim().split('\n').slice(-5).join(' | ')}`));
      }
      this.pending.clear();
    });
  }

  static start(): PeerClient {
    const tsx = pathToFileURL(require.resolve('tsx/esm')).href;
    const child = fork(WORKER, [], { execArgv: ['--import', tsx], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    return new PeerClient(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private async request(body: WithoutId<PeerRequest>): Promise<PeerResponse & { ok: true }> {
    const id = this.nextId++;
    const response = await new Promise<PeerResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...body, id } as PeerRequest);
    });
    if (!response.ok) throw new RaypackError('internal', `peer worker: ${response.error}`);
    return response;
  }

  async load(peer: PeerId): Promise<void> {
    await this.request({ op: 'load', peer });
  }

  async run(peer: PeerId, file: string): Promise<PeerRun> {
    return (await this.request({ op: 'run', peer, file })).result as PeerRun;
  }

  async info(): Promise<PeerInfo> {
    return (await this.request({ op: 'info' })).result as PeerInfo;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await this.request({ op: 'exit' });
    } catch {
      // Already gone: nothing to close.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
