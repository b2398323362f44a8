/**
 * The durable reclaim point: a small `RECLAIMED` file naming the first segment the WAL keeps. It
 * is written (temporary file, fsync, rename, directory fsync) before any reclaimed segment is
 * removed, so after a crash in the middle of a reclamation, recovery knows that segments below it
 * were reclaimed on purpose (and finishes removing them), while a missing segment at or above it
 * is still reported as corruption.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option } from "effect"
import * as Path from "@effect/platform/Path"
import { fromPlatformError, WalCorruptionError, type WalIOError } from "../../WalError.js"
import { crc32c } from "../format/crc32c.js"
import { open, syncDirectory, syncFile, writeAll } from "../io.js"

/** The reclaim point's file name. */
export const RECLAIM_FILE = "RECLAIMED"

/** The first segment the WAL keeps. */
export interface ReclaimPoint {
  readonly segmentIndex: number
  readonly firstSequence: number
}

const checksum = (point: ReclaimPoint) => crc32c(new TextEncoder().encode(`${point.segmentIndex}:${point.firstSequence}`))

/** Reads the reclaim point; `None` when the WAL never reclaimed anything. */
export const readReclaimPoint = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<Option.Option<ReclaimPoint>, WalIOError | WalCorruptionError, Path.Path> =>
  Effect.flatMap(Path.Path, (path) => {
    const file = path.join(directory, RECLAIM_FILE)
    return fs.readFileString(file).pipe(
      Effect.map(Option.some),
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed(Option.none<string>())),
      Effect.mapError(fromPlatformError("read", file)),
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed(Option.none()),
        onSome: (text) => {
          try {
            const value = JSON.parse(text) as { segmentIndex: unknown; firstSequence: unknown; checksum: unknown }
            const point = { segmentIndex: Number(value.segmentIndex), firstSequence: Number(value.firstSequence) }
            if (
              Number.isSafeInteger(point.segmentIndex) && Number.isSafeInteger(point.firstSequence) &&
              value.checksum === checksum(point)
            ) return Effect.succeed(Option.some(point))
          } catch {
            // reported below
          }
          return Effect.fail(new WalCorruptionError({ file, offset: 0, reason: "the reclaim point is unreadable" }))
        }
      }))
    )
  })

/** Makes `point` the durable reclaim point. */
export const writeReclaimPoint = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  directory: string,
  point: ReclaimPoint
): Effect.Effect<void, WalIOError> =>
  Effect.gen(function*() {
    const target = path.join(directory, RECLAIM_FILE)
    const temporary = `${target}.tmp`
    const text = JSON.stringify({ ...point, checksum: checksum(point) }) + "\n"
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* open(fs, temporary, "w")
      yield* writeAll(file, new TextEncoder().encode(text), temporary)
      // The new content must be durable before it replaces the old point.
      yield* syncFile(file, temporary)
    }))
    // rename is atomic: the point is either the old one or the new one, never a torn mix.
    yield* fs.rename(temporary, target).pipe(Effect.mapError(fromPlatformError("rename", target)))
    // The rename must be durable before any segment below the point is removed.
    yield* syncDirectory(fs, directory)
  })
