export async function startCommand(_argv: string[]): Promise<number> {
  process.stderr.write('raypack-edge start: not built yet\n');
  return 1;
}
