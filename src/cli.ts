/**
 * The `raypack-edge` command: dispatches to one module per subcommand. `eval` and `bench` are development tools
 * that live in scripts/ (with the converter and the quantizer): the daemon never imports them, installed packages
 * leave them out, and a clone runs them as before.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const USAGE = `usage: raypack-edge <command> [options]

  raypack-edge --version

commands:
  detect     run a detector on image files or directories
  anonymize  hide the faces in a video file or a folder of photos
  eval       score the detectors on the labelled sets in ../shared/data
  start      run the daemon: cameras, MQTT, HTTP API
  bench      measure speed against the Node libraries users pick today
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  detect: async () => (await import('./commands/detect.ts')).detectCommand,
  anonymize: async () => (await import('./commands/anonymize.ts')).anonymizeCommand,
  eval: async () => (await import(tool('../scripts/eval/command.ts', 'eval'))).evalCommand as Command,
  start: async () => (await import('./commands/start.ts')).startCommand,
  bench: async () => (await import(tool('../scripts/bench/command.ts', 'bench'))).benchCommand as Command,
};

class MissingTool extends Error {}

/** The version in package.json (the one file every installation has next to src/). */
function version(): string {
  const file = fileURLToPath(new URL('../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** A development tool's module, or a clear message where it is not installed. */
function tool(relative: string, name: string): string {
  const url = new URL(relative, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    throw new MissingTool(`raypack-edge ${name} is a development tool and is not part of this installation: run it from a clone of the repository (npm ci, then npx raypack-edge ${name})\n`);
  }
  return url.href;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`raypack-edge ${version()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`raypack-edge: unknown command '${name}'\n${USAGE}`);
    return 2;
  }
  let command: Command;
  try {
    command = await load();
  } catch (error) {
    if (!(error instanceof MissingTool)) throw error;
    process.stderr.write(error.message);
    return 2;
  }
  return command(rest);
}
