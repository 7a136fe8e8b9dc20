/**
 * Cheap probes of a camera between ffmpeg restarts. Restarting ffmpeg costs a process, its probing of the stream
 * and seconds of CPU on a small device, so restarts back off (up to a minute); a probe costs one TCP connection
 * (and, for RTSP, one OPTIONS round trip, which any live RTSP server answers, with or without credentials: a 401
 * counts as alive). The supervisor probes only while the camera is believed down, and restarts ffmpeg as soon as
 * a probe sees it back, so a camera that returns after a long outage is streaming again within seconds.
 * Pure argument parsing plus one small socket function.
 */
import { connect } from 'node:net';

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  /** Send an RTSP OPTIONS and require an RTSP answer (a frozen server still accepts TCP connections). */
  readonly rtsp: boolean;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'rtsp:': 554, 'rtsps:': 322, 'rtmp:': 1935, 'http:': 80, 'https:': 443 };

/** The network input of an ffmpeg argument list (the URL after `-i`), or undefined for files, devices and lavfi. */
export function probeTargetFromArgs(args: readonly string[]): ProbeTarget | undefined {
  const at = args.indexOf('-i');
  if (at < 0 || at + 1 >= args.length) return undefined;
  let url: URL;
  try {
    url = new URL(args[at + 1]);
  } catch {
    return undefined;
  }
  const port = url.port !== '' ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (port === undefined || url.hostname === '') return undefined;
  // rtsps would need TLS first: a TCP connect is as far as a cheap probe goes there.
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, rtsp: url.protocol === 'rtsp:' };
}

/** True when the target answers within `timeoutMs`: a TCP connect, and for RTSP an `RTSP/1.0` answer to OPTIONS. */
export function probeReachable(target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    let done = false;
    let answer = '';
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    timer.unref();
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('connect', () => {
      if (!target.rtsp) return finish(true);
      // No credentials and no path: the request names only the server.
      const host = target.host.includes(':') ? `[${target.host}]` : target.host;
      socket.write(`OPTIONS rtsp://${host}:${target.port}/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: raypack-edge probe\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.length >= 9) finish(answer.startsWith('RTSP/1.0 '));
    });
  });
}
