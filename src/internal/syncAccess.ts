/**
 * Synchronous access to an open file, for file systems whose file operations are synchronous
 * underneath (`NodeFastFileSystem`, `MemoryFileSystem`, the browser's OPFS). The writer uses it to
 * serve a whole batch (write, fsync, publish) in one synchronous step instead of a chain of
 * Effects, and a segment reader to fill its buffer with one call; a file without it is written
 * and read through the `FileSystem.File` Effects as before. Each operation has the same meaning,
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
  /**
   * Reads into `buffer` from file offset `position` until it is full or the file ends, as `seek`
   * then `read` until one of them; returns the bytes read.
   */
  readonly readAt: (buffer: Uint8Array, position: number) => number
}

/**
 * Fills `buffer` by calling `readOnce` on the part still empty until it is full or a read returns
 * 0 (the end of the file); returns the bytes read. The loop of every `readAt`.
 */
export const fillBy = (buffer: Uint8Array, readOnce: (rest: Uint8Array) => number): number => {
  let filled = 0
  while (filled < buffer.length) {
    const n = readOnce(filled === 0 ? buffer : buffer.subarray(filled))
    if (n === 0) break
    filled += n
  }
  return filled
}

/** The synchronous operations `file` offers, if any. */
export const syncAccessOf = (file: FileSystem.File): SyncAccess | undefined =>
  (file as { readonly [SyncAccessId]?: SyncAccess })[SyncAccessId]
