import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

/**
 * `npm test`: every test file, the crash suites on their seeded sample (test/crash/scale.ts).
 * `npm run test:crash` runs the full exploration with vitest.crash.config.ts.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ and compiles the examples and fixtures the real-process tests run with node.
    globalSetup: ["test/setup/build.ts", "test/setup/nats.ts"],
    // Files share their workers' module cache: effect and the library load once per worker, not
    // once per file. A crash suite counts its own totals (reportTotals); mocks are restored.
    isolate: false,
    // One worker per core: vitest's default for `run` leaves one core out (a single worker on 2 cores).
    maxWorkers: availableParallelism(),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary"],
      thresholds: {
        lines: 98,
        functions: 95
      }
    }
  }
})
