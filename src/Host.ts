/**
 * The host and process a WAL runs in, as its writer lock sees them: the lock file records the
 * holder's process id and host name, and a writer that finds a lock checks whether its holder
 * still runs before taking it over. Nothing else in the WAL asks the operating system about
 * processes.
 *
 * Like `Clock`, the service has a default and never appears in an effect's requirements: the Node
 * implementation (`process.pid`, `os.hostname()`, `process.kill(pid, 0)`), which Bun and Deno
 * also run through their Node compatibility. A runtime without them, or a test that simulates
 * other processes, provides its own with `Host.layer`.
 *
 * @since 0.2.0
 */
import { Context, type Effect, Layer } from "effect"
import * as internal from "./internal/host.js"

/**
 * What the writer lock needs to know about processes.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** The id of this process, recorded in the lock file. */
  readonly pid: number
  /** The name of this host, recorded in the lock file; a lock from another host is never taken over. */
  readonly hostname: string
  /**
   * Whether a process with this id runs on this host. Answer `true` when unsure: a lock whose
   * holder might be alive is never taken over.
   */
  readonly isRunning: (pid: number) => Effect.Effect<boolean>
}

/**
 * The `Host` service, with the Node implementation as its default.
 *
 * @since 0.2.0
 * @category context
 */
export class Host extends Context.Reference<Host>()("effect-wal/Host", { defaultValue: () => internal.make() }) {}

/**
 * The Node implementation, the default: `process.pid`, `os.hostname()` and `process.kill(pid, 0)`.
 *
 * @since 0.2.0
 * @category utils
 */
export const node = (): Service => internal.make()

/**
 * A layer replacing the default `Host`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (service: Service): Layer.Layer<never> => Layer.succeed(Host, service)
