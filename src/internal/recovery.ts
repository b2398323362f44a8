/**
 * Recovery: scan the segments in order, check every header, verify frames, classify the end of the
 * last segment, and apply the only repairs a crash can explain (cut a torn tail, remove a segment
 * whose creation was torn), each of them reported. Anything else is refused with a typed error.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Effect, Either, Option, Random, type Scope } from "effect"
import * as Path from "@effect/platform/Path"
import type { RecoveryReport, TornTail } from "../Wal.js"
import { fromPlatformError, WalCorruptionError, WalFormatError, type WalIOError, type WalLockedError } from "../WalError.js"
import type { ResolvedConfig } from "./config.js"
import { isZeros, readU64, viewOf } from "./format/bytes.js"
import { FORMAT_MAX_PAYLOAD, FrameKind, HEADER_SIZE, SEAL_FRAME_SIZE, SEGMENT_MAGIC, WAL_ID_SIZE } from "./format/constants.js"
import { decodeSealPayload, describeStop, findDurableFrameAfter, frameSeed, FrameCursor, type StopReason } from "./format/frame.js"
import { decodeHeader, encodeHeader, hex, type SegmentHeader } from "./format/header.js"
import { formatSegmentName, parseSegmentName } from "./segment/name.js"
import { ensureDirectory, open, readAt, sizeOf, syncDirectory, syncFile, truncate, writeAll } from "./io.js"
import { acquire, LOCK_FILE } from "./lock.js"
import { readReclaimPoint, RECLAIM_FILE, type ReclaimPoint } from "./write/reclaim.js"
import { SegmentReader } from "./read/segmentReader.js"

/** What the WAL knows of one segment. The writer updates the active one in place. */
export interface SegmentState {
  readonly index: number
  readonly firstSequence: number
  readonly name: string
  readonly path: string
  /** Last committed sequence in the segment; `firstSequence - 1` while empty. */
  lastSequence: number
  /** Committed size in bytes. */
  size: number
  sealed: boolean
  /** Reclaimed: waiting to be archived once no reader needs it. */
  archived: boolean
}

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

/** A directory listing split into segments (in index order) and other files. */
export interface Listing {
  readonly segments: ReadonlyArray<{ readonly name: string; readonly index: number; readonly firstSequence: number }>
  readonly ignored: ReadonlyArray<string>
  /** Segments whose creation a crash interrupted before their final rename. */
  readonly creating: ReadonlyArray<string>
}

/** Suffix of a segment file while it is being created; it becomes a segment by an atomic rename. */
export const CREATING_SUFFIX = ".creating"

