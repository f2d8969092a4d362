import { defineConfig } from 'vitest/config';

// Three suites (README "Tests"): unit needs Node alone and the repo's fixtures; corpus reads ../shared/corpus;
// interop runs the real Debian tools as oracles. The last two fail, not skip, when their data or tools are missing.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30000 } },
      { test: { name: 'corpus', include: ['test/corpus/**/*.test.ts'], testTimeout: 120000 } },
      { test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'], testTimeout: 900000 } },
      { test: { name: 'interop', include: ['test/interop/**/*.test.ts'], testTimeout: 300000, hookTimeout: 300000 } },
    ],
  },
});
