/**
 * What a new user trips over, each as they meet it (issue "Green on every CPU"): the README's `npx raypack-edge
 * start` killed with SIGTERM (npm exec does not forward it) takes the daemon and its ffmpeg with it; the default
 * MQTT port taken by a real Mosquitto (the daemon publishes to it) or by something else (the embedded broker takes
 * a free port), the default HTTP port taken (a free port), each named in the log; a given port that is taken
 * stays an error (the port policy is tested on its functions with real sockets, so that the tests do not depend on
 * what runs on 1883 or 8080 here); HTTP says where it listens and defaults to this machine only; a config without `demo: true`
 * says that it runs no camera; `--version`. Real processes, real sockets, a real Mosquitto.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { listenHttp, reachableUrls } from '../../src/http/listen.ts';
import { logger } from '../../src/log.ts';
import { startLocalBroker } from '../../src/mqtt/broker.ts';
import { isNpm, launcherChain, parseStat, type ProcessInfo } from '../../src/os/launcher-watch.ts';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.ts';
import { childProcesses, commandLine, freePort, waitFor } from '../helpers/processes.ts';
import { makeTempDir } from '../helpers/rtsp.ts';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/raypack-edge.js');

interface Run {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

const runs: Run[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

function run(command: string, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const collect = (chunk: Buffer): void => void lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const r = { child, lines, exited };
  runs.push(r);
  return r;
}

const start = (args: string[], env: Record<string, string> = {}): Run => run(process.execPath, [BIN, 'start', ...args], env);

function logLine(lines: readonly string[], msg: string): Record<string, unknown> | undefined {
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.msg === msg) return entry;
  }
  return undefined;
}

/** Running (a zombie waiting for a parent that is gone, or for an init that does not reap, does not count). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A config with no cameras, everything on free ports, so tests do not depend on what else runs here. */
function quietConfig(extra = ''): string {
  const dir = makeTempDir('raypack-newuser-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `state_dir: ${dir}\nlog_level: info\n${extra}`);
  return file;
}

describe('launcher watch (pure parts)', () => {
  it('reads ppid and start time from /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    const stat = '4242 (npm exec (x) y) S 4100 4242 4100 0 -1 4194560 500 0 0 0 3 1 0 0 20 0 7 0 123456 1000000 5000';
    expect(parseStat(stat)).toEqual({ ppid: 4100, startTime: 123456 });
    expect(parseStat(`${process.pid} (node) R ${process.ppid}`)).toBeUndefined();
  });

  it('watches the chain up to npm, and nothing when npm is not an ancestor', () => {
    expect(isNpm('npm exec raypack-edge start')).toBe(true);
    expect(isNpm('node /usr/lib/node_modules/npm/bin/npm-cli.js start')).toBe(true);
    expect(isNpm('sh -c raypack-edge start')).toBe(false);
    expect(isNpm('node /opt/raypack-edge/bin/raypack-edge.js start')).toBe(false);
    const table = new Map<number, ProcessInfo>([
      [30, { pid: 30, ppid: 20, startTime: 3, command: "sh -c 'raypack-edge' start" }],
      [20, { pid: 20, ppid: 10, startTime: 2, command: 'npm exec raypack-edge start' }],
      [10, { pid: 10, ppid: 1, startTime: 1, command: '-bash' }],
      [40, { pid: 40, ppid: 10, startTime: 4, command: 'nohup' }],
    ]);
    expect(launcherChain(30, (pid) => table.get(pid)).map((p) => p.pid)).toEqual([30, 20]);
    expect(launcherChain(40, (pid) => table.get(pid))).toEqual([]);
  });
});

describe('npx raypack-edge start, then SIGTERM to npx', () => {
  it('stops the daemon and its ffmpeg within seconds (npm exec does not forward the signal)', async () => {
    const stateDir = makeTempDir('raypack-npx-');
    const config = join(stateDir, 'config.yaml');
    writeFileSync(config, `state_dir: ${stateDir}\ndemo: true\nmqtt: { embedded: { port: 0 } }\nhttp: { port: 0 }\n`);
    const npx = run('npx', ['--yes', 'raypack-edge', 'start', '--config', config]);
    // npx -> sh -c -> node (the daemon) -> ffmpeg (the demo camera). On a machine where npx has not linked the
    // package yet, it first runs the package's install script the same way (sh -c tsx scripts/build-models.ts):
    // the daemon is the node whose command line is the start command.
    const isDaemon = (pid: number) => / start( |$)/.test(commandLine(pid));
    const daemon = await waitFor(
      () => {
        for (const shell of childProcesses(npx.child.pid!, 'sh').live) {
          const node = childProcesses(shell, 'node').live.find(isDaemon);
          if (node) return node;
        }
        return childProcesses(npx.child.pid!, 'node').live.find(isDaemon);
      },
      60_000,
      'the daemon under npx',
    );
    const ffmpeg = await waitFor(() => childProcesses(daemon, 'ffmpeg').live[0], 60_000, 'the demo camera ffmpeg');
    npx.child.kill('SIGTERM');
    await npx.exited;
    await waitFor(() => !alive(daemon) && !alive(ffmpeg), 15_000, 'the daemon and ffmpeg to exit after npx did');
    expect(npx.lines.join('\n')).toContain('the process that started raypack-edge is gone: stopping');
  }, 120_000);
});

