import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:web` (issue 10): the built page in a real browser (Debian's chromium driven by playwright-core).
// Its own config so the unit suite (`npm test`, Node alone) never needs a browser.
export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
  test: {
    include: ['test/web/**/*.test.ts'],
    testTimeout: 120000,
    hookTimeout: 120000,
    // One browser at a time: the machine has two cores.
    fileParallelism: false,
  },
});
