/**
 * Recovery: scan the segments in order, check every header, verify frames, classify the end of the
 * last segment, and apply the only repairs a crash can explain (cut a torn tail, remove a segment
 * whose creation was torn), each of them reported. Anything else is refused with a typed error.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Effect, Option, Random, type Scope } from "effect"
import * as Path from "@effect/platform/Path"
import type { RecoveryReport, TornTail } from "../Wal.js"
import { fromPlatformError, WalCorruptionError, type WalFormatError, type WalIOError, type WalLockedError } from "../WalError.js"
import type { ResolvedConfig } from "./config.js"
import { classifyEnd, type Damage, SegmentProgress } from "./format/acceptance.js"
import { FORMAT_MAX_PAYLOAD, HEADER_SIZE, SEAL_FRAME_SIZE, WAL_ID_SIZE } from "./format/constants.js"
import { frameSeed } from "./format/frame.js"
import { hex } from "./format/header.js"
import { ensureDirectory, open, readAt, syncDirectory, syncFile, truncate } from "./io.js"
import { acquire } from "./lock.js"
import { SegmentReader } from "./read/segmentReader.js"
import { createSegment } from "./segment/create.js"
import { readSegmentStart, removeTornCreation } from "./segment/header.js"
import { checkContiguous, listDirectory, misplacedStart, splitAtReclaimPoint } from "./segment/list.js"
import { readSeal } from "./segment/seal.js"
import { walkFrames } from "./segment/walk.js"
import type { SegmentState } from "./segment/state.js"
import { readReclaimPoint, RECLAIM_FILE } from "./write/reclaim.js"

/** The state a writer starts from. */
export interface Recovered {
  readonly walId: Uint8Array
  readonly seed: number
  /** Segments in order; the last one is the active segment and is never sealed. */
  readonly segments: Array<SegmentState>
  readonly lastSequence: number
  readonly lastTimestamp: number
  readonly lastCheckpoint: number
  readonly report: RecoveryReport
  /** Segments below the reclaim point that a crash left behind; they are to be archived. */
  readonly leftover: ReadonlyArray<SegmentState>
}

/** The outcome of scanning one segment's frames. */
interface SegmentScan {
  readonly lastSequence: number
  readonly lastTimestamp: number
  /** `undefined` while unknown: the last checkpoint was in a reclaimed segment and no seal named it yet. */
  readonly lastCheckpoint: number | undefined
  readonly committedEnd: number
  readonly sealed: boolean
  readonly frames: number
  readonly torn: Option.Option<TornTail>
}

interface ScanInput {
  readonly file: FileSystem.File
  readonly path: string
  readonly size: number
  readonly firstSequence: number
  readonly isLast: boolean
  readonly seed: number
  readonly lastCheckpoint: number | undefined
}

const corruption = (file: string, offset: number, reason: string) => new WalCorruptionError({ file, offset, reason })

/** Verifies every frame of a segment by the frame-acceptance rule, and judges where they stop with `judgeEnd`. */
const scanFrames = (input: ScanInput): Effect.Effect<SegmentScan, WalIOError | WalCorruptionError> =>
  Effect.gen(function*() {
    const { file, isLast, path, seed, size } = input
    const reader = new SegmentReader(file, path, HEADER_SIZE, input.firstSequence, seed, FORMAT_MAX_PAYLOAD)
    reader.limit = size
    const progress = SegmentProgress.empty(input.firstSequence, input.lastCheckpoint)
    const damage = yield* walkFrames(reader, progress)
    const torn = yield* judgeEnd({ file, path, size, isLast, seed, progress, damage })
    return {
      lastSequence: progress.committedSequence,
      lastTimestamp: progress.lastTimestamp,
      lastCheckpoint: progress.checkpoint,
      committedEnd: progress.committedEnd,
      sealed: progress.sealed,
      frames: progress.frames,
      torn
    }
  })

/** Where the frames of a segment stopped, for `judgeEnd`. */
export interface FramesEnd {
  readonly file: FileSystem.File
  readonly path: string
  readonly size: number
  readonly isLast: boolean
  readonly seed: number
  /** What the segment's frames established. */
  readonly progress: SegmentProgress
  /** The frame the walk stopped on; none when it reached the end of the file. */
  readonly damage: Option.Option<Damage>
}

