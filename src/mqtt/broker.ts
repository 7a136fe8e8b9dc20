/**
 * The embedded broker (aedes over plain TCP) used when no broker URL is configured, so the daemon works out of the
 * box. It binds 127.0.0.1 by default: other machines reach it only when the config says 0.0.0.0.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { RaypackError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** Where results go when no broker URL is configured: our embedded broker, or the one already on its port. */
export interface LocalBroker {
  readonly url: string;
  /** Ours to stop; undefined when another broker was already listening and we publish to it. */
  readonly embedded?: EmbeddedBroker;
}

/**
 * Start the embedded broker. When its port is taken and the port was not chosen explicitly (a machine with
 * Debian's mosquitto running, say), publish to the broker already there if it accepts an anonymous connection,
 * otherwise run ours on a free port; either way the log says which. An explicitly chosen port that is taken stays
 * an error.
 */
export async function startLocalBroker(options: { host: string; port: number; portGiven: boolean; log: Logger }): Promise<LocalBroker> {
  const first = new EmbeddedBroker(options);
  try {
    await first.start();
    return { url: first.url, embedded: first };
  } catch (error) {
    if (!(error instanceof PortInUse) || options.portGiven) throw error;
  }
  const existing = `mqtt://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${options.port}`;
  if (await acceptsMqtt(existing)) {
    options.log.warn('port taken by another MQTT broker: publishing to it (set mqtt.url to choose a broker, or mqtt.embedded.port for ours)', { url: existing });
    return { url: existing };
  }
  const fallback = new EmbeddedBroker({ ...options, port: 0 });
  await fallback.start();
  options.log.warn('MQTT port taken by something that is not an MQTT broker accepting us: the embedded broker took a free port', { taken: options.port, url: fallback.url });
  return { url: fallback.url, embedded: fallback };
}

/** True when an MQTT CONNECT to `url` is answered with a CONNACK that accepts us within 2 s. */
async function acceptsMqtt(url: string): Promise<boolean> {
  const client = mqtt.connect(url, { connectTimeout: 2000, reconnectPeriod: 0, clientId: `raypack-edge-probe-${process.pid}` });
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 2500);
      client.once('connect', () => (clearTimeout(timer), resolve(true)));
      client.once('error', () => (clearTimeout(timer), resolve(false)));
      client.once('close', () => (clearTimeout(timer), resolve(false)));
    });
  } finally {
    client.end(true);
  }
}

class PortInUse extends RaypackError {}

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
        const Failure = error.code === 'EADDRINUSE' ? PortInUse : RaypackError;
        void broker.close();
        reject(new Failure('config_invalid', `the embedded MQTT broker cannot listen: ${hint}`));
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
