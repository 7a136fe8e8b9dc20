/** Parse `raypack-edge start` arguments into a config path plus overrides. Pure; errors are `bad_parameter`. */
import { RaypackError } from '../errors.ts';
import type { ConfigOverrides } from './load.ts';

export const START_USAGE = `usage: raypack-edge start [--config FILE] [--camera <id>=<url>]... [--mqtt <url>] [--mqtt-port N]
                         [--http-host ADDR] [--http-port N] [--device NAME]

  --config FILE        YAML or JSON config (default: $RAYPACK_CONFIG; none: built-in defaults)
  --camera ID=URL      add a camera (or replace the URL of a configured one); repeatable
  --mqtt URL           external broker, e.g. mqtt://host:1883 (default: embedded broker on 127.0.0.1:1883)
  --mqtt-port N        port of the embedded broker (default 1883; taken and not given: the broker already there
                       if it accepts us, else a free port, named in the log)
  --http-host ADDR     HTTP listen address (default 127.0.0.1: this machine only; 0.0.0.0: the network)
  --http-port N        HTTP port (default 8080; taken and not given: a free port, named in the log)
  --device NAME        device name used in MQTT topics

With no config and no --camera, a DEMO camera plays a looped video of sample photos. A config file runs the demo
camera only when it says demo: true.
Secrets come from the environment: RAYPACK_MQTT_PASSWORD, and the variables named in api_keys[].env.
`;

export interface StartArgs {
  readonly help: boolean;
  readonly configPath?: string;
  readonly overrides: ConfigOverrides;
}

export function parseStartArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): StartArgs {
  let configPath: string | undefined = env.RAYPACK_CONFIG || undefined;
  const cameras: Array<{ id: string; url: string }> = [];
  let mqttUrl: string | undefined;
  let httpPort: number | undefined;
  let httpHost: string | undefined;
  let mqttPort: number | undefined;
  let device: string | undefined;
  let help = false;

  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') && !arg.startsWith('--camera=') ? splitOnce(arg, '=') : [arg, undefined];
    const value = (): string => {
      if (arg.startsWith('--camera=')) return arg.slice('--camera='.length);
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new RaypackError('bad_parameter', `${flag} needs a value`);
      i += 1;
      return next;
    };
    switch (arg.startsWith('--camera=') ? '--camera' : flag) {
      case '--help':
      case '-h':
        help = true;
        break;
      case '--config':
        configPath = value();
        break;
      case '--camera': {
        const spec = value();
        const eq = spec.indexOf('=');
        if (eq <= 0 || eq === spec.length - 1) throw new RaypackError('bad_parameter', `--camera expects <id>=<url>, got '${spec.slice(0, 40)}'`);
        cameras.push({ id: spec.slice(0, eq), url: spec.slice(eq + 1) });
        break;
      }
      case '--mqtt':
        mqttUrl = value();
        break;
      case '--http-port':
        httpPort = portValue('--http-port', value());
        break;
      case '--mqtt-port':
        mqttPort = portValue('--mqtt-port', value());
        break;
      case '--http-host': {
        const host = value();
        if (!/^[0-9A-Za-z.:[\]-]+$/.test(host)) throw new RaypackError('bad_parameter', `--http-host expects an address such as 127.0.0.1 or 0.0.0.0, got '${host.slice(0, 40)}'`);
        httpHost = host;
        break;
      }
      case '--device':
        device = value();
        break;
      default:
        throw new RaypackError('bad_parameter', `unknown option '${arg}'`);
    }
  }
  return { help, configPath, overrides: { cameras, mqttUrl, mqttPort, httpHost, httpPort, device } };
}

function portValue(flag: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new RaypackError('bad_parameter', `${flag} expects a port number 0-65535, got '${text}'`);
  return port;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + 1)];
}
