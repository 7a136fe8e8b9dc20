/**
 * `npm run package` for amd64, as a user gets it: the .deb is built (xz level 0 to keep CI quick), checked with
 * dpkg-deb and lintian (only the tags docs/INSTALL-DEB.md accepts), unpacked with dpkg-deb -x into a throwaway root,
 * and run from there with no build step: `raypack-edge detect` finds the faces on a photo, and `raypack-edge start`
 * with the packaged configuration (demo camera) answers /healthz. Nothing of the clone is on the unpacked tree's
 * module path (it sits in /tmp), so a dependency missing from the package fails here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHES, MAX_INSTALLED_MIB, buildPackages, elfFiles, type Built } from '../../scripts/package.ts';
import { freePort, sleep, waitFor } from '../helpers/processes.ts';
import { makeTempDir } from '../helpers/rtsp.ts';
import { runCommand } from '../helpers/run-command.ts';

const has = (cmd: string, arg = '--version'): boolean => spawnSync(cmd, [arg]).status === 0;
const APP = 'usr/lib/raypack-edge';

/** lintian tags the package has on purpose, and why: docs/INSTALL-DEB.md lists them. */
export const ACCEPTED_LINTIAN_TAGS = new Set([
  'embedded-library', // libvips (sharp) and ONNX Runtime are npm's prebuilt binaries, linked as their authors ship them
  'statically-linked-binary', // esbuild (tsx compiles our TypeScript with it) is a static Go program
  'unstripped-binary-or-object', // onnxruntime_binding.node ships unstripped in the npm package; left as published
  'script-not-executable', // entry files of npm packages with a #! line that we import rather than run
  'non-standard-file-perm', // /etc/raypack-edge/env holds secrets: 0640
  'no-manual-page', // `raypack-edge --help` and the docs instead
  'initial-upload-closes-no-bugs', // not uploaded to Debian
]);

