/**
 * Messages between the bench (parent) and the peer worker (a child process running tfjs on its WASM backend).
 * The peers live in their own process so that tfjs-wasm and onnxruntime-node never share a heap or thread pool,
 * and each side times its own work: IPC overhead is never part of a latency figure.
 */

/** The Node libraries users pick today, as they run them without tfjs-node (WASM backend). */
export type PeerId = 'face-api-ssd' | 'human-blazeface' | 'human-centernet';

export const PEERS: Readonly<Record<PeerId, { readonly task: 'face' | 'objects'; readonly label: string }>> = {
  'face-api-ssd': { task: 'face', label: 'face-api 1.7 SsdMobilenetv1 (tfjs-wasm)' },
  'human-blazeface': { task: 'face', label: 'Human 3.3 BlazeFace (tfjs-wasm)' },
  'human-centernet': { task: 'objects', label: 'Human 3.3 CenterNet (tfjs-wasm)' },
};

export type PeerRequest =
  | { readonly id: number; readonly op: 'load'; readonly peer: PeerId }
  | { readonly id: number; readonly op: 'run'; readonly peer: PeerId; readonly file: string }
  | { readonly id: number; readonly op: 'info' }
  | { readonly id: number; readonly op: 'exit' };

export interface PeerRun {
  /** JPEG bytes (already in memory) to packed RGB, with the same decoder as ours (sharp via decodeImage). */
  readonly decodeMs: number;
  /** RGB frame to detections: tensor creation, the library's detect call, tensor disposal. */
  readonly detectMs: number;
  readonly detections: number;
  readonly width: number;
  readonly height: number;
}

export interface PeerInfo {
  readonly tfjs: string;
  readonly faceApi: string;
  readonly human: string;
  readonly backend: string;
  readonly wasmThreads: number;
  readonly wasmSimd: boolean;
}

export type PeerResponse =
  | { readonly id: number; readonly ok: true; readonly result?: PeerRun | PeerInfo }
  | { readonly id: number; readonly ok: false; readonly error: string };
