/**
 * Soak: the real daemon (`raypack-edge start` in a child process) with a GStreamer RTSP camera, a camera that is
 * never there, its embedded MQTT broker and a subscriber that comes and goes, under a bounded run of mixed good
 * and bad API requests (scripts/soak/workload.ts) while the RTSP server is killed and frozen in turns. The
 * daemon's RSS is sampled every few seconds and its least-squares slope reported in MiB per hour, with the
 * duration and the CPU. Not part of the test run (test/soak/soak-smoke.test.ts runs it for half a minute).
 *
 *   npx tsx scripts/soak.ts [--seconds 600] [--concurrency 2] [--warmup 60] [--churn 60] [--out soak.json]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { freePort } from '../test/helpers/processes.ts';
import { RtspServer, rtspServerAvailable } from '../test/helpers/rtsp.ts';
import { cpuDescription, rssMiBOf, slopeMiBPerHour, type Sample } from './soak/stats.ts';
import { buildKinds, type Kind, type Target } from './soak/workload.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    concurrency: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '60' },
    churn: { type: 'string', default: '60' },
    sample: { type: 'string', default: '5' },
    out: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const warmupSeconds = Math.min(Number(values.warmup), seconds / 4);
const churnSeconds = Number(values.churn);
const sampleSeconds = Number(values.sample);
const KEY = 'soak-key-3b9d7f2a';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const stop = new AbortController();
/** A sleep the end of the run cuts short. */
const wait = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stop.signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.signal.addEventListener('abort', done, { once: true });
  });

if (!rtspServerAvailable()) {
  console.error('soak: needs GStreamer\'s RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0)');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'raypack-soak-'));
const rtsp = new RtspServer({ fps: 10, secondsEach: 2 });
await rtsp.start();
const deadPort = await freePort();
const config = join(dir, 'config.yaml');
writeFileSync(
  config,
  JSON.stringify({
    device: 'soak',
    state_dir: dir,
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { embedded: { host: '127.0.0.1', port: 0 }, heartbeat_seconds: 5 },
    api_keys: [{ env: 'SOAK_KEY', name: 'soak' }],
    cameras: [
      { id: 'door', url: rtsp.url, fps: 2, width: 640, height: 426, tasks: ['face'] },
      { id: 'hall', url: rtsp.url, fps: 1, width: 640, height: 426, tasks: ['face', 'objects'] },
      { id: 'gone', url: `rtsp://127.0.0.1:${deadPort}/never`, fps: 1, width: 320, height: 240, tasks: ['face'] },
    ],
  }),
);

const daemon = spawn(process.execPath, [join(import.meta.dirname, '../bin/raypack-edge.js'), 'start', '--config', config], {
  env: { ...process.env, SOAK_KEY: KEY },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const tail: string[] = [];
let ready: { http: string; mqtt: string } | undefined;
const onLine = (chunk: Buffer): void => {
  for (const line of chunk.toString().split('\n').filter(Boolean)) {
    tail.push(line);
    if (tail.length > 200) tail.shift();
    if (!ready && line.includes('"msg":"ready"')) ready = JSON.parse(line) as { http: string; mqtt: string };
  }
};
daemon.stdout!.on('data', onLine);
daemon.stderr!.on('data', onLine);
const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));

async function shutdown(): Promise<void> {
  if (daemon.exitCode === null) daemon.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (daemon.exitCode === null) daemon.kill('SIGKILL');
  await rtsp.kill();
  rmSync(dir, { recursive: true, force: true });
}

for (let waited = 0; !ready; waited += 100) {
  if (daemon.exitCode !== null || waited > 120_000) {
    console.error(`soak: the daemon did not get ready:\n${tail.join('\n')}`);
    await shutdown();
    process.exit(1);
  }
  await sleep(100);
}
const base = ready.http;
const target: Target = { base, port: Number(new URL(base).port), key: KEY, cameras: ['door', 'hall', 'gone'] };
const kinds = await buildKinds();
// The good key first: it is then known at 127.0.0.1 and keeps working once the bad keys put the address on a soft block.
await kinds[0].run(target);

const started = Date.now();
const elapsed = (): number => (Date.now() - started) / 1000;
const samples: Sample[] = [];
const counts = new Map<string, Map<number, number>>();
const unexpected: string[] = [];
const cpuAtStart = cpuTicks();

const sampler = setInterval(() => {
  try {
    samples.push({ t: elapsed(), rssMiB: rssMiBOf(daemon.pid!) });
  } catch {
    // the daemon is gone; the main loop notices
  }
}, sampleSeconds * 1000);
samples.push({ t: 0, rssMiB: rssMiBOf(daemon.pid!) });

