#!/usr/bin/env node
// Entry point of the `raypack-edge` command. The sources are TypeScript, loaded through tsx so that a clean
// clone works right after `npm ci` with no separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