/**
 * Judges where a segment's frames stopped by `classifyEnd`: the end of the log (none), a torn tail,
 * or a failure with the corruption. A segment that is not the last must also end with its seal.
 */
export const judgeEnd = (end: FramesEnd): Effect.Effect<Option.Option<TornTail>, WalIOError | WalCorruptionError> =>
  Effect.gen(function*() {
    const { path, progress, size } = end
    const committedEnd = progress.committedEnd
    const verdict = classifyEnd({
      isLast: end.isLast,
      seed: end.seed,
      committedEnd,
      pending: progress.pending,
      damage: end.damage,
      // A segment's whole rest can be large: read it only where it is looked at.
      bytes: end.isLast ? yield* readAt(end.file, committedEnd, size - committedEnd, path) : new Uint8Array(0)
    })
    switch (verdict._tag) {
      case "End":
        if (!end.isLast && !progress.sealed) return yield* corruption(path, size, "segment is not sealed but a later segment exists")
        return Option.none()
      case "TornTail":
        return Option.some({ file: path, ...verdict.tail })
      case "Corruption":
        return yield* corruption(path, verdict.offset, verdict.reason)
    }
  })

/** A sealed segment known by its seal frame only (fast open); fails unless the seal is valid. */
const sealOnly = (
  file: FileSystem.File,
  path: string,
  size: number,
  firstSequence: number,
  seed: number
): Effect.Effect<SegmentScan, WalIOError | WalCorruptionError> =>
  Effect.flatMap(readSeal(file, path, size, firstSequence, seed), Option.match({
    onNone: () =>
      Effect.fail(corruption(path, Math.max(size - SEAL_FRAME_SIZE, HEADER_SIZE), "segment is not the last but does not end with a valid seal frame")),
    onSome: (seal) =>
      Effect.succeed<SegmentScan>({
        lastSequence: seal.lastSequence,
        lastTimestamp: seal.timestamp,
        lastCheckpoint: seal.lastCheckpoint,
        committedEnd: size,
        sealed: true,
        frames: 1,
        torn: Option.none()
      })
  }))

/**
 * Opens the WAL directory for a writer: lock, scan, verify, cut a torn tail, and make sure the last
 * segment is an unsealed active segment.
 */
