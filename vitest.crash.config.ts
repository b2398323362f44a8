import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

/**
 * `npm run test:crash`: the full crash exploration (EFFECT_WAL_CRASH=full, see test/crash/scale.ts),
 * every case of the suites that `npm test` samples. Each suite prints its counts in a `[crash-suite]` line.
 */
export default defineConfig({
  test: {
    include: [
      "test/crash/workloads.test.ts",
      "test/crash/tail.test.ts",
      "test/crash/fsync.test.ts",
      "test/crash/model.test.ts",
      "test/crash.process.test.ts"
    ],
    env: { EFFECT_WAL_CRASH: "full" },
    // One worker per core: vitest's default for `run` leaves one core out (a single worker on 2 cores).
    maxWorkers: availableParallelism(),
    // Builds dist/ and compiles the fixture the SIGKILL test runs with node.
    globalSetup: ["test/setup/build.ts"],
    testTimeout: 240_000,
    hookTimeout: 60_000
  }
})
