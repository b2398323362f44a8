import { defineConfig } from "vitest/config"

/**
 * `npm run test:jetstream-faults`: the JetStream fault tests on a 3-server cluster started on
 * 127.0.0.1 (SIGKILL of the stream leader, loss of the quorum, restart), alone, after `npm test`.
 * Without nats-server they are skipped with one line saying so (test/setup/nats.ts).
 */
export default defineConfig({
  test: {
    include: ["test/jetstream/faults.test.ts"],
    globalSetup: ["test/setup/nats.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
