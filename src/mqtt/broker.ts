/**
 * The embedded broker (aedes over plain TCP) used when no broker URL is configured, so the daemon works out of the
 * box. It binds 127.0.0.1 by default: other machines reach it only when the config says 0.0.0.0.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { RaypackError } from '../errors.ts';
import type { Logger } from '../log.ts';

export class EmbeddedBroker {
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly log: Logger;
  private broker: Aedes | undefined;
  private server: Server | undefined;

  constructor(options: { host: string; port: number; log: Logger }) {
    this.host = options.host;
    this.requestedPort = options.port;
    this.log = options.log;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker({ drainTimeout: 10_000 });
    this.broker = broker;
    const server = createServer(broker.handle);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const hint =
          error.code === 'EADDRINUSE'
            ? `${this.host}:${this.requestedPort} is in use (another MQTT broker?): set mqtt.url to use that broker, or another mqtt.embedded.port`
            : error.message;
        reject(new RaypackError('config_invalid', `the embedded MQTT broker cannot listen: ${hint}`));
      });
      server.listen(this.requestedPort, this.host, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    this.log.info('embedded MQTT broker listening', { url: this.url });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.requestedPort;
  }

  get url(): string {
    const host = this.host === '0.0.0.0' ? '127.0.0.1' : this.host;
    return `mqtt://${host}:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
    this.broker = undefined;
  }
}
