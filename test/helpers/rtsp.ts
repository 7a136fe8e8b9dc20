/**
 * A real RTSP server for tests (GStreamer's RTSP server through /usr/bin/python3 + python3-gi), serving a looped
 * H.264 slideshow of the face-api sample photos on 127.0.0.1, or (`file`) an H.264 MP4 served as it is, from its
 * start for each client session (the live privacy eval's clip). Can be killed, restarted on the same port, paused.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoPhotos } from '../../src/camera/demo-video.ts';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'rtsp-server.py');

export function rtspServerAvailable(): boolean {
  const probe = spawnSync('/usr/bin/python3', ['-c', "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer"]);
  return probe.status === 0;
}

/** JPEG frames (one per sample photo) scaled to width x height, made once per process. */
export function slideshowFrames(width = 640, height = 426): { pattern: string; count: number } {
  const dir = join(tmpdir(), `raypack-rtsp-frames-${width}x${height}`);
  const photos = demoPhotos();
  if (!existsSync(join(dir, `frame${photos.length - 1}.jpg`))) {
    mkdirSync(dir, { recursive: true });
    photos.forEach((photo, i) => {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', photo, '-vf', `scale=${width}:${height}`, join(dir, `frame${i}.jpg`)]);
      if (r.status !== 0) throw new Error(`ffmpeg could not scale ${photo}: ${r.stderr}`);
    });
  }
  return { pattern: join(dir, 'frame%d.jpg'), count: photos.length };
}

export class RtspServer {
  private child: ChildProcess | undefined;
  port = 0;

  constructor(private readonly options: { width?: number; height?: number; fps?: number; secondsEach?: number; file?: string } = {}) {}

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/cam`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start (again, on the same port when it ran before). */
  async start(): Promise<void> {
    const args = [SCRIPT, '--port', String(this.port)];
    if (this.options.file) {
      args.push('--file', this.options.file);
    } else {
      const { pattern, count } = slideshowFrames(this.options.width, this.options.height);
      args.push('--frames', pattern, '--count', String(count));
      args.push('--fps', String(this.options.fps ?? 10), '--seconds-each', String(this.options.secondsEach ?? 1));
      args.push('--width', String(this.options.width ?? 640), '--height', String(this.options.height ?? 426));
    }
    const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    this.port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`RTSP server did not start: ${err}`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`RTSP server exited (${code}): ${err}`));
      });
    });
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
