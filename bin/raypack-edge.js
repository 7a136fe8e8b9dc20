#!/usr/bin/env node
// Entry point of the `raypack-edge` command. The sources are TypeScript, loaded through tsx so that a clean
// clone works right after `npm ci` with no separate build step.
import { register } from 'tsx/esm/api';

// ONNX Runtime 1.30's Linux builds carry Microsoft's 1DS telemetry client (an uploader to
// mobile.events.data.microsoft.com, per the strings in libonnxruntime.so.1); ORT_DISABLE_TELEMETRY=1 keeps it from
// starting. Set before the native library loads (cli.ts imports it later) and whatever the caller's environment says:
// nothing leaves the device.
process.env.ORT_DISABLE_TELEMETRY = '1';
register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