export const recover = (
  fs: FileSystem.FileSystem,
  config: ResolvedConfig,
  codecId: string
): Effect.Effect<Recovered, WalIOError | WalLockedError | WalFormatError | WalCorruptionError, Scope.Scope | Path.Path> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const directory = config.directory
    const path = yield* Path.Path
    const { join } = path
    yield* ensureDirectory(fs, directory)
    const lock = yield* acquire(fs, directory)
    const everything = yield* listDirectory(fs, directory)
    const reclaimPoint = yield* readReclaimPoint(fs, directory)
    const split = splitAtReclaimPoint(everything, reclaimPoint)
    const listing = split.listing
    const leftover = split.reclaimed.map((s): SegmentState => ({
      index: s.index,
      firstSequence: s.firstSequence,
      name: s.name,
      path: join(directory, s.name),
      lastSequence: s.firstSequence - 1,
      size: 0,
      sealed: true
    }))
    const misplaced = misplacedStart(split, reclaimPoint)
    if (Option.isSome(misplaced)) return yield* corruption(join(directory, misplaced.value.name), 0, misplaced.value.reason)
    if (listing.segments.length === 0 && Option.isSome(reclaimPoint)) {
      return yield* corruption(join(directory, RECLAIM_FILE), 0, "every segment from the reclaim point on is missing")
    }
    yield* checkContiguous(directory, listing)

    const segments: Array<SegmentState> = []
    const removedSegments: Array<string> = []
    let walId: Uint8Array | undefined
    let lastSequence = 0
    let lastTimestamp = 0
    // Unknown when the log starts after a reclaim point: the last checkpoint may have gone with it.
    let lastCheckpoint: number | undefined = Option.isSome(reclaimPoint) ? undefined : 0
    let framesVerified = 0
    let segmentsScanned = 0
    let tornTail = Option.none<TornTail>()
    let recreate: { index: number; firstSequence: number } | undefined

    for (let i = 0; i < listing.segments.length; i++) {
      const entry = listing.segments[i]!
      const isLast = i === listing.segments.length - 1
      const path = join(directory, entry.name)
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* open(fs, path, "r")
        const start = yield* readSegmentStart(file, {
          path,
          position: i,
          isLast,
          expected: { codecId, walId, index: entry.index, firstSequence: entry.firstSequence },
          previousLastSequence: lastSequence
        })
        if (Option.isNone(start)) return Option.none()
        const { header, size } = start.value
        walId = header.walId
        const seed = frameSeed(header.walId)
        const scan = !isLast && config.verify === "tail"
          ? yield* sealOnly(file, path, size, header.firstSequence, seed)
          : yield* scanFrames({
            file,
            path,
            size,
            firstSequence: header.firstSequence,
            isLast,
            seed,
            lastCheckpoint
          })
        return Option.some({ scan, size, scanned: isLast || config.verify === "full" })
      }))
      if (Option.isNone(outcome)) {
        // A crash tore the creation of this segment: no entry was ever acknowledged in it.
        yield* removeTornCreation(fs, directory, path)
        removedSegments.push(entry.name)
        recreate = { index: entry.index, firstSequence: entry.firstSequence }
        break
      }
      const { scan, scanned, size } = outcome.value
      framesVerified += scan.frames
      if (scanned) segmentsScanned++
      lastSequence = scan.lastSequence
      lastTimestamp = Math.max(lastTimestamp, scan.lastTimestamp)
      lastCheckpoint = scan.lastCheckpoint
      if (isLast) {
        yield* Effect.scoped(Effect.gen(function*() {
          const file = yield* open(fs, path, "r+")
          // Cut a torn tail before the first new append, so the bytes beyond it can never reappear
          // behind new frames; and the free space after a seal whose cut a crash lost, since a
          // segment about to be followed by another must end with its seal frame.
          if (Option.isSome(scan.torn) || (scan.sealed && size > scan.committedEnd)) {
            yield* truncate(file, scan.committedEnd, path)
          }
          // What recovery read may never have been fsynced (a crashed process, a failed fsync):
          // make it durable before anything is built on it, so a later power loss cannot take away
          // entries that were replayed, a seal the next segment relies on, or the bytes that new
          // frames will claim as durable. A failing fsync fails the open.
          yield* syncFile(file, path)
        }))
        tornTail = scan.torn
      }
      segments.push({
        index: entry.index,
        firstSequence: entry.firstSequence,
        name: entry.name,
        path,
        lastSequence: scan.lastSequence,
        size: scan.committedEnd,
        sealed: scan.sealed
      })
    }

    const created = walId === undefined
    for (const name of listing.creating) {
      // A segment whose creation a crash interrupted before its rename: it never held an entry.
      yield* fs.remove(join(directory, name)).pipe(Effect.mapError(fromPlatformError("remove", name)))
      removedSegments.push(name)
    }
    if (walId === undefined) {
      const bytes = new Uint8Array(WAL_ID_SIZE)
      for (let i = 0; i < WAL_ID_SIZE; i++) bytes[i] = yield* Random.nextIntBetween(0, 256)
      walId = bytes
    }
    const last = segments[segments.length - 1]
    if (last === undefined || last.sealed) {
      const next = last === undefined
        ? recreate ?? { index: 1, firstSequence: 1 }
        : { index: last.index + 1, firstSequence: last.lastSequence + 1 }
      segments.push(yield* createSegment(fs, path, directory, walId, codecId, next.index, next.firstSequence))
      if (last === undefined) lastSequence = next.firstSequence - 1
    }
    // Names adopted from a crashed process, removals and creations above: all durable before the
    // first append.
    yield* syncDirectory(fs, directory)
    const finished = yield* Clock.currentTimeMillis
    return {
      walId,
      leftover,
      seed: frameSeed(walId),
      segments,
      lastSequence,
      lastTimestamp,
      lastCheckpoint: lastCheckpoint ?? 0,
      report: {
        created,
        walId: hex(walId),
        codecId,
        verify: config.verify,
        segments: segments.length,
        segmentsScanned,
        framesVerified,
        lastSequence,
        lastCheckpoint: lastCheckpoint ?? 0,
        tornTail,
        removedSegments,
        reclaimedAtOpen: leftover.map((segment) => segment.name),
        lockTakenOver: lock.takenOver,
        ignoredFiles: listing.ignored,
        elapsedMillis: finished - started
      }
    }
  })
