import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseStartArgs } from '../../src/config/args.ts';
import { configReference } from '../../src/config/describe.ts';
import { cameraUrl, cameraWithDefaults, loadConfig } from '../../src/config/load.ts';
import { DEMO_CAMERA } from '../../src/daemon.ts';
import { sha256Hex } from '../../src/auth/api-keys.ts';
import { isRaypackError, type RaypackError } from '../../src/errors.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(isRaypackError(error)).toBe(true);
    expect((error as RaypackError).code).toBe('config_invalid');
    return (error as RaypackError).details!.problems as string[];
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('fills every default from the schema, and config/default.yaml lists exactly those defaults', () => {
    const { config } = loadConfig({ text: '' });
    expect(config.http.port).toBe(8080);
    expect(config.mqtt.offline_buffer).toEqual({ max_messages: 1000, max_bytes: 1048576 });
    expect(config.mqtt.url).toBeUndefined();
    expect(config.demo).toBe(false);
    const fromFile = loadConfig({ path: 'config/default.yaml' }).config;
    expect(fromFile).toEqual(config);
    expect(parseYaml(readFileSync('config/default.yaml', 'utf8'))).toEqual(config);
  });

  it('turns the demo camera on only without a config file and without cameras', () => {
    expect(loadConfig({}).config.demo).toBe(true);
    expect(loadConfig({ overrides: { cameras: [{ id: 'a', url: 'rtsp://x/y' }] } }).config.demo).toBe(false);
    expect(loadConfig({ text: 'device: x' }).config.demo).toBe(false);
  });

  it('fills camera defaults', () => {
    const { config } = loadConfig({ text: 'cameras:\n  - id: door\n    url: rtsp://cam/1\n' });
    expect(config.cameras[0]).toMatchObject({
      id: 'door',
      fps: 5,
      width: 640,
      height: 360,
      tasks: ['face'],
      facemode: 'pixel',
      allow_raw: false,
      privacy_masks: [],
      rtsp_transport: 'tcp',
    });
  });

  it('completes a camera the daemon makes itself (the demo camera) exactly as a file\'s camera, and refuses a bad one', () => {
    const { config } = loadConfig({ text: 'cameras:\n  - id: demo\n    url: x\n    fps: 2\n    loop: true\n' });
    expect(cameraWithDefaults({ id: 'demo', url: 'x', fps: 2, loop: true })).toEqual(config.cameras[0]);
    expect(DEMO_CAMERA).toMatchObject({ id: 'demo', fps: 2, loop: true, tasks: ['face', 'objects'], hls: { enabled: false }, counting: { reset_time: '00:00' } });
    expect(() => cameraWithDefaults({ id: 'demo', fps: 0 })).toThrow(/fps/);
  });

  it('rejects unknown keys and reports every problem with its path', () => {
    const problems = problemsOf(() =>
      loadConfig({
        text: [
          'devcie: typo',
          'mqtt:',
          '  password: hunter2',
          '  qos: 2',
          'http: { port: 99999 }',
          'cameras:',
          '  - id: "bad id"',
          '    url: rtsp://x',
          '    fps: 0',
          '    tasks: [faces]',
          '    extra: 1',
          '  - url: rtsp://y',
        ].join('\n'),
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'devcie: unknown key',
        'mqtt.password: unknown key (passwords are read from the environment variable named by mqtt.password_env)',
        'mqtt.qos: must be one of 0, 1',
        'http.port: must be <= 65535',
        'cameras[0].id: must match pattern "^[A-Za-z0-9_-]{1,64}$"',
        'cameras[0].fps: must be > 0',
        'cameras[0].tasks[0]: must be one of "face", "objects", "food"',
        'cameras[0].extra: unknown key',
        "cameras[1]: missing required key 'id'",
      ]),
    );
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('checks what the schema cannot: duplicate ids, url xor url_env, masks inside the frame, backoff order', () => {
    const problems = problemsOf(() =>
      loadConfig({
        text: [
          'restart_backoff: { initial_seconds: 10, max_seconds: 5 }',
          'cameras:',
          '  - { id: a, url: rtsp://x, width: 320, height: 240, privacy_masks: [[[0,0],[400,0],[0,10]]] }',
          '  - { id: a, url: rtsp://y, url_env: CAM_URL }',
          '  - { id: b }',
        ].join('\n'),
        env: { CAM_URL: 'rtsp://z' },
      }),
    );
    expect(problems).toEqual([
      'cameras[0].privacy_masks[0][1]: point [400, 0] lies outside the 320x240 frame',
      "cameras[1].id: duplicate camera id 'a'",
      'cameras[1]: give exactly one of url or url_env',
      'cameras[2]: give exactly one of url or url_env',
      'restart_backoff: initial_seconds is larger than max_seconds',
    ]);
  });

  it('reads secrets from the environment and hashes API keys at once', () => {
    const loaded = loadConfig({
      text: [
        'api_keys:',
        '  - { env: ADMIN_KEY, admin: true, name: lead }',
        `  - { sha256: "${'ab'.repeat(32)}" }`,
        'cameras:',
        '  - { id: door, url_env: DOOR_URL }',
      ].join('\n'),
      env: { ADMIN_KEY: 'a-very-long-admin-key-1234', RAYPACK_MQTT_PASSWORD: 'pw', DOOR_URL: 'rtsp://u:p@cam/1' },
    });
    expect(loaded.secrets.mqttPassword).toBe('pw');
    expect(loaded.secrets.apiKeys).toEqual([
      { sha256: sha256Hex('a-very-long-admin-key-1234'), admin: true, name: 'lead' },
      { sha256: 'ab'.repeat(32), admin: false, name: 'key-2' },
    ]);
    expect(JSON.stringify(loaded.config)).not.toContain('a-very-long-admin-key');
    expect(cameraUrl(loaded, 'door')).toBe('rtsp://u:p@cam/1');
  });

  it('says which environment variable is missing', () => {
    const problems = problemsOf(() => loadConfig({ text: 'api_keys: [{ env: NOPE_KEY }]\ncameras: [{ id: c, url_env: NOPE_URL }]', env: {} }));
    expect(problems).toEqual(['api_keys[0].env: environment variable NOPE_KEY is not set', 'cameras[0].url_env: environment variable NOPE_URL is not set']);
  });

  it('reports unreadable and malformed files clearly', () => {
    expect(() => loadConfig({ path: '/nonexistent/raypack.yaml' })).toThrow(/cannot read config file \/nonexistent\/raypack.yaml: ENOENT/);
    expect(() => loadConfig({ text: 'cameras: [' })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ text: '- a\n- b' })).toThrow(/top level must be a mapping/);
  });

  it('applies command-line overrides over the file', () => {
    const { config } = loadConfig({
      text: 'device: file\ncameras: [{ id: door, url_env: DOOR }]\nhttp: { host: 127.0.0.1 }',
      env: {},
      overrides: { device: 'cli', mqttUrl: 'mqtt://b:1883', httpPort: 9000, cameras: [{ id: 'door', url: 'rtsp://new' }, { id: 'yard', url: 'file.mp4' }] },
    });
    expect(config.device).toBe('cli');
    expect(config.mqtt.url).toBe('mqtt://b:1883');
    expect(config.http).toMatchObject({ port: 9000, host: '127.0.0.1' });
    expect(config.cameras.map((c) => [c.id, c.url, c.url_env])).toEqual([
      ['door', 'rtsp://new', undefined],
      ['yard', 'file.mp4', undefined],
    ]);
  });

  it('accepts config/example.yaml with its environment', () => {
    const { config } = loadConfig({
      path: 'config/example.yaml',
      env: { RAYPACK_MQTT_PASSWORD: 'x', RAYPACK_KEY_ADMIN: 'k'.repeat(20), RAYPACK_CAM_DOOR_URL: 'rtsp://a:b@c/d' },
    });
    expect(config.cameras.map((c) => c.id)).toEqual(['door', 'counter']);
  });
});

