/**
 * The scanner under Inspect: reads a WAL directory's headers and frames in segment order and
 * records every problem instead of failing on the first one. Frames are judged by the same
 * frame-acceptance rule as recovery (`format/acceptance.ts`), where they stop by recovery's
 * `classifyEnd`, so a report names the cause recovery would name.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Either, Option } from "effect"
import type { Problem, SegmentInfo } from "../Inspect.js"
import type { TornTail } from "../Wal.js"
import {
  fromPlatformError,
  WalCorruptionError,
  WalFormatError,
  type WalIOError
} from "../WalError.js"
import { readU64 } from "./format/bytes.js"
import { classifyEnd, type Damage, SegmentProgress } from "./format/acceptance.js"
import { FORMAT_MAX_PAYLOAD, FrameKind, HEADER_SIZE } from "./format/constants.js"
import { findDurableFrameAfter, frameSeed } from "./format/frame.js"
import { decodeHeader, type SegmentHeader } from "./format/header.js"
import { open, readAt } from "./io.js"
import { checkHeader, isTornCreation } from "./segment/header.js"
import { listDirectory, type Listing, misplacedStart, splitAtReclaimPoint } from "./segment/list.js"
import { readSeal } from "./segment/seal.js"
import { walkFrames } from "./segment/walk.js"
import { readReclaimPoint, RECLAIM_FILE, type ReclaimPoint } from "./write/reclaim.js"
import { SegmentReader } from "./read/segmentReader.js"

/** How a scan reads the log. */
export interface ScanOptions {
  /** `"full"` reads every frame; `"tail"` trusts a valid seal frame at the end of a segment that is not the last. */
  readonly mode: "full" | "tail"
  /** Go on after a problem (resynchronising on the next valid frame) instead of stopping at the first. */
  readonly all: boolean
  /** Called with every committed entry, in log order, once its batch is complete. */
  readonly onEntry?: (kind: number, sequence: number, timestamp: number, payloadBytes: number) => void
  /** Called as bytes are read. */
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => Effect.Effect<void>
}

/** What a scan found in one segment. */
export interface ScannedSegment extends SegmentInfo {
  readonly path: string
  /** End of the last complete batch or seal frame: where a cut at damage in this segment goes. */
  readonly committedEnd: number
}

/** What a scan found in the whole directory. */
export interface LogScan {
  readonly header: Option.Option<SegmentHeader>
  /** Archived segments (below the reclaim point) first, then the segments scanned. */
  readonly segments: ReadonlyArray<ScannedSegment>
  /** The segments of the log proper, from the reclaim point on. */
  readonly kept: Listing["segments"]
  readonly problems: ReadonlyArray<Problem>
  readonly tornTail: Option.Option<TornTail>
  readonly frames: number
  readonly entries: number
  readonly lastSequence: number
  readonly lastCheckpoint: number
  readonly bytes: number
  readonly ignored: ReadonlyArray<string>
}

/**
 * Walks a segment's frames by the frame-acceptance rule from where `progress` stands, and reports
 * each committed entry to `onEntry` once its batch is complete.
 */
const walkEntries = (
  reader: SegmentReader,
  progress: SegmentProgress,
  onEntry: ScanOptions["onEntry"],
  onRead: (offset: number) => Effect.Effect<void>
): Effect.Effect<Option.Option<Damage>, WalIOError> => {
  if (onEntry === undefined) return walkFrames(reader, progress, { onRead })
  // kind, sequence, timestamp, payload size of each frame of the batch in progress
  const pending: Array<number> = []
  return walkFrames(reader, progress, {
    onRead,
    onFrame: (cursor) => {
      if (cursor.kind === FrameKind.seal) return
      pending.push(cursor.kind, cursor.sequence, cursor.timestamp, cursor.payloadEnd - cursor.payloadStart)
      if (!cursor.commits) return
      for (let i = 0; i < pending.length; i += 4) onEntry(pending[i]!, pending[i + 1]!, pending[i + 2]!, pending[i + 3]!)
      pending.length = 0
    }
  })
}

const corruption = (file: string, offset: number, reason: string): Problem => ({ file, offset, problem: "corruption", reason })

/** The error a problem stands for. */
export const problemError = (problem: Problem): WalCorruptionError | WalFormatError =>
  problem.problem === "corruption"
    ? new WalCorruptionError({ file: problem.file, offset: problem.offset, reason: problem.reason })
    : new WalFormatError({ file: problem.file, problem: problem.problem, detail: problem.reason })

export const notAWal = (directory: string) =>
  new WalFormatError({ file: directory, problem: "foreign-file", detail: "no segment files: this is not a WAL directory" })

