/**
 * `raypack-edge start`: load the configuration (file, command line, environment), run the daemon until SIGTERM or
 * SIGINT, then stop everything in order (no ffmpeg left behind, `offline` published). A bad configuration is
 * reported with every problem and its path, exit code 2; so is a file it names that cannot be read at start.
 */
import { START_USAGE, parseStartArgs } from '../config/args.ts';
import { loadConfig } from '../config/load.ts';
import { Daemon } from '../daemon.ts';
import { isRaypackError } from '../errors.ts';
import { logger } from '../log.ts';
import { watchLauncher } from '../os/launcher-watch.ts';
import { SystemdNotifier } from '../os/systemd-notify.ts';

const log = logger('start');

export async function startCommand(argv: string[]): Promise<number> {
  let daemon: Daemon;
  let started: Daemon | undefined;
  // Under systemd (Type=notify): READY once started, watchdog pings from the event loop, STOPPING on shutdown.
  const notifier = SystemdNotifier.fromProcess(() => started?.statusText() ?? 'starting', logger('systemd'));
  try {
    const args = parseStartArgs(argv, process.env);
    if (args.help) {
      process.stdout.write(START_USAGE);
      return 0;
    }
    daemon = new Daemon(loadConfig({ path: args.configPath, overrides: args.overrides }));
    started = daemon;
  } catch (error) {
    if (isRaypackError(error)) {
      process.stderr.write(`raypack-edge start: ${error.message}\n`);
      if (error.code === 'bad_parameter') process.stderr.write(START_USAGE);
      return 2;
    }
    throw error;
  }

  let stopping: Promise<void> | undefined;
  let starting: Promise<unknown> = Promise.resolve();
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    log.info('signal received, shutting down', { signal });
    void notifier?.stopping();
    // A signal during start waits for start to finish, so nothing is created after stop() ran.
    stopping = starting.then(
      () => daemon.stop(),
      () => daemon.stop(),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // npx and npm start put npm between the terminal and us, and npm exec does not forward SIGTERM: stop with it.
  const unwatch = watchLauncher((why) => {
    log.warn('the process that started raypack-edge is gone: stopping', { why });
    stop('launcher-exit');
  });

  notifier?.start();
  if (notifier) log.info('systemd notify socket set', { watchdogMs: notifier.watchdogMs });
  try {
    starting = daemon.start();
    await starting;
    if (!stopping) await notifier?.ready();
  } catch (error) {
    void notifier?.stopping();
    await daemon.stop().catch(() => undefined);
    await notifier?.flush();
    // A file the configuration names but that cannot be used (the fetch CA) is a configuration error: exit 2 as for
    // a bad file.
    if (isRaypackError(error) && error.code === 'config_invalid') {
      process.stderr.write(`raypack-edge start: ${error.message}\n`);
      return 2;
    }
    log.error('could not start', { error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
  // Run until a signal has stopped everything.
  await new Promise<void>((resolve) => {
    const wait = setInterval(() => {
      if (stopping) {
        clearInterval(wait);
        unwatch();
        void stopping.then(() => notifier?.flush()).then(resolve, resolve);
      }
    }, 200);
  });
  // Everything we own is stopped; a library handle left open must not keep a stopped daemon alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  return 0;
}
