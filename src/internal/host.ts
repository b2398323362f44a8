/**
 * The Node implementation of the `Host` service: `process.pid`, `os.hostname()` and a signal-0
 * `process.kill` to tell whether a process exists. Bun and Deno run it through their Node
 * compatibility.
 */
import { Effect } from "effect"
import type * as Host from "../Host.js"
import { nodeBuiltin } from "./nodeBuiltin.js"

/** Whether a process with this id exists: signal 0 checks without sending anything. */
const processExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as { code?: string }).code === "EPERM"
  }
}

/** The Node implementation. `hostname` is read once, when the service is first used. */
export const make = (): Host.Service => ({
  pid: process.pid,
  hostname: nodeBuiltin("node:os")?.hostname() ?? "localhost",
  isRunning: (pid) => Effect.sync(() => processExists(pid))
})
