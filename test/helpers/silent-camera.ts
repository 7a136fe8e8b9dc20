import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A "camera" on 127.0.0.1 that accepts TCP and then never says a word: what the watchdog must catch. */
export class SilentCamera {
  private readonly sockets: Socket[] = [];
  private readonly server: Server = createServer((s) => this.sockets.push(s));

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
