/**
 * A Node `FileSystem` layer for the WAL's durable write path: the same as `NodeFileSystem.layer`
 * from `@effect/platform-node` in every operation, except the hot operations of an open file.
 *
 * What it changes, exactly: on a `File` returned by `open`, `read`, `readAlloc`, `write`,
 * `writeAll`, `sync` and `truncate` are synchronous `node:fs` calls (`fs.readSync`,
 * `fs.writeSync`, `fs.fdatasyncSync` or `fs.fsyncSync`, `fs.ftruncateSync`) instead of callbacks
 * served by libuv's threadpool, and `seek` keeps the position in the file object. Opening, `stat`,
 * closing and every other `FileSystem` operation are the Node layer's own. Errors are the same
 * `SystemError`s (same `reason`, the errno error as `cause`).
 *
 * `sync` on a file opened for writing is `fdatasync`: the file's data and the metadata needed to
 * read it back (its size, where its blocks are) become durable, its timestamps may not. That is
 * all a log needs, and it skips a journal commit when only the modification time changed (an
 * append inside space allocated ahead). On a file opened read-only, such as a directory whose
 * new names must become durable, `sync` is a full `fsync`.
 *
 * The trade-off: a synchronous call blocks the event loop for the duration of the write or the
 * fsync (typically 0.1 to a few milliseconds on an SSD, much longer on a slow or failing disk),
 * so no other fiber runs meanwhile. In exchange each operation saves a threadpool round trip;
 * for one-at-a-time durable appends (a write and an fsync per append) that is about a third of
 * the rate on the machine measured in `bench/README.md`. The WAL has a single writer fiber and
 * its appenders wait for that fsync anyway, which makes the trade acceptable for a process whose
 * main job is the log. Prefer `NodeFileSystem.layer` when the same event loop must keep serving
 * latency-sensitive work (an HTTP server) while the log is written.
 *
 * ```ts
 * import { NodeFastFileSystem, Wal } from "effect-wal"
 * program.pipe(Effect.scoped, Effect.provide(NodeFastFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { Layer } from "effect"
import * as internal from "./internal/nodeFastFileSystem.js"

/**
 * The Node FileSystem with synchronous reads, writes and syncs on open files, and the Node `Path`:
 * everything `Wal.make` needs on Node. `@effect/platform-node` is loaded when the layer is built
 * (the layer dies with a message naming the package when it is not installed).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<FileSystem.FileSystem | Path.Path> = internal.layer

/**
 * Wraps any Node-backed `FileSystem` (one whose files carry real descriptors) the same way.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (base: FileSystem.FileSystem) => FileSystem.FileSystem = internal.make
