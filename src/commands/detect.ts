export async function detectCommand(_argv: string[]): Promise<number> {
  process.stderr.write('raypack-edge detect: not built yet\n');
  return 1;
}
