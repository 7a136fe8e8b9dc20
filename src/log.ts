/**
 * Namespaced structured logs: one JSON object per line on stderr. Secrets never reach a logger: callers pass
 * URLs through `redactUrl` and never log keys.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let minimum: Level = (process.env.RAYPACK_LOG_LEVEL as Level | undefined) ?? 'info';
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: Level): void {
  minimum = level;
}

/** Replace where log lines go (tests). */
export function setLogSink(next: (line: string) => void): void {
  sink = next;
}

export interface Logger {
  readonly namespace: string;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(name: string): Logger;
}

export function logger(namespace: string): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[minimum]) return;
    sink(JSON.stringify({ time: new Date().toISOString(), level, ns: namespace, msg, ...fields }));
  };
  return {
    namespace,
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (name) => logger(`${namespace}:${name}`),
  };
}

/** Remove user:password from any URL inside a string (ffmpeg stderr, config echoes, errors). */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)(:[^/@\s]*)?@/gi, '$1***:***@');
}