describe.skipIf(!has('dpkg-deb') || !has('file', '-v'))('the amd64 .deb', () => {
  const out = makeTempDir('raypack-deb-');
  const root = join(out, 'root');
  let built: Built;

  beforeAll(async () => {
    const started = Date.now();
    [built] = await buildPackages({ arches: [ARCHES.amd64], out, fast: true, extra: false });
    console.info(`deb: built ${built.file.slice(out.length + 1)} in ${((Date.now() - started) / 1000).toFixed(1)} s, ${(built.installedKiB / 1024).toFixed(1)} MiB installed`);
    expect(spawnSync('dpkg-deb', ['-x', built.file, root]).status).toBe(0);
  }, 400_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('says what it needs and stays under the size limit', () => {
    const field = (name: string): string => spawnSync('dpkg-deb', ['-f', built.file, name], { encoding: 'utf8' }).stdout.trim();
    expect(field('Package')).toBe('raypack-edge');
    expect(field('Architecture')).toBe('amd64');
    expect(field('Depends')).toBe('nodejs (>= 20), ffmpeg, libc6 (>= 2.28)');
    expect(Number(field('Installed-Size'))).toBeLessThan(MAX_INSTALLED_MIB * 1024);
    const control = spawnSync('dpkg-deb', ['-I', built.file, 'conffiles'], { encoding: 'utf8' }).stdout;
    expect(control.split('\n').filter(Boolean)).toEqual(['/etc/raypack-edge/config.yaml', '/etc/raypack-edge/env']);
    const postinst = spawnSync('dpkg-deb', ['-I', built.file, 'postinst'], { encoding: 'utf8' }).stdout;
    expect(postinst).toContain('deb-systemd-helper enable');
    // Enabled, never started on install: the only start-like call is a try-restart on upgrade ($2 set).
    const commands = postinst.split('\n').filter((l) => !l.trim().startsWith('echo') && !l.trim().startsWith('#'));
    expect(commands.filter((l) => /systemctl (--system )?(start|restart)|deb-systemd-invoke (start|restart)/.test(l))).toEqual([]);
  });

  it('holds the daemon and its runtime models, not the tools or the converter', () => {
    const files = spawnSync('dpkg-deb', ['-c', built.file], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
    for (const path of ['scripts/', 'src/bench', 'src/eval', 'node_modules/@vladmandic', 'node_modules/onnx-proto', 'node_modules/@tensorflow', 'node_modules/vitest', 'node_modules/typescript/', 'node_modules/@esbuild/linux-arm64']) {
      expect(files.split('\n').filter((l) => l.includes(`./${APP}/${path}`)), path).toEqual([]);
    }
    expect(files).toContain(`./${APP}/src/daemon.ts`);
    for (const model of ['ssd-mobilenetv1-face.int8', 'nanodet.int8', 'blazeface-back', 'movenet-multipose']) {
      expect(existsSync(join(root, APP, 'models/build', `${model}.onnx`)), model).toBe(true);
    }
    expect(readdirSync(join(root, APP, 'node_modules/onnxruntime-node/bin/napi-v6'))).toEqual(['linux']);
    expect(readdirSync(join(root, APP, 'node_modules/onnxruntime-node/bin/napi-v6/linux'))).toEqual(['x64']);
    const elves = elfFiles(join(root, APP));
    expect(elves.length).toBeGreaterThan(3);
    for (const elf of elves) expect(elf.description, elf.path).toContain('x86-64');
    const unit = readFileSync(join(root, 'lib/systemd/system/raypack-edge.service'), 'utf8');
    expect(unit).toContain(`ExecStart=/usr/bin/env node /${APP}/bin/raypack-edge.js start --config /etc/raypack-edge/config.yaml`);
    expect(unit).toContain('Environment=ORT_DISABLE_TELEMETRY=1');
    expect(unit).not.toContain('/opt/');
    expect(readFileSync(join(root, 'etc/raypack-edge/config.yaml'), 'utf8')).toMatch(/^demo: true/m);
  });

  it.skipIf(!has('systemd-analyze'))('installs a unit that passes systemd-analyze verify', () => {
    const dir = makeTempDir('raypack-deb-unit-');
    copyFileSync(join(root, 'lib/systemd/system/raypack-edge.service'), join(dir, 'raypack-edge.service'));
    const result = spawnSync('systemd-analyze', ['verify', join(dir, 'raypack-edge.service')], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    expect(result.status).toBe(0);
    expect(result.stderr.split('\n').filter((l) => l.includes('raypack-edge.service'))).toEqual([]);
  });

  it.skipIf(!has('lintian'))('has no lintian tag but the accepted ones', async () => {
    const result = await runCommand('lintian', ['--tag-display-limit', '0', built.file]);
    const tags = result.stdout.split('\n').filter((l) => /^[EWX]: /.test(l)).map((l) => l.split(' ')[2]);
    expect(tags.length).toBeGreaterThan(0);
    expect([...new Set(tags.filter((t) => !ACCEPTED_LINTIAN_TAGS.has(t)))]).toEqual([]);
  }, 300_000);

  it.skipIf(!has('dpkg') || !existsSync('/usr/bin/deb-systemd-helper') || !has('systemctl'))('installs into a throwaway root with dpkg: enabled, not started; an admin\'s disable survives an upgrade; purge removes it', async () => {
    // dpkg --root with --force-script-chrootless runs the real maintainer scripts with DPKG_ROOT set, so that
    // deb-systemd-helper writes under the throwaway root; --force-depends: that root has no nodejs or ffmpeg.
    const target = join(out, 'dpkg-root');
    mkdirSync(join(target, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(join(target, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(join(target, 'var/lib/dpkg/status'), '');
    const hostWants = '/etc/systemd/system/multi-user.target.wants/raypack-edge.service';
    const hostBefore = existsSync(hostWants);
    const dpkg = (...args: string[]) =>
      runCommand('dpkg', [`--root=${target}`, `--admindir=${join(target, 'var/lib/dpkg')}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args], { timeout: 120_000 });
    const wants = join(target, 'etc/systemd/system/multi-user.target.wants/raypack-edge.service');

    const install = await dpkg('-i', built.file);
    expect(install.status, install.stderr).toBe(0);
    expect(install.stdout).toContain('enabled, not started');
    expect(readlinkSync(wants)).toBe('/lib/systemd/system/raypack-edge.service');
    expect(statSync(join(target, 'etc/raypack-edge/env')).mode & 0o777).toBe(0o640);
    expect(existsSync(join(target, APP, 'models/build/movenet-multipose.onnx'))).toBe(true);
    expect(existsSync(hostWants)).toBe(hostBefore);

    // The admin disables it (systemctl works on a root offline); an upgrade (the same version again: $2 is set) keeps it disabled.
    const disable = await runCommand('systemctl', [`--root=${target}`, 'disable', 'raypack-edge.service']);
    expect(disable.status, disable.stderr).toBe(0);
    expect(existsSync(wants)).toBe(false);
    const upgrade = await dpkg('-i', built.file);
    expect(upgrade.status, upgrade.stderr).toBe(0);
    expect(existsSync(wants)).toBe(false);

    const purge = await dpkg('--purge', 'raypack-edge');
    expect(purge.status, purge.stderr).toBe(0);
    for (const path of ['etc/raypack-edge', APP, 'usr/bin/raypack-edge', 'lib/systemd/system/raypack-edge.service']) expect(existsSync(join(target, path)), path).toBe(false);
    expect(existsSync(hostWants)).toBe(hostBefore);
  }, 240_000);

  it('detects the faces on a photo from the unpacked tree, with no build step', async () => {
    const photo = join(root, APP, 'demo/sample1.jpg');
    const result = await runCommand(process.execPath, [join(root, APP, 'bin/raypack-edge.js'), 'detect', '--threads', '1', photo], { cwd: out, timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.trim()) as { detections: Array<{ label: string; score: number }> };
    expect(line.detections.filter((d) => d.label === 'face' && d.score > 0.9).length).toBeGreaterThanOrEqual(3);
    // An optional model says which package brings it.
    const extra = await runCommand(process.execPath, [join(root, APP, 'bin/raypack-edge.js'), 'detect', '--task', 'objects', '--model', 'centernet', photo], { cwd: out, timeout: 120_000 });
    expect(extra.status).not.toBe(0);
    expect(extra.stdout + extra.stderr).toContain('apt install raypack-edge-models-extra');
    // The development tools are not part of the package, and say so.
    const bench = await runCommand(process.execPath, [join(root, APP, 'bin/raypack-edge.js'), 'bench'], { cwd: out, timeout: 60_000 });
    expect(bench.status).toBe(2);
    expect(bench.stderr).toContain('development tool');
  }, 240_000);

  it('starts from the unpacked tree with the packaged configuration and answers /healthz', async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const doc = parseDocument(readFileSync(join(root, 'etc/raypack-edge/config.yaml'), 'utf8'));
    doc.setIn(['state_dir'], join(out, 'state'));
    doc.setIn(['http', 'port'], httpPort);
    doc.setIn(['mqtt', 'embedded', 'port'], mqttPort);
    doc.setIn(['inference', 'threads'], 1);
    const config = join(out, 'config.yaml');
    writeFileSync(config, doc.toString());
    const child = spawn(process.execPath, [join(root, APP, 'bin/raypack-edge.js'), 'start', '--config', config], { cwd: out, stdio: ['ignore', 'ignore', 'pipe'] });
    const lines: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const health = await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`the daemon exited ${child.exitCode}: ${lines.slice(-10).join('\n')}`);
        const response = await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined);
        return response?.status === 200 ? ((await response.json()) as { device: string; cameras: Record<string, string> }) : undefined;
      }, 180_000, '/healthz of the unpacked daemon');
      expect(health.device).toBe('raypack-edge');
      expect(Object.keys(health.cameras)).toEqual(['demo']);
      expect(lines.some((l) => l.includes('pose detector ready') && l.includes('movenet-multipose'))).toBe(true);
      expect(lines.some((l) => l.includes('second-opinion face model ready') && l.includes('blazeface-back'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout')]);
      if (code === 'timeout') child.kill('SIGKILL');
      expect(code).toBe(0);
    }
  }, 240_000);
});
