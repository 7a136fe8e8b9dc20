/**
 * The int8 kernel path read from /proc/cpuinfo (src/os/cpu.ts) and the file it makes a detector load
 * (registry.ts chooseVariant): the CPUs our machines and boards have, from their real cpuinfo flag lines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuPath } from '../../src/os/cpu.ts';
import { INT8_SPEED, chooseVariant, variantChoiceFor } from '../../src/detect/registry.ts';

// Flag lines as these CPUs print them (shortened to the flags that matter plus neighbours).
const EPYC_GENOA = 'flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni avx512_bitalg\n';
const EPYC_MILAN = 'flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c bmi1 avx2 bmi2 sha_ni\n';
const ALDER_LAKE = 'flags\t\t: sse4_1 sse4_2 avx avx2 fma avx_vnni\n';
const SKYLAKE_X = 'flags\t\t: sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl\n';
const ATOM_J1900 = 'flags\t\t: sse sse2 ssse3 sse4_1 sse4_2 movbe popcnt\n';
const PI4 = 'processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\n';
const PI5 = 'processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\n';

describe('cpuPath', () => {
  it.each([
    [EPYC_GENOA, 'x64', 'x86-64-avx512-vnni', 'VPDPBUSD (AVX-512 VNNI)'],
    [EPYC_MILAN, 'x64', 'x86-64-avx2', 'VPMADDUBSW + VPMADDWD (256-bit)'],
    [ALDER_LAKE, 'x64', 'x86-64-avx-vnni', 'VPDPBUSD (AVX-VNNI, 256-bit)'],
    [SKYLAKE_X, 'x64', 'x86-64-avx512bw', 'VPMADDUBSW + VPMADDWD (512-bit)'],
    [ATOM_J1900, 'x64', 'x86-64-sse4', 'PMADDUBSW + PMADDWD (128-bit)'],
    [PI4, 'arm64', 'arm64-neon', 'UMULL + UADALP'],
    [PI5, 'arm64', 'arm64-dotprod', 'UDOT/SDOT'],
  ])('%#: %s', (cpuinfo, machine, id, kernel) => {
    const path = cpuPath(cpuinfo, machine);
    expect(path.id).toBe(id);
    expect(path.int8Kernel).toBe(kernel);
  });

  it('names the flags that decide the path', () => {
    expect(cpuPath(EPYC_GENOA, 'x64').flags).toEqual(['sse4_1', 'ssse3', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni']);
    expect(cpuPath(PI5, 'arm64').flags).toEqual(['asimd', 'asimddp']);
  });
});

describe('which file a detector loads', () => {
  const genoa = cpuPath(EPYC_GENOA, 'x64');
  const pi4 = cpuPath(PI4, 'arm64');

  it('the int8 copy where it is measured faster, with the measurement in the reason', () => {
    const choice = chooseVariant('ssd-mobilenetv1-face', 'int8', undefined, genoa);
    expect(choice.variant).toBe('int8');
    expect(choice.reason).toContain('AVX-512 VNNI');
    expect(choice.reason).toContain(`${INT8_SPEED['x86-64-avx512-vnni']!['ssd-mobilenetv1-face'].ratio}x`);
  });

  it('the float file where the int8 copy is measured slower on that CPU path', () => {
    INT8_SPEED['arm64-neon'] = { 'ssd-mobilenetv1-face': { ratio: 0.8, measured: 'a test figure' } };
    try {
      const choice = chooseVariant('ssd-mobilenetv1-face', 'int8', undefined, pi4);
      expect(choice).toEqual({ variant: 'fp32', reason: 'the int8 copy is slower on arm64 NEON without dot product (e.g. Pi 4) (0.8x, a test figure)' });
    } finally {
      delete INT8_SPEED['arm64-neon'];
    }
  });

  it('the int8 copy, saying so, where its speed was not measured; what the caller asks for always', () => {
    const unmeasured = chooseVariant('ssd-mobilenetv1-face', 'int8', undefined, pi4);
    expect(unmeasured.variant).toBe('int8');
    expect(unmeasured.reason).toMatch(/not measured on arm64 NEON .*bench --only face,objects --no-peers/);
    expect(chooseVariant('ssd-mobilenetv1-face', 'int8', 'fp32', genoa)).toEqual({ variant: 'fp32', reason: 'asked for' });
    expect(chooseVariant('centernet', 'fp32', undefined, genoa).variant).toBe('fp32');
    expect(variantChoiceFor('face', { variant: 'fp32' }).variant).toBe('fp32');
  });

  it('on this machine, from its own /proc/cpuinfo', () => {
    const here = cpuPath(readFileSync('/proc/cpuinfo', 'utf8'));
    console.info(`[cpu] this machine: ${here.label}, int8 kernels ${here.int8Kernel}, flags ${here.flags.join(' ')}`);
    expect(here.id).not.toBe('other');
    expect(['int8', 'fp32']).toContain(variantChoiceFor('face').variant);
  });
});
