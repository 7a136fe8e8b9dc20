export async function evalCommand(_argv: string[]): Promise<number> {
  process.stderr.write('raypack-edge eval: not built yet\n');
  return 1;
}
