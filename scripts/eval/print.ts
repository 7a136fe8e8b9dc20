/** How the privacy evals (photos, live, videos) hand over their figures: the machine, a table, and JSON to a file or stdout. */
import { writeFileSync } from 'node:fs';
import { machineInfo, machineLine } from '../bench/machine.ts';

export function printReport(table: string, body: Record<string, unknown>, jsonFile: string | undefined): void {
  process.stdout.write(`${machineLine(machineInfo())}\n`);
  process.stdout.write(table);
  const json = `${JSON.stringify({ machine: machineInfo(), ...body }, null, 2)}\n`;
  if (jsonFile) {
    writeFileSync(jsonFile, json);
    process.stdout.write(`\nJSON written to ${jsonFile}\n`);
  } else {
    process.stdout.write(`\n${json}`);
  }
}
