/** The `raypack-edge` command: dispatches to one module per subcommand. */
const USAGE = `usage: raypack-edge <command> [options]

commands:
  detect   run a detector on image files or directories
  eval     score the detectors on the labelled sets in ../shared/data
  start    run the daemon: cameras, MQTT, HTTP API
  bench    measure speed against the Node libraries users pick today
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  detect: async () => (await import('./commands/detect.ts')).detectCommand,
  eval: async () => (await import('./commands/eval.ts')).evalCommand,
  start: async () => (await import('./commands/start.ts')).startCommand,
  bench: async () => (await import('./commands/bench.ts')).benchCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`raypack-edge: unknown command '${name}'\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}