const isOwnFile = (name: string) =>
  name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`) || name === RECLAIM_FILE || name === `${RECLAIM_FILE}.tmp`

/** Lists a WAL directory. The lock and reclaim files are the WAL's own and not listed. */
export const listDirectory = (fs: FileSystem.FileSystem, directory: string): Effect.Effect<Listing, WalIOError> =>
  fs.readDirectory(directory).pipe(
    Effect.mapError(fromPlatformError("readDirectory", directory)),
    Effect.map((names) => {
      const segments: Array<{ name: string; index: number; firstSequence: number }> = []
      const ignored: Array<string> = []
      const creating: Array<string> = []
      for (const name of [...names].sort()) {
        const parsed = parseSegmentName(name)
        if (Option.isSome(parsed)) segments.push({ name, index: parsed.value.segmentIndex, firstSequence: parsed.value.firstSequence })
        else if (name.endsWith(CREATING_SUFFIX) && Option.isSome(parseSegmentName(name.slice(0, -CREATING_SUFFIX.length)))) {
          creating.push(name)
        } else if (!isOwnFile(name)) ignored.push(name)
      }
      segments.sort((a, b) => a.index - b.index)
      return { segments, ignored, creating }
    })
  )

/** A listing split at the reclaim point: the segments kept, from `floor` on, and those below it. */
export interface SplitListing {
  /** Index of the first segment kept: the reclaim point's, or 1 without one. */
  readonly floor: number
  /** The segments kept, with the listing's other files. */
  readonly listing: Listing
  /** Segments below the reclaim point: reclaimed on purpose, waiting to be removed. */
  readonly reclaimed: Listing["segments"]
}

/** Splits a listing at the reclaim point (none: nothing was ever reclaimed). */
export const splitAtReclaimPoint = (everything: Listing, reclaimPoint: Option.Option<ReclaimPoint>): SplitListing => {
  const floor = Option.match(reclaimPoint, { onNone: () => 1, onSome: (point) => point.segmentIndex })
  return {
    floor,
    listing: { ...everything, segments: everything.segments.filter((s) => s.index >= floor) },
    reclaimed: everything.segments.filter((s) => s.index < floor)
  }
}

/**
 * Why the first segment kept is not where the log must start (at the reclaim point, or at
 * segment 1 without one): the segment's name and the reason. None when it is, or when no
 * segment is kept.
 */
export const misplacedStart = (
  split: SplitListing,
  reclaimPoint: Option.Option<ReclaimPoint>
): Option.Option<{ readonly name: string; readonly reason: string }> => {
  const head = split.listing.segments[0]
  if (head === undefined) return Option.none()
  if (head.index === split.floor && !Option.exists(reclaimPoint, (point) => point.firstSequence !== head.firstSequence)) {
    return Option.none()
  }
  return Option.some({
    name: head.name,
    reason: Option.match(reclaimPoint, {
      onNone: () => `the log starts at segment ${head.index}: segments from ${split.floor} are missing and were never reclaimed`,
      onSome: (point) => `the log should start at segment ${split.floor} (sequence ${point.firstSequence}), the reclaim point`
    })
  })
}

/** Fails when the segment indexes of a listing are not contiguous. */
export const checkContiguous = (
  directory: string,
  listing: Listing
): Effect.Effect<void, WalCorruptionError, Path.Path> =>
  Effect.flatMap(Path.Path, (path) => {
    for (let i = 1; i < listing.segments.length; i++) {
      const previous = listing.segments[i - 1]!
      const current = listing.segments[i]!
      if (current.index !== previous.index + 1) {
        return Effect.fail(
          new WalCorruptionError({
            file: path.join(directory, current.name),
            offset: 0,
            reason: `segment ${current.index} follows segment ${previous.index}: a segment is missing`
          })
        )
      }
    }
    return Effect.void
  })

/** The expectations a header is checked against. */
export interface HeaderExpectations {
  /** The codec id in use; `undefined` adopts whatever the header says (a replica). */
  readonly codecId: string | undefined
  readonly walId: Uint8Array | undefined
  readonly index: number
  readonly firstSequence: number
}

/** Checks a decoded header against the WAL, the codec in use and the file's name. */
export const checkHeader = (
  path: string,
  header: SegmentHeader,
  expected: HeaderExpectations
): Either.Either<SegmentHeader, WalFormatError | WalCorruptionError> => {
  if (expected.walId !== undefined && hex(header.walId) !== hex(expected.walId)) {
    return Either.left(
      new WalFormatError({
        file: path,
        problem: "wal-id-mismatch",
        detail: `segment belongs to WAL ${hex(header.walId)}, not ${hex(expected.walId)}`
      })
    )
  }
  if (expected.codecId !== undefined && header.codecId !== expected.codecId) {
    return Either.left(
      new WalFormatError({
        file: path,
        problem: "codec-mismatch",
        detail: `segment was written with codec "${header.codecId}" but the WAL is opened with "${expected.codecId}"`
      })
    )
  }
  if (header.segmentIndex !== expected.index || header.firstSequence !== expected.firstSequence) {
    return Either.left(
      new WalCorruptionError({
        file: path,
        offset: 0,
        reason: `header says segment ${header.segmentIndex} from sequence ${header.firstSequence}, ` +
          `the file name says segment ${expected.index} from sequence ${expected.firstSequence}`
      })
    )
  }
  return Either.right(header)
}

/** Reads and checks a segment's header. */
export const readHeader = (
  file: FileSystem.File,
  path: string,
  expected: HeaderExpectations
): Effect.Effect<SegmentHeader, WalIOError | WalFormatError | WalCorruptionError> =>
  Effect.flatMap(readAt(file, 0, HEADER_SIZE, path), (bytes) =>
    Either.match(decodeHeader(bytes), {
      onLeft: (problem) => Effect.fail(new WalFormatError({ file: path, problem: problem.problem, detail: problem.detail })),
      onRight: (header) => checkHeader(path, header, expected)
    }))

/** Whether `bytes` could be a segment header torn by a crash during creation: zeros or a prefix of one. */
const looksLikeTornHeader = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0 && (i >= SEGMENT_MAGIC.length || bytes[i] !== SEGMENT_MAGIC[i])) return false
  }
  return true
}

/** Where a segment sits in the log being recovered, and what its header must say. */
export interface SegmentPosition {
  readonly path: string
  /** Its position in the listing (0 for the first kept segment). */
  readonly position: number
  readonly isLast: boolean
  readonly expected: HeaderExpectations
  /** The last sequence of the segment before it (ignored for the first). */
  readonly previousLastSequence: number
}

/** An open segment whose header passed every check. */
export interface SegmentStart {
  readonly header: SegmentHeader
  readonly headerBytes: Uint8Array
  readonly size: number
}

/**
 * Reads and checks the header of an open segment. `None` when the segment is the last one and its
 * creation was torn by a crash (at most a header's worth of bytes that do not decode: zeros, a
 * prefix of the magic, or anything once an earlier segment proves a new one was due); no entry was
 * ever acknowledged in such a segment. Fails with `WalFormatError` for any other bad header, and
 * with `WalCorruptionError` when the header contradicts the file name or the previous segment.
 */
export const readSegmentStart = (
  file: FileSystem.File,
  at: SegmentPosition
): Effect.Effect<Option.Option<SegmentStart>, WalIOError | WalFormatError | WalCorruptionError> =>
  Effect.gen(function*() {
    const { path } = at
    const size = yield* sizeOf(file, path)
    const headerBytes = yield* readAt(file, 0, HEADER_SIZE, path)
    const decoded = decodeHeader(headerBytes)
    if (Either.isLeft(decoded)) {
      const tornCreation = at.isLast && size <= HEADER_SIZE &&
        (decoded.left.problem === "foreign-file" || decoded.left.problem === "bad-header") &&
        (at.position > 0 || looksLikeTornHeader(headerBytes))
      if (tornCreation) return Option.none()
      return yield* new WalFormatError({ file: path, problem: decoded.left.problem, detail: decoded.left.detail })
    }
    const header = yield* checkHeader(path, decoded.right, at.expected)
    if (at.position > 0 && header.firstSequence !== at.previousLastSequence + 1) {
      return yield* corruption(path, 0, `segment starts at sequence ${header.firstSequence}, expected ${at.previousLastSequence + 1}`)
    }
    return Option.some({ header, headerBytes, size })
  })

/**
 * Removes a segment whose creation a crash tore (`readSegmentStart` gave `None`) and makes the
 * removal durable before a segment under the same name is created again.
 */
export const removeTornCreation = (
  fs: FileSystem.FileSystem,
  directory: string,
  path: string
): Effect.Effect<void, WalIOError> =>
  Effect.zipRight(
    fs.remove(path).pipe(Effect.mapError(fromPlatformError("remove", path))),
    syncDirectory(fs, directory)
  )

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

/** Verifies every frame of a segment, and judges where they stop with `judgeEnd`. */
const scanFrames = (input: ScanInput): Effect.Effect<SegmentScan, WalIOError | WalCorruptionError> =>
  Effect.gen(function*() {
    const { file, path, size, isLast } = input
    const reader = new SegmentReader(file, path, HEADER_SIZE, input.firstSequence, input.seed, FORMAT_MAX_PAYLOAD)
    reader.limit = size
    const cursor = reader.cursor
    let committedEnd = HEADER_SIZE
    let lastSequence = input.firstSequence - 1
    let lastTimestamp = 0
    let lastCheckpoint = input.lastCheckpoint
    let pendingCheckpoint = lastCheckpoint
    let pending = 0
    let entries = 0
    let frames = 0
    let sealed = false
    let stop: StopReason
    for (;;) {
      const result = cursor.next()
      if (result === "frame") {
        frames++
        if (sealed) return yield* corruption(path, reader.position - (cursor.payloadEnd - cursor.frameStart), "frame after the seal frame")
        if (cursor.kind === FrameKind.seal) {
          const seal = decodeSealPayload(cursor.buffer, cursor.payloadStart)
          const at = reader.position - (cursor.payloadEnd - cursor.frameStart)
          if (pending > 0) return yield* corruption(path, at, "seal frame inside an atomic batch")
          // After a reclamation the last checkpoint may lie in a removed segment: then the seal can
          // only be checked to name a sequence before this segment.
          const checkpointMatches = lastCheckpoint === undefined
            ? seal.lastCheckpoint < input.firstSequence
            : seal.lastCheckpoint === lastCheckpoint
          if (seal.lastSequence !== cursor.sequence || seal.entryCount !== entries || !checkpointMatches) {
            return yield* corruption(path, at, "seal frame does not match the segment's entries")
          }
          lastCheckpoint = seal.lastCheckpoint
          sealed = true
          committedEnd = reader.position
          lastTimestamp = Math.max(lastTimestamp, cursor.timestamp)
          continue
        }
        entries++
        pending++
        if (cursor.kind === FrameKind.checkpoint) pendingCheckpoint = cursor.sequence
        if (cursor.commits) {
          pending = 0
          committedEnd = reader.position
          lastSequence = cursor.sequence
          lastTimestamp = Math.max(lastTimestamp, cursor.timestamp)
          lastCheckpoint = pendingCheckpoint
        }
        continue
      }
      if ((result === "end" || result === "incomplete") && (yield* reader.refill())) continue
      stop = result
      break
    }
    const torn = yield* judgeEnd({
      file,
      path,
      size,
      isLast,
      seed: input.seed,
      stop,
      stopAt: reader.position,
      pending,
      committedEnd,
      sealed,
      describe: (reason) => describeStop[reason]
    })
    return { lastSequence, lastTimestamp, lastCheckpoint, committedEnd, sealed, frames, torn }
  })

/** The frame a walk over a segment stopped on, and why. */
export interface Damage {
  readonly offset: number
  readonly reason: string
  /** Damage a crash cannot explain wherever it is (a frame after the seal, a seal that disagrees). */
  readonly structural: boolean
}

/** Where a segment's frames stopped, for `classifyEnd`. */
export interface StoppedFrames {
  readonly isLast: boolean
  readonly seed: number
  /** End of the last complete batch or of the seal frame. */
  readonly committedEnd: number
  /** Frames of an atomic batch seen after `committedEnd`. */
  readonly pending: number
  /** The frame the frames stopped on; none when they reached the end of the file. */
  readonly damage: Option.Option<Damage>
  /** The file's bytes from `committedEnd` to its end; only the last segment's are looked at. */
  readonly bytes: Uint8Array
}

/** How a segment's frames end: the end of the log, a torn tail, or corruption. */
export type EndVerdict =
  | { readonly _tag: "End" }
  | { readonly _tag: "TornTail"; readonly tail: Omit<TornTail, "file"> }
  | { readonly _tag: "Corruption"; readonly offset: number; readonly reason: string }

const corrupted = (offset: number, reason: string): EndVerdict => ({ _tag: "Corruption", offset, reason })

/**
 * Classifies where a segment's frames stopped, for recovery and Inspect alike. Zeros from the stop
 * to the end of the last segment are space the writer allocated ahead and never wrote: the end of
 * the log, behind which an unfinished atomic batch is a torn tail. Damage a crash cannot explain,
 * and damage in a segment that is not the last, is corruption. Other damage at the end of the last
 * segment is a torn tail unless a later frame proves the damaged bytes had already been made
 * durable (its durable offset is past them).
 */
export const classifyEnd = (stopped: StoppedFrames): EndVerdict => {
  const { bytes, committedEnd, isLast, pending } = stopped
  const notLast = (reason: string) => `${reason} in a segment that is not the last`
  let damage = stopped.damage
  if (Option.isSome(damage) && damage.value.structural) {
    return corrupted(damage.value.offset, isLast ? damage.value.reason : notLast(damage.value.reason))
  }
  let writtenEnd = committedEnd + bytes.length
  if (Option.isSome(damage) && isLast && isZeros(bytes.subarray(damage.value.offset - committedEnd))) {
    writtenEnd = damage.value.offset
    damage = Option.none()
  }
  if (Option.isNone(damage) && pending === 0) return { _tag: "End" }
  const { offset, reason } = Option.getOrElse(damage, () => ({ offset: committedEnd, reason: "atomic batch without its last frame" }))
  if (!isLast) return corrupted(offset, notLast(reason))
  const rest = bytes.subarray(offset - committedEnd, writtenEnd - committedEnd)
  const proof = findDurableFrameAfter(rest, 1, rest.length, stopped.seed, FORMAT_MAX_PAYLOAD, offset)
  if (proof >= 0) {
    return corrupted(offset, `${reason}, followed by a valid frame at offset ${offset + proof} written after this offset was made durable`)
  }
  return { _tag: "TornTail", tail: { offset: committedEnd, bytes: writtenEnd - committedEnd, entries: pending, reason } }
}

/** Where the frames of a segment stopped, for `judgeEnd`. */
export interface FramesEnd {
  readonly file: FileSystem.File
  readonly path: string
  readonly size: number
  readonly isLast: boolean
  readonly seed: number
  /** Why the frames stopped. */
  readonly stop: StopReason
  /** Offset of the frame that did not validate (the file's size at `"end"`). */
  readonly stopAt: number
  /** Frames of an atomic batch seen after the last complete batch. */
  readonly pending: number
  /** End of the last complete batch or of the seal frame. */
  readonly committedEnd: number
  readonly sealed: boolean
  readonly describe: (reason: Exclude<StopReason, "end">) => string
}

/**
 * Judges where a segment's frames stopped by `classifyEnd`: the end of the log (none), a torn tail,
 * or a failure with the corruption. A segment that is not the last must also end with its seal.
 */
export const judgeEnd = (end: FramesEnd): Effect.Effect<Option.Option<TornTail>, WalIOError | WalCorruptionError> =>
  Effect.gen(function*() {
    const { committedEnd, path, size } = end
    const verdict = classifyEnd({
      isLast: end.isLast,
      seed: end.seed,
      committedEnd,
      pending: end.pending,
      damage: end.stop === "end"
        ? Option.none()
        : Option.some({ offset: end.stopAt, reason: end.describe(end.stop), structural: false }),
      // A segment's whole rest can be large: read it only where it is looked at.
      bytes: end.isLast ? yield* readAt(end.file, committedEnd, size - committedEnd, path) : new Uint8Array(0)
    })
    switch (verdict._tag) {
      case "End":
        if (!end.isLast && !end.sealed) return yield* corruption(path, size, "segment is not sealed but a later segment exists")
        return Option.none()
      case "TornTail":
        return Option.some({ file: path, ...verdict.tail })
      case "Corruption":
        return yield* corruption(path, verdict.offset, verdict.reason)
    }
  })

/** Reads a sealed segment's seal frame only (fast open). */
const readSeal = (
  file: FileSystem.File,
  path: string,
  size: number,
  firstSequence: number,
  seed: number
): Effect.Effect<SegmentScan, WalIOError | WalCorruptionError> =>
  Effect.gen(function*() {
    const at = size - SEAL_FRAME_SIZE
    const invalid = corruption(path, Math.max(at, HEADER_SIZE), "segment is not the last but does not end with a valid seal frame")
    if (at < HEADER_SIZE) return yield* invalid
    const bytes = yield* readAt(file, at, SEAL_FRAME_SIZE, path)
    const cursor = new FrameCursor(seed, SEAL_FRAME_SIZE)
    cursor.reset(bytes, 0, bytes.length, readU64(viewOf(bytes), 16) + 1)
    if (cursor.next() !== "frame" || cursor.kind !== FrameKind.seal) return yield* invalid
    const seal = decodeSealPayload(bytes, cursor.payloadStart)
    if (seal.lastSequence - firstSequence + 1 !== seal.entryCount) return yield* invalid
    return {
      lastSequence: seal.lastSequence,
      lastTimestamp: cursor.timestamp,
      lastCheckpoint: seal.lastCheckpoint,
      committedEnd: size,
      sealed: true,
      frames: 1,
      torn: Option.none()
    }
  })

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
      return { index, firstSequence, name, path: segmentPath, lastSequence: firstSequence - 1, size: HEADER_SIZE, sealed: false, archived: false }
    })
  )

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
      sealed: true,
      archived: true
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
          ? yield* readSeal(file, path, size, header.firstSequence, seed)
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
        sealed: scan.sealed,
        archived: false
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
