import { defineConfig } from "vitest/config"

/**
 * `npm run test:examples`: every example in examples/ run as a real process, compiled, on the
 * package's build with plain node (test/examples.test.ts), as CI runs it after `npm test`. Eleven
 * processes of about a second of module loading each: run apart from `npm test`, which they would
 * slow by a sixth without adding coverage (a child process is not measured).
 */
export default defineConfig({
  test: {
    include: ["test/examples.test.ts"],
    globalSetup: ["test/setup/build.ts", "test/setup/nats.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
