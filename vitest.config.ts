import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: heavy tests (ONNX sessions, ffmpeg, brokers) must not all run at once.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
