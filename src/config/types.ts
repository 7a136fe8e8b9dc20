/**
 * TypeScript view of a validated configuration (defaults filled). Keys mirror the YAML (snake_case) so that a
 * key in an error message, the docs and the code are the same word. `schema.ts` is the source of truth; a test
 * checks that the defaults it produces satisfy these types' required fields.
 */
import type { Task } from '../detect/types.ts';
import type { FACE_MODES } from './schema.ts';
import type { ApiKeyEntry } from '../auth/api-keys.ts';

export type CameraFaceMode = (typeof FACE_MODES)[number];
export type Point = [number, number];

export interface CameraConfig {
  id: string;
  url?: string;
  url_env?: string;
  enabled: boolean;
  fps: number;
  width: number;
  height: number;
  fit: 'stretch' | 'pad';
  tasks: Task[];
  thresholds: Partial<Record<Task, number>>;
  facemode: CameraFaceMode;
  hex: string;
  privacy_masks: Point[][];
  allow_raw: boolean;
  loop: boolean;
  realtime?: boolean;
  rtsp_transport: 'tcp' | 'udp';
  stall_timeout_seconds?: number;
  connect_timeout_seconds?: number;
  input_args: string[];
  tracking: { labels: string[]; max_missed_seconds: number; update_seconds: number };
  zones: ZoneConfig[];
  lines: LineConfig[];
  counting: { hysteresis: number; rejoin_seconds: number; rejoin_distance: number; min_track_seconds: number; reset_time: string };
  /** Filled by the schema's defaults; absent only in hand-made configs (tests), meaning off. */
  hls?: HlsConfig;
  /** Track-event snapshots kept (0 = none); absent: none. */
  event_snapshots?: number;
}

/** A counting zone: a polygon in 0-1 frame coordinates. */
export interface ZoneConfig {
  name: string;
  points: Point[];
  labels?: string[];
}

/** A counting line from a to b (0-1 frame coordinates); `in` names the crossing counted as in. */
export interface LineConfig {
  name: string;
  a: Point;
  b: Point;
  in: 'left_to_right' | 'right_to_left';
  labels?: string[];
}


export interface HlsConfig {
  enabled: boolean;
  segment_seconds: number;
  segments: number;
  fps?: number;
  crf: number;
  max_kbps?: number;
}

export interface MqttConfig {
  url?: string;
  embedded: { host: string; port: number };
  username?: string;
  password_env: string;
  client_id?: string;
  protocol_version: 4 | 5;
  tls: { ca?: string; cert?: string; key?: string; reject_unauthorized: boolean };
  base_topic: string;
  qos: 0 | 1;
  heartbeat_seconds: number;
  keepalive_seconds: number;
  reconnect: { initial_seconds: number; max_seconds: number };
  offline_buffer: { max_messages: number; max_bytes: number };
}

export interface HttpConfig {
  enabled: boolean;
  host: string;
  port: number;
  mjpeg_fps: number;
  mjpeg_max_clients: number;
  require_key_for_cameras: boolean;
}

/** The `api` section (schema-api.ts); mapped to ApiDeps by api-options.ts. */
export interface ApiConfig {
  max_upload_bytes: number;
  max_form_bytes: number;
  max_pixels: number;
  max_image_side: number;
  decode_timeout_seconds: number;
  request_timeout_seconds: number;
  headers_timeout_seconds: number;
  keep_alive_timeout_seconds: number;
  connection_timeout_seconds: number;
  max_in_flight: number;
  max_receiving: number;
  max_per_client: number;
  min_body_bytes_per_second: number;
  body_window_seconds: number;
  video: { enabled: boolean; max_seconds: number; max_frames: number; max_pixels: number; max_processing_seconds: number; sample_fps: number; analysis_fps: number };
  trust_proxy: boolean | string[];
  auth_failures: { max_failures: number; max_distinct_keys?: number; window_seconds: number; trust_seconds: number };
  fetch: { allow: string[]; max_bytes?: number; timeout_seconds: number; max_redirects: number; ca_file?: string };
}

export interface ApiKeyConfig {
  env?: string;
  sha256?: string;
  name?: string;
  admin: boolean;
}

export interface Config {
  device: string;
  state_dir: string;
  log_level: 'debug' | 'info' | 'warn' | 'error';
  demo: boolean;
  stall_timeout_seconds: number;
  connect_timeout_seconds: number;
  restart_backoff: { initial_seconds: number; max_seconds: number };
  ffmpeg_path: string;
  mqtt: MqttConfig;
  http: HttpConfig;
  api: ApiConfig;
  license: string;
  api_keys: ApiKeyConfig[];
  models: { face: DetectorChoice; objects: DetectorChoice };
  privacy: PrivacyConfig;
  inference: { threads: number; concurrency: number; queue_size: number };
  publish: { min_iou: number; min_interval_seconds: number; lang: 'de' | 'en' };
  homeassistant: HomeAssistantConfig;
  metrics: MetricsConfig;
  deepstack: DeepstackConfig;
  cameras: CameraConfig[];
}

/** The `homeassistant` section (schema-integrations.ts). */
export interface HomeAssistantConfig {
  enabled: boolean;
  prefix: string;
  status_topic?: string;
  snapshot_interval_seconds: number;
}

/** The `metrics` section (schema-integrations.ts). */
export interface MetricsConfig {
  enabled: boolean;
  require_key: boolean;
}

/** The `deepstack` section (schema-integrations.ts). */
export interface DeepstackConfig {
  enabled: boolean;
  keyless_clients: string[];
}

/** config `privacy` (schema.ts has each key's meaning and default). */
export interface PrivacyConfig {
  threshold: number;
  tiles: 'auto' | number;
  zoom: number;
  max_tiles_per_side: number;
  overlap: number;
  models: string[];
  models_threshold: number;
  person_heads: boolean;
  person_threshold: number;
  pose_heads: boolean;
  head_cover: number;
  flip: boolean;
  border: number;
  tiles_per_frame: number;
  max_missed_seconds: number;
}

/** config `models.<task>`: unset keys keep the registry's defaults. */
export interface DetectorChoice {
  model?: string;
  variant?: 'fp32' | 'int8';
  tiles?: number;
}

/** Values taken from the environment at load time: never written to logs or echoed in errors. */
export interface Secrets {
  mqttPassword?: string;
  /** Configured keys as SHA-256 digests (keys from env are hashed at load; the plaintext is not kept). */
  apiKeys: ApiKeyEntry[];
  /** camera id -> URL read from its url_env */
  cameraUrls: Map<string, string>;
}

export interface LoadedConfig {
  readonly config: Config;
  readonly secrets: Secrets;
  /** Where the config came from (file path or `built-in defaults`), for the start log. */
  readonly source: string;
  /** Dotted paths of the keys the file or the command line gave (e.g. `http.port`), before defaults were filled. */
  readonly given: ReadonlySet<string>;
}
