/**
 * The WAL in a browser: a `FileSystem` on the Origin Private File System (OPFS), for a dedicated
 * worker, with the writer lock on the Web Locks API. Import it from `effect-wal/browser`.
 *
 * What it is, exactly:
 * - Paths are POSIX paths from the origin's OPFS root (`"notes"` and `"/notes"` are the same
 *   directory). Directory operations are the OPFS promise APIs; an open file is a
 *   `FileSystemSyncAccessHandle` (opened `readwrite-unsafe`, so the writer and readers each hold
 *   their own handle on a segment), whose `read`, `write`, `truncate` and `flush` are synchronous:
 *   the writer serves a whole batch, write and flush, in one synchronous step.
 * - `sync` on a file is the handle's `flush()`: once it returns, the browser has handed the
 *   writes to its storage backend, and they survive the tab, the worker or the browser process
 *   being closed or killed. OPFS has no directory fsync: creating, removing and moving an entry
 *   are done when their promise resolves, so `sync` on a directory does nothing. `rename` is the
 *   handle's `move()`. docs/browser.md states the whole contract and what it does not cover.
 * - Failures are the `PlatformError`s the Node layer reports for the same condition, with the same
 *   errno `code`: an exhausted storage quota (`QuotaExceededError`) is `ENOSPC`, so the WAL
 *   reports it as `WalIOError` with `code: "ENOSPC"` (see `isQuotaExceeded`). Links, symlinks,
 *   `chmod`, `chown`, `utimes` and `watch` do not exist on OPFS and fail with `ENOTSUP`.
 * - Sync access handles exist only in dedicated workers: build the layer in a worker and talk to
 *   it from the page with messages (docs/browser.md, examples/browser/).
 *
 * ```ts
 * // worker.ts
 * import { OpfsFileSystem, Wal } from "effect-wal/browser"
 * class Notes extends Context.Tag("Notes")<Notes, Wal.Wal<Note>>() {}
 * const NotesLive = Wal.layer(Notes, { directory: "notes", schema: Note }).pipe(
 *   Layer.provide(OpfsFileSystem.layer)
 * )
 * ```
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Layer } from "effect"
import { browserNavigator } from "./internal/browser/dom.js"
import { make } from "./internal/browser/opfsFileSystem.js"
import { webLocks } from "./internal/browser/webLocks.js"
import type { WalError } from "./WalError.js"
import { WriterLock } from "./WriterLock.js"

/**
 * The OPFS `FileSystem` alone, on the origin's OPFS root. Building it dies with a message when
 * the context has no OPFS (`navigator.storage.getDirectory`), such as a page served over plain
 * HTTP from another host than localhost.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFileSystem: Layer.Layer<FileSystem.FileSystem> = Layer.effect(
  FileSystem.FileSystem,
  Effect.suspend(() => {
    const storage = browserNavigator()?.storage
    return storage === undefined
      ? Effect.dieMessage("OpfsFileSystem needs the Origin Private File System (navigator.storage.getDirectory)")
      : Effect.map(Effect.promise(() => storage.getDirectory()), make)
  })
)

/**
 * The writer lock on the Web Locks API (`navigator.locks`), replacing the `LOCK` file: a second
 * writer on the same directory in any tab or worker of the origin fails with `WalLockedError`,
 * and the browser releases the lock when its holder's scope closes or its worker or tab goes away.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebLocks: Layer.Layer<never> = Layer.succeed(WriterLock, webLocks)

/**
 * The POSIX `Path` of `@effect/platform` with the OPFS root as working directory: `resolve`
 * turns a relative path into one from `/` (a browser has no `process.cwd()`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerPath: Layer.Layer<Path.Path> = Layer.effect(
  Path.Path,
  Effect.map(Path.Path, (posix) => Path.Path.of({ ...posix, resolve: (...segments) => posix.resolve("/", ...segments) }))
).pipe(Layer.provide(Path.layer))

/**
 * Everything `Wal.make` needs in a dedicated worker: the OPFS `FileSystem`, its `Path`, and the
 * Web Locks writer lock.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<FileSystem.FileSystem | Path.Path> = Layer.mergeAll(
  layerFileSystem,
  layerPath,
  layerWebLocks
)

/**
 * Whether a WAL failure is the origin's storage quota running out: a `WalIOError` with code
 * `ENOSPC` (from the browser's `QuotaExceededError`), or the `WalPoisonedError` an append gets
 * when that was the write that failed. As after any failed write, the WAL acknowledges nothing
 * more until it is reopened; the appends that met the failure were not acknowledged, and what was
 * acknowledged before stays readable.
 *
 * @since 0.2.0
 * @category guards
 */
export const isQuotaExceeded = (error: WalError): boolean =>
  error._tag === "WalIOError"
    ? error.code === "ENOSPC"
    : error._tag === "WalPoisonedError" && error.cause.code === "ENOSPC"
