/**
 * Load, override, validate: YAML/JSON text → command-line overrides → JSON Schema (defaults filled, unknown keys
 * rejected) → checks the schema cannot express (unique ids, masks inside the frame, zones and lines, secrets present in the
 * environment, api allow-list entries). Every problem is collected and reported together, each with its path, in one RaypackError
 * `config_invalid`. Pure apart from reading the file; the environment is passed in.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { sha256Hex } from '../auth/api-keys.ts';
import { RaypackError } from '../errors.ts';
import { apiProblems } from './api-options.ts';
import { countingProblems } from './counting.ts';
import { listManifests } from '../detect/manifest.ts';
import { CAMERA_SCHEMA, CONFIG_SCHEMA } from './schema.ts';
import type { CameraConfig, Config, LoadedConfig, Secrets } from './types.ts';

/** Overrides from the `start` command line; each wins over the file. */
export interface ConfigOverrides {
  readonly cameras?: ReadonlyArray<{ id: string; url: string }>;
  readonly mqttUrl?: string;
  readonly httpPort?: number;
  readonly httpHost?: string;
  readonly mqttPort?: number;
  readonly device?: string;
}

export interface LoadOptions {
  /** Config file (YAML or JSON). Absent: built-in defaults, plus the demo camera when no camera is given. */
  readonly path?: string;
  /** Config text instead of a file (tests). */
  readonly text?: string;
  readonly overrides?: ConfigOverrides;
  readonly env?: NodeJS.ProcessEnv;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(CONFIG_SCHEMA);
const validateCamera = ajv.compile(CAMERA_SCHEMA);

/**
 * One camera completed by the schema as a configuration file's would be (every key not given takes its default),
 * for cameras the daemon makes itself (the demo camera). Throws config_invalid when `given` breaks the schema.
 */
export function cameraWithDefaults(given: Readonly<Record<string, unknown>> & { readonly id: string }): CameraConfig {
  const data = structuredClone(given) as Record<string, unknown>;
  if (!validateCamera(data)) throw invalid(`camera ${given.id}`, (validateCamera.errors ?? []).map(formatAjvError));
  return data as unknown as CameraConfig;
}

/** Hints for keys people are likely to try, each pointing at the supported way. */
const KEY_HINTS: Record<string, string> = {
  password: 'passwords are read from the environment variable named by mqtt.password_env',
  key: 'API keys are read from environment variables: api_keys: [{ env: NAME }]',
};

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  let raw: unknown = {};
  let source = 'built-in defaults';
  if (options.path !== undefined || options.text !== undefined) {
    let text: string;
    if (options.text !== undefined) {
      text = options.text;
      source = 'inline text';
    } else {
      source = options.path!;
      try {
        text = readFileSync(options.path!, 'utf8');
      } catch (error) {
        throw new RaypackError('config_invalid', `cannot read config file ${options.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (error) {
      throw new RaypackError('config_invalid', `${source} is not valid YAML/JSON: ${(error as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new RaypackError('config_invalid', `${source}: the top level must be a mapping of keys`);
    }
  }
  const data = applyOverrides(structuredClone(raw) as Record<string, unknown>, options.overrides ?? {});
  const noCameraGiven = !Array.isArray(data.cameras) || data.cameras.length === 0;
  if (options.path === undefined && options.text === undefined && noCameraGiven && data.demo === undefined) data.demo = true;

  const given = givenPaths(data);
  const problems: string[] = [];
  if (!validate(data)) problems.push(...(validate.errors ?? []).map(formatAjvError));
  if (problems.length > 0) throw invalid(source, problems);
  const config = data as unknown as Config;
  const secrets = readSecrets(config, env, problems);
  problems.push(...semanticProblems(config));
  if (problems.length > 0) throw invalid(source, problems);
  return { config, secrets, source, given };
}

/** The dotted paths of every key in `data` (objects only; arrays count as one value). */
function givenPaths(data: Record<string, unknown>, prefix = ''): Set<string> {
  const paths = new Set<string>();
  for (const [key, value] of Object.entries(data)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    paths.add(path);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const p of givenPaths(value as Record<string, unknown>, path)) paths.add(p);
  }
  return paths;
}

function invalid(source: string, problems: string[]): RaypackError {
  const unique = [...new Set(problems)];
  return new RaypackError('config_invalid', `invalid configuration (${source}):\n  - ${unique.join('\n  - ')}`, { problems: unique });
}

function applyOverrides(data: Record<string, unknown>, overrides: ConfigOverrides): Record<string, unknown> {
  if (overrides.device !== undefined) data.device = overrides.device;
  if (overrides.mqttUrl !== undefined) data.mqtt = { ...asObject(data.mqtt), url: overrides.mqttUrl };
  if (overrides.httpPort !== undefined) data.http = { ...asObject(data.http), port: overrides.httpPort };
  if (overrides.httpHost !== undefined) data.http = { ...asObject(data.http), host: overrides.httpHost };
  if (overrides.mqttPort !== undefined) {
    const mqtt = asObject(data.mqtt);
    data.mqtt = { ...mqtt, embedded: { ...asObject(mqtt.embedded), port: overrides.mqttPort } };
  }
  if (overrides.cameras && overrides.cameras.length > 0) {
    const cameras = Array.isArray(data.cameras) ? [...(data.cameras as unknown[])] : [];
    for (const { id, url } of overrides.cameras) {
      const index = cameras.findIndex((c) => asObject(c).id === id);
      if (index >= 0) {
        const { url_env: _dropped, ...rest } = asObject(cameras[index]);
        cameras[index] = { ...rest, url };
      } else {
        cameras.push({ id, url });
      }
    }
    data.cameras = cameras;
  }
  return data;
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** `/cameras/0/fps` → `cameras[0].fps`; the wording names the offending key or the allowed values. */
export function formatAjvError(error: ErrorObject): string {
  const path = pointerToPath(error.instancePath);
  const at = path === '' ? '(top level)' : path;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String((error.params as { additionalProperty: string }).additionalProperty);
      const full = path === '' ? key : `${path}.${key}`;
      const hint = KEY_HINTS[key] ? ` (${KEY_HINTS[key]})` : '';
      return `${full}: unknown key${hint}`;
    }
    case 'enum':
      return `${at}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `${at}: must be ${String((error.params as { type: string | string[] }).type).split(',').join(' or ')}`;
    case 'required':
      return `${at}: missing required key '${(error.params as { missingProperty: string }).missingProperty}'`;
    default:
      return `${at}: ${error.message ?? error.keyword}`;
  }
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
}

function readSecrets(config: Config, env: NodeJS.ProcessEnv, problems: string[]): Secrets {
  const secrets: Secrets = { apiKeys: [], cameraUrls: new Map() };
  const password = env[config.mqtt.password_env];
  if (password !== undefined && password !== '') secrets.mqttPassword = password;
  config.api_keys.forEach((entry, index) => {
    const name = entry.name ?? entry.env ?? `key-${index + 1}`;
    if ((entry.env === undefined) === (entry.sha256 === undefined)) {
      problems.push(`api_keys[${index}]: give exactly one of env or sha256`);
      return;
    }
    if (entry.sha256 !== undefined) {
      secrets.apiKeys.push({ sha256: entry.sha256.toLowerCase(), admin: entry.admin, name });
      return;
    }
    const key = env[entry.env!]?.trim();
    if (key === undefined || key === '') {
      problems.push(`api_keys[${index}].env: environment variable ${entry.env} is not set`);
      return;
    }
    if (key.length < 16) problems.push(`api_keys[${index}]: the key in ${entry.env} is shorter than 16 characters`);
    secrets.apiKeys.push({ sha256: sha256Hex(key), admin: entry.admin, name });
  });
  config.cameras.forEach((camera, index) => {
    if (camera.url_env === undefined) return;
    const url = env[camera.url_env];
    if (url === undefined || url === '') problems.push(`cameras[${index}].url_env: environment variable ${camera.url_env} is not set`);
    else secrets.cameraUrls.set(camera.id, url);
  });
  return secrets;
}

function semanticProblems(config: Config): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  config.cameras.forEach((camera, index) => {
    const at = `cameras[${index}]`;
    if (seen.has(camera.id)) problems.push(`${at}.id: duplicate camera id '${camera.id}'`);
    seen.add(camera.id);
    if (camera.id === 'demo' && config.demo) problems.push(`${at}.id: 'demo' is the id of the demo camera; pick another or set demo: false`);
    if ((camera.url === undefined) === (camera.url_env === undefined)) problems.push(`${at}: give exactly one of url or url_env`);
    if (camera.width % 2 !== 0 || camera.height % 2 !== 0) problems.push(`${at}: width and height must be even`);
    camera.privacy_masks.forEach((polygon, p) => {
      polygon.forEach(([x, y], q) => {
        if (x > camera.width || y > camera.height) {
          problems.push(`${at}.privacy_masks[${p}][${q}]: point [${x}, ${y}] lies outside the ${camera.width}x${camera.height} frame`);
        }
      });
    });
    problems.push(...countingProblems(camera, at));
  });
  if (config.restart_backoff.initial_seconds > config.restart_backoff.max_seconds) {
    problems.push('restart_backoff: initial_seconds is larger than max_seconds');
  }
  if (config.mqtt.reconnect.initial_seconds > config.mqtt.reconnect.max_seconds) problems.push('mqtt.reconnect: initial_seconds is larger than max_seconds');
  const tlsFiles = [config.mqtt.tls.ca, config.mqtt.tls.cert, config.mqtt.tls.key].some((f) => f !== undefined);
  if (tlsFiles && config.mqtt.url === undefined) problems.push('mqtt.tls: TLS files given but no mqtt.url (the embedded broker is plain TCP)');
  if ((config.mqtt.tls.cert === undefined) !== (config.mqtt.tls.key === undefined)) problems.push('mqtt.tls: cert and key go together');
  problems.push(...apiProblems(config.api));
  problems.push(...modelProblems(config));
  return problems;
}

/** models.<task>.model must name a manifest of that task (food runs the objects detector); privacy.models face ones. */
function modelProblems(config: Config): string[] {
  const chosen = (['face', 'objects'] as const).filter((task) => config.models[task].model !== undefined);
  if (chosen.length === 0 && config.privacy.models.length === 0) return [];
  const byId = new Map(listManifests().map((m) => [m.id, m.task === 'food' ? 'objects' : m.task]));
  const problems: string[] = [];
  const faceModels = [...byId].filter(([, t]) => t === 'face').map(([m]) => m).sort().join(', ');
  config.privacy.models.forEach((id, i) => {
    if (byId.get(id) !== 'face') problems.push(`privacy.models[${i}]: no face model '${id}' (face models: ${faceModels})`);
  });
  for (const task of chosen) {
    const id = config.models[task].model as string;
    const taskOfModel = byId.get(id);
    const known = [...byId].filter(([, t]) => t === task).map(([m]) => m).sort().join(', ');
    if (taskOfModel === undefined) problems.push(`models.${task}.model: no model '${id}' (${task} models: ${known})`);
    else if (taskOfModel !== task) problems.push(`models.${task}.model: '${id}' is a ${taskOfModel} model (${task} models: ${known})`);
  }
  return problems;
}

/** The URL ffmpeg reads for a camera: from the file/command line or from its environment variable. */
export function cameraUrl(loaded: LoadedConfig, id: string): string {
  const camera = loaded.config.cameras.find((c) => c.id === id);
  if (!camera) throw new RaypackError('not_found', `no camera '${id}'`);
  return camera.url ?? loaded.secrets.cameraUrls.get(id) ?? '';
}
