/**
 * The segments of a WAL directory as a read-only reader sees them (`Wal.reader`, `Inspect.entries`,
 * the CLI's `dump`): no lock, no writer to ask, and a writer in another fiber or process that may
 * reclaim segments at any moment.
 *
 * Guarantees:
 * - the listing honours the reclaim point (`RECLAIMED`): segments below it are gone already, even
 *   while their files wait to be removed;
 * - only the segments a read needs are opened, and the WAL id is taken from the first header read,
 *   so a segment reclaimed between the listing and the read is never touched;
 * - a segment reclaimed after the listing (its file not found when a read needs it) makes the
 *   source list the directory again, and a read that has delivered nothing yet goes on from the
 *   first segment still there (one that has fails: `LogCursor` never skips), so any range still
 *   retained is read whole;
 * - every header is checked against the WAL id and codec, the file name, and torn creation by
 *   recovery's rule: the last segment whose creation a crash tore (or the writer is creating) holds
 *   no entry and ends the log.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Either, Option } from "effect"
import { WalFormatError, type WalCorruptionError, type WalIOError } from "../../WalError.js"
import { FORMAT_MAX_PAYLOAD, HEADER_SIZE } from "../format/constants.js"
import { frameSeed } from "../format/frame.js"
import { decodeHeader, type SegmentHeader } from "../format/header.js"
import { readAt, sizeOf } from "../io.js"
import { checkHeader, isTornCreation } from "../segment/header.js"
import { checkContiguous, listDirectory, splitAtReclaimPoint } from "../segment/list.js"
import { findSegment, type SegmentState } from "../segment/state.js"
import { readReclaimPoint } from "../write/reclaim.js"
import type { SegmentSource } from "./logReader.js"

/** A `SegmentSource` over a directory, and the header of the first segment it read. */
export interface DirectorySource extends SegmentSource {
  /** The first header read (the codec and WAL id every other one must match); none before a read. */
  readonly header: Option.Option<SegmentHeader>
}

/**
 * Lists `directory` for reading. None when it holds no segment. `codecId` is the codec the reader
 * decodes with, or `undefined` to adopt the first header's (raw entries).
 */
export const directorySource = (
  fs: FileSystem.FileSystem,
  directory: string,
  codecId: string | undefined
): Effect.Effect<Option.Option<DirectorySource>, WalIOError | WalCorruptionError, Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    let segments: ReadonlyArray<SegmentState> = []
    let header = Option.none<SegmentHeader>()
    let seed = 0

    /** Lists the segments from the reclaim point on. */
    const list = Effect.gen(function*() {
      const everything = yield* listDirectory(fs, directory)
      const { listing } = splitAtReclaimPoint(everything, yield* readReclaimPoint(fs, directory))
      yield* checkContiguous(directory, listing)
      segments = listing.segments.map((entry, i): SegmentState => ({
        index: entry.index,
        firstSequence: entry.firstSequence,
        name: entry.name,
        path: path.join(directory, entry.name),
        lastSequence: entry.firstSequence - 1,
        size: 0,
        // Every segment but the last must end with a seal frame.
        sealed: i < listing.segments.length - 1
      }))
    }).pipe(Effect.provideService(Path.Path, path))

    yield* list
    if (segments.length === 0) return Option.none()

    const source: DirectorySource = {
      get header() {
        return header
      },
      get seed() {
        return seed
      },
      segmentFor: (sequence) => Effect.sync(() => findSegment(segments, sequence)),
      limitOf: () => Number.POSITIVE_INFINITY,
      damageAtEnd: (segment) => segment.index === segments[segments.length - 1]!.index ? "end" : "corruption",
      segmentGone: (segment, error) =>
        Effect.flatMap(list, () => segments.some((s) => s.index === segment.index) ? Effect.fail(error) : Effect.void),
      checkHeader: (file, segment) =>
        Effect.gen(function*() {
          const bytes = yield* readAt(file, 0, HEADER_SIZE, segment.path)
          const decoded = decodeHeader(bytes)
          if (Either.isLeft(decoded)) {
            const position = segments.findIndex((s) => s.index === segment.index)
            const torn = isTornCreation({
              isLast: position === segments.length - 1,
              position,
              size: yield* sizeOf(file, segment.path),
              headerBytes: bytes,
              problem: decoded.left.problem
            })
            if (torn) return
            return yield* new WalFormatError({ file: segment.path, problem: decoded.left.problem, detail: decoded.left.detail })
          }
          const first = Option.getOrUndefined(header)
          const checked = yield* checkHeader(segment.path, decoded.right, {
            codecId: codecId ?? first?.codecId,
            walId: first?.walId,
            index: segment.index,
            firstSequence: segment.firstSequence
          })
          if (first === undefined) {
            header = Option.some(checked)
            seed = frameSeed(checked.walId)
          }
        }),
      maxPayload: FORMAT_MAX_PAYLOAD,
      // A read-only reader cannot hold back the writer's reclamation.
      pin: () => undefined
    }
    return Option.some(source)
  })
