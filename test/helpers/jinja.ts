/**
 * Render Home Assistant value templates with real Jinja2 (Debian's python3-jinja2; HA's templates are Jinja2 with
 * `value` and `value_json` bound to the MQTT payload), so a template that HA could not render fails here too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';

export function jinjaAvailable(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import jinja2'], { encoding: 'utf8' }).status === 0;
}

const SCRIPT = `
import json, sys
import jinja2
env = jinja2.Environment(undefined=jinja2.StrictUndefined)
out = []
for job in json.load(sys.stdin):
    value = job["payload"]
    try:
        value_json = json.loads(value)
    except ValueError:
        value_json = None
    out.append(env.from_string(job["template"]).render(value=value, value_json=value_json).strip())
json.dump(out, sys.stdout)
`;

/** Each template rendered against its payload (the MQTT message text). */
export function renderTemplates(jobs: ReadonlyArray<{ template: string; payload: string }>): string[] {
  const result = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(jobs), encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`jinja2 failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}
