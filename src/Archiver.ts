/**
 * The Archiver service: what happens to a segment once it is reclaimed. By default it is deleted;
 * `Archiver.layerDirectory(dir)` moves it into an archive directory, and users can provide their
 * own (for example an upload to object storage) with `Archiver.layer`.
 *
 * An archiver must leave the segment file gone from the WAL directory when it succeeds; the WAL
 * then fsyncs the WAL directory so the removal is durable. A failed archive leaves the segment in
 * place, still reclaimable, and `wal.reclaim` fails with the error.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Effect, Layer } from "effect"
import * as Path from "@effect/platform/Path"
import { fromPlatformError, type WalIOError } from "./WalError.js"
import { ensureDirectory, open, syncDirectory, syncFile } from "./internal/io.js"

/**
 * A reclaimed segment file handed to the archiver.
 *
 * @since 0.1.0
 * @category models
 */
export interface SegmentFile {
  readonly name: string
  readonly path: string
  readonly index: number
  readonly firstSequence: number
  readonly lastSequence: number
}

/**
 * An archiver: takes a sealed, reclaimed segment out of the WAL directory.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Takes the segment out of the WAL directory (moved or deleted); fails with `WalIOError`. */
  readonly archive: (segment: SegmentFile) => Effect.Effect<void, WalIOError>
}

/**
 * The Archiver service tag. Optional: without it reclaimed segments are deleted.
 *
 * @since 0.1.0
 * @category context
 */
export class Archiver extends Context.Tag("effect-wal/Archiver")<Archiver, Service>() {}

/**
 * Deletes reclaimed segments (the default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const deleting = (fs: FileSystem.FileSystem): Service => ({
  archive: (segment) => fs.remove(segment.path).pipe(Effect.mapError(fromPlatformError("remove", segment.path)))
})

/**
 * Moves reclaimed segments into `directory` (created when missing). The copy is fsynced, and so is
 * the archive directory, before the original is removed: a crash in between leaves the segment in
 * both places, never in neither.
 *
 * @since 0.1.0
 * @category utils
 */
export const directory = (fs: FileSystem.FileSystem, path: Path.Path, target: string): Service => ({
  archive: (segment) =>
    Effect.gen(function*() {
      yield* Effect.provideService(ensureDirectory(fs, target), Path.Path, path)
      const destination = path.join(target, segment.name)
      yield* fs.copyFile(segment.path, destination).pipe(Effect.mapError(fromPlatformError("copy", destination)))
      // The archived copy must be durable before the original goes.
      yield* Effect.scoped(Effect.flatMap(open(fs, destination, "r+"), (file) => syncFile(file, destination)))
      yield* syncDirectory(fs, target)
      yield* fs.remove(segment.path).pipe(Effect.mapError(fromPlatformError("remove", segment.path)))
    })
})

/**
 * Provides an archiver that moves reclaimed segments into `target`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDirectory = (target: string): Layer.Layer<Archiver, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(Archiver, Effect.zipWith(FileSystem.FileSystem, Path.Path, (fs, path) => directory(fs, path, target)))

/**
 * Provides a custom archiver.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (service: Service): Layer.Layer<Archiver> => Layer.succeed(Archiver, service)
