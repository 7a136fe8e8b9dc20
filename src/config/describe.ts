/** The config reference (Markdown) generated from the schema, so the docs cannot drift from the code. */
import { CAMERA_SCHEMA, CONFIG_SCHEMA } from './schema.ts';

interface Node {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly properties?: Record<string, Node>;
  readonly items?: Node;
}

function rows(node: Node, prefix: string, out: string[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (child === (CAMERA_SCHEMA as unknown as Node)) {
      out.push(`| \`${path}[]\` | list | \`[]\` | ${child.description ?? ''} Each entry: see below. |`);
      continue;
    }
    const type = child.enum ? child.enum.map((v) => `\`${String(v)}\``).join(' \\| ') : (child.type ?? '');
    const def = child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``;
    if (child.type === 'object' && child.properties) {
      rows(child, path, out);
      continue;
    }
    out.push(`| \`${path}\` | ${type} | ${def} | ${(child.description ?? '').replace(/\|/g, '\\|')} |`);
  }
}

export function configReference(): string {
  const top: string[] = [];
  rows(CONFIG_SCHEMA as unknown as Node, '', top);
  const camera: string[] = [];
  rows(CAMERA_SCHEMA as unknown as Node, 'cameras[]', camera);
  const head = '| key | type | default | meaning |\n|---|---|---|---|';
  return `${head}\n${top.join('\n')}\n\nCamera entries:\n\n${head}\n${camera.join('\n')}\n`;
}