/**
 * Scans a WAL directory in segment order. Every header is decoded and checked against the first
 * one, the file name and the previous segment; frames are verified (or a sealed segment trusted by
 * its seal frame in `"tail"` mode). Where a segment's frames stop is judged by recovery's rule
 * (`classifyEnd`): a torn tail is reported as such, anything else is a problem. Only I/O fails
 * the scan.
 */
export const scanLog = (
  fs: FileSystem.FileSystem,
  directory: string,
  options: ScanOptions
): Effect.Effect<LogScan, WalIOError | WalFormatError, Path.Path> =>
  Effect.gen(function*() {
    const { join } = yield* Path.Path
    const everything = yield* listDirectory(fs, directory)
    const problems: Array<Problem> = []
    const reclaimPoint = yield* readReclaimPoint(fs, directory).pipe(
      Effect.catchTag("WalCorruptionError", (error) => {
        problems.push(corruption(error.file, error.offset, error.reason))
        return Effect.succeed(Option.none<ReclaimPoint>())
      })
    )
    if (everything.segments.length === 0 && Option.isNone(reclaimPoint)) return yield* notAWal(directory)
    const sizeOf = (name: string) => {
      const path = join(directory, name)
      return Effect.map(fs.stat(path).pipe(Effect.mapError(fromPlatformError("stat", path))), (info) => Number(info.size))
    }
    // Segments below the reclaim point were reclaimed on purpose and wait to be removed.
    const split = splitAtReclaimPoint(everything, reclaimPoint)
    const archived: Array<ScannedSegment> = []
    for (const entry of split.reclaimed) {
      archived.push({
        index: entry.index,
        name: entry.name,
        path: join(directory, entry.name),
        state: "archived",
        firstSequence: entry.firstSequence,
        lastSequence: entry.firstSequence - 1,
        entries: 0,
        bytes: yield* sizeOf(entry.name),
        verified: false,
        committedEnd: 0
      })
    }
    const listing = split.listing
    const misplaced = misplacedStart(split, reclaimPoint)
    if (listing.segments.length === 0) {
      problems.push(corruption(join(directory, RECLAIM_FILE), 0, "every segment from the reclaim point on is missing"))
    } else if (Option.isSome(misplaced)) {
      problems.push(corruption(join(directory, misplaced.value.name), 0, misplaced.value.reason))
    }
    const sizes: Array<number> = []
    for (const entry of listing.segments) sizes.push(yield* sizeOf(entry.name))
    const bytesTotal = sizes.reduce((a, b) => a + b, 0)
    const reportProgress = (done: number) => options.onProgress === undefined ? Effect.void : options.onProgress(done, bytesTotal)

    const segments: Array<ScannedSegment> = []
    let header = Option.none<SegmentHeader>()
    let tornTail = Option.none<TornTail>()
    let frames = 0
    let entries = 0
    let lastSequence = 0
    // Unknown when the log starts after a reclaim point: the last checkpoint may have gone with it.
    let lastCheckpoint: number | undefined = Option.isSome(reclaimPoint) ? undefined : 0
    let bytesBefore = 0
    const stopped = () => !options.all && problems.length > 0

    for (let i = 0; i < listing.segments.length && !stopped(); i++) {
      const entry = listing.segments[i]!
      const path = join(directory, entry.name)
      const size = sizes[i]!
      const isLast = i === listing.segments.length - 1
      const previous = listing.segments[i - 1]
      if (previous !== undefined && entry.index !== previous.index + 1) {
        problems.push(corruption(path, 0, `segment ${entry.index} follows segment ${previous.index}: a segment is missing`))
        if (stopped()) break
      }
      const summary: ScannedSegment = {
        index: entry.index,
        name: entry.name,
        path,
        bytes: size,
        firstSequence: entry.firstSequence,
        lastSequence: entry.firstSequence - 1,
        entries: 0,
        state: isLast ? "active" : "unsealed",
        verified: false,
        committedEnd: 0
      }
      const scanned = yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* open(fs, path, "r")
        const headerBytes = yield* readAt(file, 0, HEADER_SIZE, path)
        const decoded = decodeHeader(headerBytes)
        if (Either.isLeft(decoded)) {
          const { problem, detail } = decoded.left
          if (isTornCreation({ isLast, position: i, size, headerBytes, problem })) {
            tornTail = Option.some({ file: path, offset: 0, bytes: size, entries: 0, reason: "segment creation torn by a crash" })
          } else {
            problems.push({ file: path, offset: 0, problem, reason: detail })
          }
          return summary
        }
        const checked = checkHeader(path, decoded.right, {
          codecId: Option.match(header, { onNone: () => decoded.right.codecId, onSome: (h) => h.codecId }),
          walId: Option.getOrUndefined(Option.map(header, (h) => h.walId)),
          index: entry.index,
          firstSequence: entry.firstSequence
        })
        if (Either.isLeft(checked)) {
          const error = checked.left
          problems.push(
            error._tag === "WalFormatError"
              ? { file: path, offset: 0, problem: error.problem, reason: error.detail }
              : corruption(path, 0, error.reason)
          )
          return summary
        }
        const segmentHeader = checked.right
        if (Option.isNone(header)) header = Option.some(segmentHeader)
        if (segments.length > 0 && segmentHeader.firstSequence !== lastSequence + 1) {
          problems.push(corruption(path, 0, `segment starts at sequence ${segmentHeader.firstSequence}, expected ${lastSequence + 1}`))
          if (stopped()) return summary
        }
        const seed = frameSeed(segmentHeader.walId)
        if (options.mode === "tail" && !isLast) {
          const seal = yield* readSeal(file, path, size, segmentHeader.firstSequence, seed)
          if (Option.isSome(seal)) {
            frames++
            entries += seal.value.entryCount
            lastSequence = seal.value.lastSequence
            lastCheckpoint = seal.value.lastCheckpoint
            const sealed: ScannedSegment = { ...summary, lastSequence, entries: seal.value.entryCount, state: "sealed", committedEnd: size }
            return sealed
          }
        }
        let progress = SegmentProgress.empty(segmentHeader.firstSequence, lastCheckpoint)
        let start = HEADER_SIZE
        let segmentEntries = 0
        let segmentLast = segmentHeader.firstSequence - 1
        let committedEnd = HEADER_SIZE
        let resynchronised = false
        for (;;) {
          // The format's limit, as recovery reads: a length past the end of the file is an
          // incomplete frame, and the read limit keeps it from growing the buffer.
          const reader = new SegmentReader(file, path, start, progress.nextSequence, seed, FORMAT_MAX_PAYLOAD)
          reader.limit = size
          const damage = yield* walkEntries(reader, progress, options.onEntry, (offset) => reportProgress(bytesBefore + offset))
          frames += progress.frames
          segmentEntries += progress.entries
          if (progress.entries > 0) segmentLast = progress.committedSequence
          lastCheckpoint = progress.checkpoint
          if (!resynchronised) committedEnd = progress.committedEnd
          // The walk reached the end of the file after a complete batch: the segment ends there.
          if (Option.isNone(damage) && progress.pending === 0) break
          const bytes = yield* readAt(file, progress.committedEnd, size - progress.committedEnd, path)
          const verdict = classifyEnd({ isLast, seed, committedEnd: progress.committedEnd, pending: progress.pending, damage, bytes })
          if (verdict._tag === "End") break
          if (verdict._tag === "TornTail") {
            tornTail = Option.some({ file: path, ...verdict.tail })
            break
          }
          problems.push(corruption(path, verdict.offset, verdict.reason))
          if (stopped()) break
          // Resynchronise on the next valid frame after the damage.
          const rest = bytes.subarray(verdict.offset - progress.committedEnd)
          const next = findDurableFrameAfter(rest, 1, rest.length, seed, FORMAT_MAX_PAYLOAD, -1)
          if (next < 0) break
          const sequence = readU64(new DataView(rest.buffer, rest.byteOffset), next + 16)
          start = verdict.offset + next
          progress = SegmentProgress.resynchronised(
            segmentHeader.firstSequence,
            start,
            rest[next + 8] === FrameKind.seal ? sequence + 1 : sequence,
            lastCheckpoint
          )
          resynchronised = true
        }
        const sealed = progress.sealed
        if (!sealed && !isLast && !stopped()) {
          problems.push(corruption(path, size, "segment is not sealed but a later segment exists"))
        }
        lastSequence = segmentLast
        entries += segmentEntries
        const scanned: ScannedSegment = {
          ...summary,
          lastSequence: segmentLast,
          entries: segmentEntries,
          state: sealed ? "sealed" : summary.state,
          verified: true,
          committedEnd
        }
        return scanned
      }))
      segments.push(scanned)
      bytesBefore += size
      yield* reportProgress(bytesBefore)
    }
    return {
      header,
      segments: [...archived, ...segments],
      kept: listing.segments,
      problems,
      tornTail,
      frames,
      entries,
      lastSequence,
      lastCheckpoint: lastCheckpoint ?? 0,
      bytes: bytesTotal,
      ignored: listing.ignored
    }
  })

