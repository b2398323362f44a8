/**
 * Filesystem helpers for the WAL. Every platform failure is mapped to `WalIOError` here, with the
 * operation and path, so the rest of the WAL speaks only its own error model.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import * as Path from "@effect/platform/Path"
import { fromPlatformError, type WalIOError } from "../WalError.js"

/**
 * Reads into `buffer` from the file's current position until it is full or the file ends; returns
 * the bytes read. Written without a generator: measured on Node 20, read buffers reachable from an
 * `Effect.gen` frame outlived young-generation collections, so the buffers a replay had finished
 * with piled up (W4: up to 64 MiB) until their external size forced a full collection.
 */
export const readFully = (file: FileSystem.File, buffer: Uint8Array, path: string): Effect.Effect<number, WalIOError> =>
  readFrom(file, buffer, 0, path)

const readFrom = (file: FileSystem.File, buffer: Uint8Array, filled: number, path: string): Effect.Effect<number, WalIOError> =>
  filled === buffer.length
    ? Effect.succeed(filled)
    : Effect.flatMap(Effect.mapError(file.read(buffer.subarray(filled)), fromPlatformError("read", path)), (n) =>
      n === 0n ? Effect.succeed(filled) : readFrom(file, buffer, filled + Number(n), path))

/** Reads `length` bytes at `offset` (fewer if the file ends first). */
export const readAt = (
  file: FileSystem.File,
  offset: number,
  length: number,
  path: string
): Effect.Effect<Uint8Array, WalIOError> =>
  Effect.gen(function*() {
    yield* file.seek(offset, "start")
    const buffer = new Uint8Array(length)
    const n = yield* readFully(file, buffer, path)
    return n === length ? buffer : buffer.subarray(0, n)
  })

/** Opens a file in the current scope. */
export const open = (
  fs: FileSystem.FileSystem,
  path: string,
  flag: FileSystem.OpenFlag
) => fs.open(path, { flag }).pipe(Effect.mapError(fromPlatformError(`open(${flag})`, path)))

/** The size of an open file. */
export const sizeOf = (file: FileSystem.File, path: string): Effect.Effect<number, WalIOError> =>
  file.stat.pipe(Effect.map((info) => Number(info.size)), Effect.mapError(fromPlatformError("stat", path)))

/** fsync of an open file. */
export const syncFile = (file: FileSystem.File, path: string): Effect.Effect<void, WalIOError> =>
  file.sync.pipe(Effect.mapError(fromPlatformError("fsync", path)))

/** Writes all of `bytes` at the file's current position. */
export const writeAll = (file: FileSystem.File, bytes: Uint8Array, path: string): Effect.Effect<void, WalIOError> =>
  file.writeAll(bytes).pipe(Effect.mapError(fromPlatformError("write", path)))

/** Sets the size of an open file: cuts it, or extends it with zeros. */
export const truncate = (file: FileSystem.File, size: number, path: string): Effect.Effect<void, WalIOError> =>
  file.truncate(size).pipe(Effect.mapError(fromPlatformError("truncate", path)))

/**
 * fsync of a directory, which makes the names created, renamed or removed in it durable. Without
 * it a crash can lose a new segment's name even though its data was fsynced.
 */
export const syncDirectory = (fs: FileSystem.FileSystem, directory: string): Effect.Effect<void, WalIOError> =>
  Effect.scoped(Effect.flatMap(open(fs, directory, "r"), (dir) => syncFile(dir, directory)))

/**
 * Creates `directory` (and its parents) when missing, and makes its name durable either way: the
 * name lives in the parent, and a process that crashed right after creating it may never have
 * fsynced the parent. Without this a power loss could lose the whole directory after entries in
 * it were acknowledged.
 */
export const ensureDirectory = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<void, WalIOError, Path.Path> =>
  Effect.gen(function*() {
    const parent = (yield* Path.Path).dirname(directory)
    const exists = yield* fs.exists(directory).pipe(Effect.mapError(fromPlatformError("stat", directory)))
    if (!exists) {
      if (parent !== directory) yield* ensureDirectory(fs, parent)
      yield* fs.makeDirectory(directory).pipe(
        Effect.catchTag("SystemError", (e) => e.reason === "AlreadyExists" ? Effect.void : Effect.fail(e)),
        Effect.mapError(fromPlatformError("mkdir", directory))
      )
    }
    if (parent !== directory) yield* syncDirectory(fs, parent)
  })
