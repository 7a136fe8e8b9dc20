/** The Prometheus files in docs/INTEGRATIONS.md are valid: promtool checks the config and its rules as written there. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROMTOOL, promtoolAvailable } from '../helpers/prometheus.ts';

/** The ```yaml blocks of a Markdown file whose first line is `# <name>`, by name. */
function namedYamlBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of markdown.matchAll(/```yaml\n# (\S+)\n([\s\S]*?)```/g)) blocks.set(m[1], m[2]);
  return blocks;
}

describe.skipIf(!promtoolAvailable())('docs/INTEGRATIONS.md', () => {
  it('has a prometheus.yml and a rules file that promtool accepts', () => {
    const blocks = namedYamlBlocks(readFileSync('docs/INTEGRATIONS.md', 'utf8'));
    expect([...blocks.keys()].sort()).toEqual(['prometheus.yml', 'raypack-rules.yml']);
    const dir = mkdtempSync(join(tmpdir(), 'raypack-promtool-'));
    try {
      for (const [name, text] of blocks) writeFileSync(join(dir, name), text);
      const config = spawnSync(PROMTOOL, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8', cwd: dir });
      expect(`${config.stdout}${config.stderr}`).toContain('SUCCESS: 7 rules found');
      expect(config.status).toBe(0);
      // promtool is able to say no.
      writeFileSync(join(dir, 'raypack-rules.yml'), 'groups:\n  - name: x\n    rules:\n      - record: bad\n        expr: rate(x[5m]\n');
      expect(spawnSync(PROMTOOL, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8', cwd: dir }).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