function pick(): Kind {
  const total = kinds.reduce((s, k) => s + k.weight, 0);
  let r = Math.random() * total;
  for (const k of kinds) {
    r -= k.weight;
    if (r <= 0) return k;
  }
  return kinds[0];
}

async function worker(): Promise<void> {
  while (!stop.signal.aborted && daemon.exitCode === null) {
    const kind = pick();
    let status: number;
    try {
      status = await kind.run(target);
    } catch (error) {
      status = 0;
      unexpected.push(`${kind.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const byStatus = counts.get(kind.name) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    counts.set(kind.name, byStatus);
    if (!kind.expected.includes(status)) unexpected.push(`${kind.name}: ${status}`);
  }
}

/** Camera churn: the RTSP server killed for 15 s, then (next turn) frozen for 25 s, which the watchdog must catch. */
async function churn(): Promise<void> {
  let turn = 0;
  while (!stop.signal.aborted) {
    await wait(churnSeconds * 1000);
    if (stop.signal.aborted) break;
    if (turn++ % 2 === 0) {
      await rtsp.kill();
      await wait(15_000);
      await rtsp.start();
    } else {
      rtsp.pause();
      await wait(25_000);
      rtsp.resume();
    }
  }
}

/** An MQTT subscriber that comes and goes every 20 s. */
async function subscriber(): Promise<number> {
  let received = 0;
  while (!stop.signal.aborted) {
    const client = await mqtt.connectAsync(ready!.mqtt, { reconnectPeriod: 0 }).catch(() => undefined);
    client?.on('message', () => (received += 1));
    await client?.subscribeAsync('raypack/soak/#').catch(() => undefined);
    await wait(20_000);
    await client?.endAsync(true);
  }
  return received;
}

const churning = churn();
const subscribing = subscriber();
const workers = Array.from({ length: concurrency }, () => worker());
while (elapsed() < seconds && daemon.exitCode === null) await sleep(500);
stop.abort();
await Promise.all(workers);
clearInterval(sampler);
samples.push({ t: elapsed(), rssMiB: rssMiBOf(daemon.pid!) });
const cameras = (await (await fetch(`${base}/cameras`, { headers: { apikey: KEY } })).json()) as { cameras: Array<{ camera: string; restarts: number; stalls: number; frames: unknown }> };
const cpuSeconds = (cpuTicks() - cpuAtStart) / 100;
const duration = elapsed();
const [, messages] = await Promise.all([churning, subscribing]);
await shutdown();

const steady = samples.filter((s) => s.t >= warmupSeconds);
const secondHalf = samples.filter((s) => s.t >= duration / 2);
const rss = samples.map((s) => s.rssMiB);
const requests = [...counts.values()].reduce((s, m) => s + [...m.values()].reduce((a, b) => a + b, 0), 0);
const report = {
  durationSeconds: Math.round(duration),
  cpu: cpuDescription(),
  concurrency,
  requests,
  requestsPerSecond: Math.round((requests / duration) * 10) / 10,
  daemonCpuSeconds: Math.round(cpuSeconds),
  rssMiB: { start: round(rss[0]), end: round(rss.at(-1)!), min: round(Math.min(...rss)), max: round(Math.max(...rss)) },
  slopeMiBPerHour: {
    afterWarmup: round(slopeMiBPerHour(steady)),
    secondHalf: round(slopeMiBPerHour(secondHalf)),
    whole: round(slopeMiBPerHour(samples)),
  },
  warmupSeconds,
  samples: samples.length,
  byKind: Object.fromEntries([...counts].map(([k, m]) => [k, Object.fromEntries(m)])),
  unexpected: unexpected.slice(0, 50),
  unexpectedCount: unexpected.length,
  cameras: cameras.cameras.map((c) => ({ camera: c.camera, restarts: c.restarts, stalls: c.stalls, frames: c.frames })),
  mqttMessagesSeen: messages,
  daemonExit: daemon.exitCode,
};
console.log(JSON.stringify(report, null, 2));
if (values.out) writeFileSync(values.out, JSON.stringify({ ...report, rssSeries: samples }, null, 2));
process.exit(unexpected.length === 0 ? 0 : 1);

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** utime + stime of the daemon in clock ticks (1/100 s), from /proc/<pid>/stat; 0 once it is gone. */
function cpuTicks(): number {
  try {
    const stat = readFileSync(`/proc/${daemon.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