describe('models (which detector each task runs)', () => {
  it('defaults to the registry defaults, and maps a choice to loadDetector options (food follows objects)', async () => {
    const { detectorOptions } = await import('../../src/daemon.ts');
    const { config } = loadConfig({ text: '' });
    expect(config.models).toEqual({ face: {}, objects: {} });
    expect(detectorOptions(config, 'face')).toEqual({ threads: undefined });
    const chosen = loadConfig({ text: 'models: { face: { variant: fp32, tiles: 2 }, objects: { model: centernet } }\ninference: { threads: 1 }' }).config;
    expect(detectorOptions(chosen, 'face')).toEqual({ threads: 1, variant: 'fp32', tiles: 2 });
    expect(detectorOptions(chosen, 'objects')).toEqual({ threads: 1, modelId: 'centernet' });
    expect(detectorOptions(chosen, 'food')).toEqual({ threads: 1, modelId: 'centernet' });
  });

  it('rejects an unknown model, a model of the other task, a bad variant and too many tiles, with paths', () => {
    const problems = problemsOf(() => loadConfig({ text: 'models: { face: { model: nanodet }, objects: { model: yolo9000 } }' }));
    expect(problems).toEqual([
      "models.face.model: 'nanodet' is a objects model (face models: blazeface-back, blazeface-front, facemesh-detection-full, facemesh-detection-short, ssd-mobilenetv1-face)",
      "models.objects.model: no model 'yolo9000' (objects models: centernet, nanodet)",
    ]);
    const schema = problemsOf(() => loadConfig({ text: 'models: { face: { variant: int4, tiles: 9, size: 3 } }' })).join('\n');
    expect(schema).toMatch(/models\.face\.variant/);
    expect(schema).toMatch(/models\.face\.tiles/);
    expect(schema).toMatch(/size/);
  });
});

