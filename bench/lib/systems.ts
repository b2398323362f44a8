/** Running a program against an open WAL under a chosen FileSystem layer. */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as FileSystemModule from "@effect/platform/FileSystem"
// The module, not the package index: the index loads every Node module of the platform (HTTP
// client and server, undici, workers, ...), about 30 MiB of resident memory a WAL never uses.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Effect, Layer as LayerModule, type Layer, type Scope } from "effect"
import * as NodeFastFileSystem from "../../src/NodeFastFileSystem.js"
import { type SyncAccess, SyncAccessId, syncAccessOf } from "../../src/internal/syncAccess.js"

/** The FileSystem layers the WAL is measured with. */
export const layers: Record<"wal-node" | "wal-fast", Layer.Layer<FileSystem.FileSystem>> = {
  "wal-node": NodeFileSystem.layer,
  "wal-fast": NodeFastFileSystem.layer
}

export type WalSystem = keyof typeof layers

export const walSystems: ReadonlyArray<WalSystem> = ["wal-fast", "wal-node"]

/** Runs a scoped program with a FileSystem layer and Node's Path. */
export const runWith = <A, E>(
  layer: Layer.Layer<FileSystem.FileSystem>,
  program: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path | Scope.Scope>
): Promise<A> => Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(LayerModule.merge(layer, NodePath.layer))))

/** Rotates `items` by `run` places, so no system is always measured first. */
export const rotate = <A>(items: ReadonlyArray<A>, run: number): Array<A> => {
  const k = run % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

/**
 * Wraps a FileSystem layer so that the bytes written between two fsyncs of a file are recorded:
 * the batch sizes the WAL's group commit actually formed, which the raw limit then replays.
 */
export const recordingBatches = (
  layer: Layer.Layer<FileSystem.FileSystem>,
  batches: Array<number>
): Layer.Layer<FileSystem.FileSystem> =>
  LayerModule.effect(
    FileSystemModule.FileSystem,
    Effect.map(FileSystemModule.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file): FileSystem.File => {
          let pending = 0
          const synced = () => {
            if (pending > 0) batches.push(pending)
            pending = 0
          }
          // The file's synchronous operations, recorded the same way: without them the writer
          // would serve every batch through Effects, and the bench would measure that path
          // instead of the one NodeFastFileSystem gives applications.
          const access = syncAccessOf(file)
          const recordedAccess: SyncAccess | undefined = access === undefined ? undefined : {
            writeAll: (bytes) => {
              access.writeAll(bytes)
              pending += bytes.length
            },
            sync: () => {
              access.sync()
              synced()
            },
            truncate: access.truncate,
            readAt: access.readAt
          }
          return {
            ...(recordedAccess === undefined ? {} : { [SyncAccessId]: recordedAccess }),
            [FileSystemModule.FileTypeId]: FileSystemModule.FileTypeId,
            fd: file.fd,
            get stat() {
              return file.stat
            },
            seek: (offset, from) => file.seek(offset, from),
            read: (buffer) => file.read(buffer),
            readAlloc: (size) => file.readAlloc(size),
            truncate: (length) => file.truncate(length),
            write: (buffer) => Effect.tap(file.write(buffer), (n) => void (pending += Number(n))),
            writeAll: (buffer) => Effect.tap(file.writeAll(buffer), () => void (pending += buffer.length)),
            sync: Effect.tap(file.sync, synced)
          }
        })
    }))
  ).pipe(LayerModule.provide(layer))