describe('ports a new machine may already use', () => {
  const log = logger('test:new-user');

  it.skipIf(!mosquittoAvailable())('MQTT port left at its default and taken by a real Mosquitto: publishes to it', async () => {
    const broker = new Mosquitto();
    await broker.start();
    try {
      const local = await startLocalBroker({ host: '127.0.0.1', port: broker.port, portGiven: false, log });
      expect(local.embedded).toBeUndefined();
      expect(local.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
      // Given explicitly, the taken port is refused with the reason.
      await expect(startLocalBroker({ host: '127.0.0.1', port: broker.port, portGiven: true, log })).rejects.toThrow(`127.0.0.1:${broker.port} is in use`);
    } finally {
      await broker.stop();
    }
  }, 60_000);

  it('MQTT and HTTP ports left at their defaults and taken by something else: free ports, named in the log', async () => {
    const taken = await freePort();
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(taken, '127.0.0.1', resolve));
    servers.push(server);
    const local = await startLocalBroker({ host: '127.0.0.1', port: taken, portGiven: false, log });
    try {
      expect(local.embedded).toBeDefined();
      expect(local.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(local.url).not.toBe(`mqtt://127.0.0.1:${taken}`);
      const client = await mqtt.connectAsync(local.url);
      await client.endAsync();
    } finally {
      await local.embedded?.stop();
    }
    const app = fastify();
    app.get('/ok', async () => 'ok');
    try {
      const port = await listenHttp(app, { host: '127.0.0.1', port: taken, portGiven: false, log });
      expect(port).not.toBe(taken);
      expect(await (await fetch(`http://127.0.0.1:${port}/ok`)).text()).toBe('ok');
    } finally {
      await app.close();
    }
    const strict = fastify();
    try {
      await expect(listenHttp(strict, { host: '127.0.0.1', port: taken, portGiven: true, log })).rejects.toThrow(`HTTP cannot listen on 127.0.0.1:${taken}`);
    } finally {
      await strict.close();
    }
  });

  it('lists the addresses a wildcard listen is reached at', () => {
    const interfaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4' }],
      eth0: [
        { address: '192.168.1.20', family: 'IPv4' },
        { address: 'fe80::1', family: 'IPv6' },
        { address: '2001:db8::20', family: 'IPv6' },
      ],
    } as unknown as ReturnType<typeof networkInterfaces>;
    expect(reachableUrls('0.0.0.0', 8080, interfaces)).toEqual(['http://127.0.0.1:8080', 'http://192.168.1.20:8080']);
    expect(reachableUrls('::', 8080, interfaces)).toEqual(['http://127.0.0.1:8080', 'http://192.168.1.20:8080', 'http://[2001:db8::20]:8080']);
    expect(reachableUrls('127.0.0.1', 8080, interfaces)).toEqual(['http://127.0.0.1:8080']);
  });

  it('the daemon says where HTTP listens (this machine only by default), and that a config without cameras or demo runs none', async () => {
    const daemon = start(['--config', quietConfig(), '--http-port', '0', '--mqtt-port', '0']);
    await waitFor(() => logLine(daemon.lines, 'ready'), 60_000, 'ready');
    const listening = logLine(daemon.lines, 'HTTP listening');
    expect(listening?.host).toBe('127.0.0.1');
    expect(listening?.reachableAt).toEqual([`http://127.0.0.1:${listening?.port}`]);
    expect((await fetch(`http://127.0.0.1:${listening?.port}/healthz`)).status).toBe(200);
    expect(logLine(daemon.lines, 'no cameras configured and the demo camera is off: only the HTTP API will analyse images')).toBeDefined();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 90_000);

  it('--http-host 0.0.0.0 listens on every interface and lists where it can be reached', async () => {
    const daemon = start(['--config', quietConfig(), '--http-host', '0.0.0.0', '--http-port', '0', '--mqtt-port', '0']);
    await waitFor(() => logLine(daemon.lines, 'ready'), 60_000, 'ready');
    const listening = logLine(daemon.lines, 'HTTP listening');
    expect(listening?.host).toBe('0.0.0.0');
    expect(listening?.reachableAt).toContain(`http://127.0.0.1:${listening?.port}`);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 90_000);
});

describe('raypack-edge --version', () => {
  it('prints the version from package.json', async () => {
    const r = run(process.execPath, [BIN, '--version']);
    expect(await r.exited).toBe(0);
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    expect(r.lines).toEqual([`raypack-edge ${version}`]);
  }, 30_000);
});
