/**
 * How a writer keeps every other writer out of its directory. Like `Clock` and `Host`, the service
 * has a default and never appears in an effect's requirements: the `LOCK` file in the WAL
 * directory (created exclusively, naming its holder; a lock whose holder is gone is taken over).
 * A platform where a file cannot tell whether its holder is alive provides another one with
 * `WriterLock.layer`: the browser entry (`effect-wal/browser`) provides one on the Web Locks API.
 *
 * Whatever the implementation, the guarantee is the same: while a writer's scope is open no other
 * writer on the same directory opens (it fails with `WalLockedError`), and closing the scope, or
 * the death of the process holding it, releases the lock.
 *
 * @since 0.2.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Context, type Effect, Layer, type Option, type Scope } from "effect"
import * as internal from "./internal/lock.js"
import type { WalIOError, WalLockedError } from "./WalError.js"

/**
 * What taking the lock found.
 *
 * @since 0.2.0
 * @category models
 */
export interface Acquired {
  /** The stale holder whose lock was taken over, if any; the recovery report shows it. */
  readonly takenOver: Option.Option<string>
}

/**
 * A writer lock: `acquire` takes the lock on `directory` for the current scope and releases it
 * when the scope closes, or fails with `WalLockedError` while another writer holds it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** Takes the lock on `directory` until the current scope closes. */
  readonly acquire: (
    fs: FileSystem.FileSystem,
    directory: string
  ) => Effect.Effect<Acquired, WalLockedError | WalIOError, Scope.Scope | Path.Path>
}

/**
 * The `WriterLock` service, with the `LOCK` file as its default.
 *
 * @since 0.2.0
 * @category tags
 */
export class WriterLock extends Context.Reference<WriterLock>()("effect-wal/WriterLock", {
  defaultValue: (): Service => internal.fileLock
}) {}

/**
 * The `LOCK` file lock, the default.
 *
 * @since 0.2.0
 * @category constructors
 */
export const file: Service = { acquire: (fs, directory) => internal.acquireFile(fs, directory) }

/**
 * A layer replacing the default `WriterLock`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (service: Service): Layer.Layer<never> => Layer.succeed(WriterLock, service)
