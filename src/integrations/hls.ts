/**
 * Anonymised HLS as an extension: one HlsWriter for each camera whose `hls.enabled` is set, fed from the camera's
 * analysed results. Started after the cameras, stopped before them (their temp folders removed).
 */
import type { Camera } from '../camera/camera.ts';
import { HlsWriter } from '../camera/hls.ts';
import type { Logger } from '../log.ts';
import type { Extension } from './extension.ts';

export interface HlsStreamsDeps {
  readonly cameras: () => ReadonlyMap<string, Camera>;
  readonly ffmpegPath: string;
  readonly logger: (name: string) => Logger;
}

export class HlsStreams implements Extension {
  private readonly deps: HlsStreamsDeps;
  private readonly writers = new Map<string, HlsWriter>();

  constructor(deps: HlsStreamsDeps) {
    this.deps = deps;
  }

  /** True when some camera has HLS on (the daemon adds the extension only then). */
  static wanted(cameras: Iterable<{ hls?: { enabled: boolean } }>): boolean {
    return [...cameras].some((c) => c.hls?.enabled === true);
  }

  start(): void {
    for (const camera of this.deps.cameras().values()) {
      const hls = camera.config.hls;
      if (!hls?.enabled) continue;
      const writer = new HlsWriter({
        camera: camera.id,
        width: camera.config.width,
        height: camera.config.height,
        facemode: camera.config.facemode,
        hex: camera.config.hex,
        config: hls,
        cameraFps: camera.config.fps,
        onResult: (listener) => camera.onResult(listener),
        ffmpegPath: this.deps.ffmpegPath,
        log: this.deps.logger(`hls:${camera.id}`),
      });
      writer.start();
      this.writers.set(camera.id, writer);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.writers.values()].map((w) => w.stop()));
    this.writers.clear();
  }

  writer(camera: string): HlsWriter | undefined {
    return this.writers.get(camera);
  }

  /** ffmpeg pids of the encoders (tests check none survive stop()). */
  pids(): number[] {
    return [...this.writers.values()].map((w) => w.pid).filter((p): p is number => p !== undefined);
  }
}
