/** A real Mosquitto broker for tests, bound to 127.0.0.1 on a chosen port; stoppable and restartable on that port. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './processes.ts';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO);
}

export interface MosquittoOptions {
  /** TLS listener with these PEM files (server cert for 127.0.0.1/localhost). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Require this user and password (a mosquitto_passwd file is written). */
  readonly user?: { readonly name: string; readonly password: string };
}

export class Mosquitto {
  private child: ChildProcess | undefined;
  port = 0;

  constructor(private readonly options: MosquittoOptions = {}) {}

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'raypack-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    const lines = [`listener ${this.port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error'];
    if (this.options.tls) lines.push(`certfile ${this.options.tls.cert}`, `keyfile ${this.options.tls.key}`);
    if (this.options.user) {
      const passwords = join(dir, 'passwords');
      writeFileSync(passwords, '');
      const made = spawnSync('mosquitto_passwd', ['-b', passwords, this.options.user.name, this.options.user.password]);
      if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
      lines.push('allow_anonymous false', `password_file ${passwords}`);
    } else {
      lines.push('allow_anonymous true');
    }
    writeFileSync(conf, lines.join('\n') + '\n');
    // Mosquitto started as root drops to its own user: it must be able to read what we wrote.
    chmodSync(dir, 0o755);
    for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor(() => canConnect(this.port) || (child.exitCode !== null ? 'exited' : false), 10_000, `mosquitto on port ${this.port}`);
    } catch (error) {
      throw new Error(`${(error as Error).message}: ${stderr}`);
    }
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A throw-away CA and a server certificate for 127.0.0.1 / localhost, made with openssl. */
export function makeTestCertificates(): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'raypack-tls-'));
  const f = (name: string): string => join(dir, name);
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=raypack test CA', '-keyout', f('ca.key'), '-out', f('ca.pem')]);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr')]);
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.pem')]);
  chmodSync(dir, 0o755);
  for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}
