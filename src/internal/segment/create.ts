/**
 * Segment creation: a new segment appears under its name with a complete, durable header, or not
 * at all.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Effect } from "effect"
import { fromPlatformError, type WalIOError } from "../../WalError.js"
import { HEADER_SIZE } from "../format/constants.js"
import { encodeHeader } from "../format/header.js"
import { open, syncDirectory, syncFile, writeAll } from "../io.js"
import { formatSegmentName } from "./name.js"
import type { SegmentState } from "./state.js"

/** Suffix of a segment file while it is being created; it becomes a segment by an atomic rename. */
export const CREATING_SUFFIX = ".creating"

/**
 * Creates a segment atomically: the header is written and fsynced under a temporary name, which is
 * then renamed to the segment's name, and the directory is fsynced. A crash at any point leaves
 * either no segment or a segment with a complete, durable header, never a torn one.
 */
export const createSegment = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  directory: string,
  walId: Uint8Array,
  codecId: string,
  index: number,
  firstSequence: number
): Effect.Effect<SegmentState, WalIOError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const name = formatSegmentName(index, firstSequence)
      const segmentPath = path.join(directory, name)
      const temporary = segmentPath + CREATING_SUFFIX
      // "w": a temporary left by an earlier crash is simply rewritten.
      const file = yield* open(fs, temporary, "w")
      yield* writeAll(file, encodeHeader({ walId, segmentIndex: index, firstSequence, codecId }), temporary)
      // The header must be durable before the segment exists under its name.
      yield* syncFile(file, temporary)
      // The rename is atomic: the segment appears with its whole header or not at all.
      yield* fs.rename(temporary, segmentPath).pipe(Effect.mapError(fromPlatformError("rename", segmentPath)))
      // The new name must be durable before any entry in the segment is acknowledged.
      yield* syncDirectory(fs, directory)
      return { index, firstSequence, name, path: segmentPath, lastSequence: firstSequence - 1, size: HEADER_SIZE, sealed: false }
    })
  )
