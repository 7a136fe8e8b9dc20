/**
 * The whole daemon in-process with its DEMO camera (ffmpeg looping the face-api sample photos, the real ONNX
 * detectors), HTTP and MQTT on free loopback ports: what a new user runs with `npm start`, for the integration
 * tests (dashboard, metrics, Home Assistant). The demo video is made once per machine in a shared state dir.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon, type DaemonEndpoints } from '../../src/daemon.ts';
import { waitFor } from './processes.ts';

export const DEMO_USER_KEY = 'demo-user-key-0123456789';
export const DEMO_ADMIN_KEY = 'demo-admin-key-0123456789';

export interface DemoDaemon {
  readonly daemon: Daemon;
  readonly endpoints: DaemonEndpoints;
  readonly http: string;
}

export async function startDemoDaemon(config: Record<string, unknown> = {}, options: { demo?: boolean } = {}): Promise<DemoDaemon> {
  const loaded = loadConfig({
    text: JSON.stringify({
      device: 'testdev',
      demo: options.demo ?? true,
      state_dir: join(tmpdir(), 'raypack-edge-test-demo'),
      inference: { threads: 1 },
      mqtt: { embedded: { host: '127.0.0.1', port: 0 }, heartbeat_seconds: 5 },
      http: { host: '127.0.0.1', port: 0, mjpeg_fps: 5 },
      api_keys: [
        { env: 'DEMO_USER_KEY', name: 'user' },
        { env: 'DEMO_ADMIN_KEY', name: 'admin', admin: true },
      ],
      ...config,
    }),
    env: { DEMO_USER_KEY, DEMO_ADMIN_KEY },
  });
  const daemon = new Daemon(loaded);
  const endpoints = await daemon.start();
  return { daemon, endpoints, http: endpoints.httpUrl! };
}

/** Until the demo camera has analysed a frame with at least one face. */
export async function waitForDemoFaces(d: DemoDaemon, timeoutMs = 90_000): Promise<void> {
  await waitFor(() => (d.daemon.camera('demo')?.latestResult()?.faces.length ?? 0) > 0, timeoutMs, 'the demo camera to analyse a frame with faces');
}
