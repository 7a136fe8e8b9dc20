/** Deployment files: the systemd unit passes `systemd-analyze verify` and keeps its hardening; install.sh's steps. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { makeTempDir } from '../helpers/rtsp.ts';

const ROOT = join(import.meta.dirname, '../..');
const UNIT = join(ROOT, 'systemd/raypack-edge.service');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('systemd/raypack-edge.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  const active = text.split('\n').filter((l) => !l.startsWith('#'));

  it.skipIf(!hasAnalyze)('passes systemd-analyze verify without a single warning', () => {
    const dir = makeTempDir('raypack-unit-');
    const copy = join(dir, 'raypack-edge.service');
    copyFileSync(UNIT, copy);
    const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    // verify exits 0 even for unknown keys; it warns about them on stderr.
    expect(result.stderr.split('\n').filter((l) => l.includes('raypack-edge.service'))).toEqual([]);
  });

  it('is hardened the way a V8 daemon tolerates', () => {
    for (const line of ['ProtectSystem=strict', 'StateDirectory=raypack-edge', 'DynamicUser=yes', 'Restart=on-failure', 'NoNewPrivileges=yes', 'PrivateTmp=yes']) {
      expect(active).toContain(line);
    }
    expect(active.some((l) => l.startsWith('MemoryDenyWriteExecute'))).toBe(false);
    // Type=notify with a watchdog (src/os/systemd-notify.ts; its messages come from systemd-notify, a child).
    for (const line of ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=30']) expect(active).toContain(line);
    expect(active.find((l) => l.startsWith('ExecStart='))).toContain('start --config /etc/raypack-edge/config.yaml');
  });
});

describe('scripts/install.sh', () => {
  it('shows its steps in a dry run and writes a starter config that loads', () => {
    const result = spawnSync('bash', [join(ROOT, 'scripts/install.sh'), '--dry-run', '--no-service', '--prefix', '/tmp/raypack-dry'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('apt-get install -y --no-install-recommends ffmpeg');
    expect(result.stdout).toContain("npm ci --no-audit --no-fund");
    expect(result.stdout).toContain('no service installed');
    expect(existsSync('/tmp/raypack-dry')).toBe(false);
    const starter = readFileSync(join(ROOT, 'config/default.yaml'), 'utf8').replace(/^demo: false /m, 'demo: true  ');
    expect(loadConfig({ text: starter }).config.demo).toBe(true);
    const bad = spawnSync('bash', [join(ROOT, 'scripts/install.sh'), '--bogus'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown option '--bogus'");
  });
});