describe('parseStartArgs', () => {
  it('parses every option, in both --flag value and --flag=value forms', () => {
    const args = parseStartArgs(['--config', 'c.yaml', '--camera', 'door=rtsp://u:p@h/s?a=b', '--camera=yard=/v.mp4', '--mqtt=mqtt://h', '--http-port', '0', '--device', 'dev1']);
    expect(args).toEqual({
      help: false,
      configPath: 'c.yaml',
      overrides: {
        cameras: [
          { id: 'door', url: 'rtsp://u:p@h/s?a=b' },
          { id: 'yard', url: '/v.mp4' },
        ],
        mqttUrl: 'mqtt://h',
        httpPort: 0,
        device: 'dev1',
      },
    });
    expect(parseStartArgs([], { RAYPACK_CONFIG: '/etc/raypack-edge/config.yaml' }).configPath).toBe('/etc/raypack-edge/config.yaml');
  });

  it('rejects bad options with a clear message', () => {
    expect(() => parseStartArgs(['--camera', 'nourl'])).toThrow(/--camera expects <id>=<url>/);
    expect(() => parseStartArgs(['--http-port', 'x'])).toThrow(/--http-port expects a port number/);
    expect(() => parseStartArgs(['--config'])).toThrow(/--config needs a value/);
    expect(() => parseStartArgs(['--verbose'])).toThrow(/unknown option '--verbose'/);
  });
});

describe('configReference', () => {
  it('documents every key, and docs/DAEMON.md carries the current reference', () => {
    const reference = configReference();
    for (const key of ['mqtt.offline_buffer.max_bytes', 'cameras[].privacy_masks', 'cameras[].allow_raw', 'http.mjpeg_fps', 'inference.queue_size']) {
      expect(reference).toContain(`\`${key}\``);
    }
    expect(readFileSync('docs/DAEMON.md', 'utf8')).toContain(reference);
  });
});
