/**
 * A strict reader of the Prometheus text exposition format 0.0.4 (what /metrics answers): every line must be a
 * HELP, a TYPE or a sample of a declared family, label values properly quoted, values numbers; it throws on the
 * first line that is not. Returns the samples for assertions. `promtool check metrics` is the second opinion.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface Exposition {
  readonly types: Map<string, string>;
  readonly samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;
const SUFFIXES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'], counter: [''], gauge: [''], untyped: [''] };

/** Values as Go's strconv.ParseFloat reads them (Prometheus does): NaN and Inf in any case (prom-client writes Nan). */
function parseValue(text: string, line: number): number {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const value = Number(text);
  if (!Number.isFinite(value) || !/^-?[0-9.eE+-]+$/.test(text)) throw new Error(`line ${line}: value '${text}' is not a number`);
  return value;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const n = index + 1;
    if (line.startsWith('# HELP ')) {
      if (!new RegExp(`^# HELP ${NAME} .*$`).test(line)) throw new Error(`line ${n}: bad HELP`);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      if (!m) throw new Error(`line ${n}: bad TYPE '${line}'`);
      if (types.has(m[1])) throw new Error(`line ${n}: ${m[1]} declared twice`);
      types.set(m[1], m[2]);
      return;
    }
    if (line === '') return; // the format allows empty lines (prom-client puts one between families)
    if (line.startsWith('#') || line.trim() === '') throw new Error(`line ${n}: unexpected '${line}'`);
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${n}: not a sample: '${line}'`);
    const [, name, labelText = '', valueText] = m;
    const family = [...types.keys()].find((f) => (SUFFIXES[types.get(f)!] ?? ['']).some((s) => name === f + s));
    if (!family) throw new Error(`line ${n}: ${name} has no TYPE`);
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest.length > 0) {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`line ${n}: bad labels '${labelText}'`);
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    samples.push({ name, labels, value: parseValue(valueText, n) });
  });
  return { types, samples };
}

export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  return e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

export const PROMTOOL = '/usr/bin/promtool';

export function promtoolAvailable(): boolean {
  return existsSync(PROMTOOL);
}

/** `promtool check metrics` on the text: exit status and what it printed. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
