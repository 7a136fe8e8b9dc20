export async function benchCommand(_argv: string[]): Promise<number> {
  process.stderr.write('raypack-edge bench: not built yet\n');
  return 1;
}
