/**
 * vitest globalSetup: says once, for the whole run, whether the JetStream tests run. They need
 * `nats-server` on PATH (`.ci/run` installs it); without it they are skipped.
 */
import { natsServerAvailable } from "../jetstream/cluster.js"

export default function setup(): void {
  if (!natsServerAvailable()) {
    console.log("JetStream tests SKIPPED: nats-server is not on PATH (apt-get install nats-server, or see .ci/run)")
  }
}
