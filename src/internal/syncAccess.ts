/**
 * Synchronous access to an open file, for file systems whose file operations are synchronous
 * underneath (`NodeFastFileSystem`, `MemoryFileSystem`). The writer uses it to serve a whole batch
 * (write, fsync, publish) in one synchronous step instead of a chain of Effects; a file without it
 * is written through the `FileSystem.File` Effects as before. Each operation has the same meaning,
 * position and errors as the Effect of the same name on the same file; a failure is thrown as the
 * `PlatformError` that Effect would fail with.
 */
import type * as FileSystem from "@effect/platform/FileSystem"

/** The key under which a `FileSystem.File` offers its synchronous operations. */
export const SyncAccessId: unique symbol = Symbol.for("effect-wal/SyncAccess")

/** The synchronous operations of an open file; each throws a `PlatformError` on failure. */
export interface SyncAccess {
  /** Writes all of `bytes` at the file's position, as `writeAll`. */
  readonly writeAll: (bytes: Uint8Array) => void
  /** Makes the file's data durable, as `sync`. */
  readonly sync: () => void
  /** Sets the file's size, as `truncate`. */
  readonly truncate: (size: number) => void
}

/** The synchronous operations `file` offers, if any. */
export const syncAccessOf = (file: FileSystem.File): SyncAccess | undefined =>
  (file as { readonly [SyncAccessId]?: SyncAccess })[SyncAccessId]
