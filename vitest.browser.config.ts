import { defineConfig } from "vitest/config"

/**
 * `npm run test:browser`: the WAL on OPFS in a real headless Chromium (test/browser/). Not part of
 * `npm test`: it needs a Chromium (`/usr/bin/chromium`, or `$CHROMIUM`). One file, one browser.
 */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
