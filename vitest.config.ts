import { execFileSync } from "node:child_process"
import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

/**
 * `npm test`: every test file but the examples', the crash suites on their seeded sample
 * (test/crash/scale.ts). `npm run test:examples` runs every example as a process.
 * `npm run test:crash` runs the full exploration with vitest.crash.config.ts, and
 * `npm run test:jetstream-faults` the cluster fault tests (SIGKILLs and elections: about half a
 * minute of their own, and only reliable without other suites competing for the 2 cores).
 */
/** Whether the JetStream tests run (test/setup/nats.ts says so when they do not). */
const natsServer = ((): boolean => {
  try {
    execFileSync("nats-server", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The browser suite needs Chromium and runs on its own (npm run test:browser); the examples
    // (npm run test:examples) and the JetStream fault tests (npm run test:jetstream-faults) too.
    exclude: ["test/browser/**", "test/jetstream/faults.test.ts", "test/examples.test.ts", "node_modules/**"],
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
      // Code that only runs in a browser worker (OPFS handles, Web Locks): Node has neither, so
      // these files are covered by the real-Chromium suite (npm run test:browser), not here. The
      // pure parts (the OPFS error mapping, isQuotaExceeded) are tested under Node. Without
      // nats-server the JetStream tests are skipped, so their code is not measured either.
      exclude: [
        "src/browser.ts",
        "src/internal/browser/dom.ts",
        "src/internal/browser/opfsFile.ts",
        "src/internal/browser/opfsFileSystem.ts",
        "src/internal/browser/webLocks.ts",
        ...(natsServer ? [] : ["src/JetStreamWal.ts", "src/jetstream.ts", "src/internal/jetstream/**"])
      ],
      reporter: ["text-summary"],
      thresholds: {
        lines: 98,
        functions: 95
      }
    }
  }
})
