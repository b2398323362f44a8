/**
 * Operator tooling over a WAL directory: a scanner that reads headers and frames and records every
 * problem instead of failing on the first one, and on top of it describe, verify, stats, a raw
 * entry stream, and the explicit repair. Only `repair` writes, and only under the writer lock.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Chunk, Clock, Effect, Either, Option, Stream } from "effect"
import * as Codec from "../Codec.js"
import { Host } from "../Host.js"
import type { Description, EntriesOptions, LockInfo, Problem, RawEntry, RepairReport, SegmentInfo, Stats, VerifyOptions, VerifyReport } from "../Inspect.js"
import type { TornTail } from "../Wal.js"
import {
  fromPlatformError,
  WalConfigError,
  WalCorruptionError,
  WalFormatError,
  type WalIOError,
  type WalLockedError
} from "../WalError.js"
import { readU64 } from "./format/bytes.js"
import { classifyEnd, type Damage, SegmentProgress } from "./format/acceptance.js"
import { FORMAT_MAX_PAYLOAD, FrameKind, HEADER_SIZE } from "./format/constants.js"
import { findDurableFrameAfter, frameSeed } from "./format/frame.js"
import { decodeHeader, hex, type SegmentHeader } from "./format/header.js"
import { open, readAt, sizeOf, syncDirectory, syncFile, truncate, writeAll } from "./io.js"
import { acquire, LOCK_FILE, readHolder, type LockHolder } from "./lock.js"
import { type DirectorySource, directorySource } from "./read/directorySource.js"
import { LogCursor, readChunk } from "./read/logReader.js"
import * as Payload from "./payload.js"
import { checkHeader, isTornCreation } from "./segment/header.js"
import { listDirectory, type Listing, misplacedStart, splitAtReclaimPoint } from "./segment/list.js"
import { readSeal } from "./segment/seal.js"
import { walkFrames } from "./segment/walk.js"
import { readReclaimPoint, RECLAIM_FILE, type ReclaimPoint } from "./write/reclaim.js"
import { SegmentReader } from "./read/segmentReader.js"

// ---------------------------------------------------------------------------------------------
// Scanning
// ---------------------------------------------------------------------------------------------

/** How a scan reads the log. */
interface ScanOptions {
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
interface ScannedSegment extends SegmentInfo {
  readonly path: string
  /** End of the last complete batch or seal frame: where a cut at damage in this segment goes. */
  readonly committedEnd: number
}

/** What a scan found in the whole directory. */
interface LogScan {
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

const notAWal = (directory: string) =>
  new WalFormatError({ file: directory, problem: "foreign-file", detail: "no segment files: this is not a WAL directory" })

/**
 * Scans a WAL directory in segment order. Every header is decoded and checked against the first
 * one, the file name and the previous segment; frames are verified (or a sealed segment trusted by
 * its seal frame in `"tail"` mode). Where a segment's frames stop is judged by recovery's rule
 * (`classifyEnd`): a torn tail is reported as such, anything else is a problem. Only I/O fails
 * the scan.
 */
const scanLog = (
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

// ---------------------------------------------------------------------------------------------
// describe, verify, stats
// ---------------------------------------------------------------------------------------------

/** Liveness of a lock holder as far as this process can tell, by the rule of the writer lock. */
const lockStatus = (holder: LockHolder): Effect.Effect<LockInfo["status"]> =>
  Effect.flatMap(Host, (host) =>
    holder.hostname !== host.hostname || holder.pid === host.pid
      ? Effect.succeed("unknown")
      : Effect.map(host.isRunning(holder.pid), (running) => running ? "live" : "stale"))

const readLock = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<Option.Option<LockInfo>, WalIOError, Path.Path> =>
  Effect.gen(function*() {
    const path = (yield* Path.Path).join(directory, LOCK_FILE)
    const exists = yield* fs.exists(path).pipe(Effect.mapError(fromPlatformError("stat", path)))
    if (!exists) return Option.none()
    const holder = yield* readHolder(fs, path)
    if (Option.isNone(holder)) return Option.some<LockInfo>({ holder: Option.none(), status: "stale" })
    const h = holder.value
    return Option.some<LockInfo>({
      holder: Option.some({ pid: h.pid, hostname: h.hostname, acquiredAt: h.acquiredAt }),
      status: yield* lockStatus(h)
    })
  })

const publicSegment = ({ committedEnd: _committedEnd, path: _path, ...info }: ScannedSegment): SegmentInfo => info

/** See `Inspect.describe`. */
export const describe = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<Description, WalIOError | WalFormatError, Path.Path> =>
  Effect.gen(function*() {
    const scan = yield* scanLog(fs, directory, { mode: "tail", all: true })
    const refused = scan.problems.find((p) => p.problem !== "corruption")
    if (refused !== undefined) return yield* (problemError(refused) as WalFormatError)
    // Without a format problem, the first segment's header decoded (or it is a torn creation).
    if (Option.isNone(scan.header)) return yield* notAWal(directory)
    const header = scan.header.value
    return {
      directory,
      walId: hex(header.walId),
      version: header.version,
      codecId: header.codecId,
      segments: scan.segments.map(publicSegment),
      lastSequence: scan.lastSequence,
      lastCheckpoint: scan.lastCheckpoint,
      lock: yield* readLock(fs, directory),
      tornTail: scan.tornTail,
      problems: scan.problems,
      ignoredFiles: scan.ignored
    }
  })

/** See `Inspect.verify`. */
export const verify = (
  fs: FileSystem.FileSystem,
  directory: string,
  options: VerifyOptions = {}
): Effect.Effect<VerifyReport, WalIOError | WalFormatError, Path.Path> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const scan = yield* scanLog(fs, directory, {
      mode: "full",
      all: options.all === true,
      ...(options.onProgress === undefined
        ? {}
        : { onProgress: (bytesDone: number, bytesTotal: number) => options.onProgress!({ bytesDone, bytesTotal }) })
    })
    const finished = yield* Clock.currentTimeMillis
    return {
      directory,
      walId: Option.map(scan.header, (h) => hex(h.walId)),
      codecId: Option.map(scan.header, (h) => h.codecId),
      segments: scan.segments.length,
      frames: scan.frames,
      entries: scan.entries,
      bytes: scan.bytes,
      lastSequence: scan.lastSequence,
      problems: scan.problems,
      tornTail: scan.tornTail,
      elapsedMillis: finished - started
    }
  })

/** The upper bound of the histogram bucket of a payload of `size` bytes: 16, 32, 64, ... */
const bucketOf = (size: number): number => {
  let upTo = 16
  while (upTo < size) upTo *= 2
  return upTo
}

/** See `Inspect.stats`. */
export const stats = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<Stats, WalIOError | WalFormatError | WalCorruptionError, Path.Path> =>
  Effect.gen(function*() {
    let data = 0
    let checkpoints = 0
    let payloadBytes = 0
    let smallest = Number.POSITIVE_INFINITY
    let largest = 0
    let firstSequence = 0
    let firstTimestamp = Number.POSITIVE_INFINITY
    let lastTimestamp = Number.NEGATIVE_INFINITY
    const buckets = new Map<number, number>()
    const scan = yield* scanLog(fs, directory, {
      mode: "full",
      all: false,
      onEntry: (kind, sequence, timestamp, size) => {
        if (kind === FrameKind.checkpoint) checkpoints++
        else data++
        if (firstSequence === 0) firstSequence = sequence
        payloadBytes += size
        smallest = Math.min(smallest, size)
        largest = Math.max(largest, size)
        firstTimestamp = Math.min(firstTimestamp, timestamp)
        lastTimestamp = Math.max(lastTimestamp, timestamp)
        const bucket = bucketOf(size)
        buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
      }
    })
    if (scan.problems.length > 0) return yield* problemError(scan.problems[0]!)
    const entries = data + checkpoints
    const histogram: Array<{ readonly upTo: number; readonly count: number }> = []
    if (entries > 0) {
      for (let upTo = bucketOf(smallest); upTo <= bucketOf(largest); upTo *= 2) histogram.push({ upTo, count: buckets.get(upTo) ?? 0 })
    }
    return {
      directory,
      segments: scan.segments.length,
      bytes: scan.bytes,
      entries,
      dataEntries: data,
      checkpointEntries: checkpoints,
      payloadBytes,
      smallestPayload: entries > 0 ? smallest : 0,
      largestPayload: largest,
      histogram,
      firstSequence,
      lastSequence: scan.lastSequence,
      firstTimestamp: entries > 0 ? Option.some(firstTimestamp) : Option.none(),
      lastTimestamp: entries > 0 ? Option.some(lastTimestamp) : Option.none(),
      spanMillis: entries > 0 ? lastTimestamp - firstTimestamp : 0,
      tornTail: scan.tornTail
    }
  })

// ---------------------------------------------------------------------------------------------
// entries
// ---------------------------------------------------------------------------------------------

/** Payloads as stored, as a WAL without a schema reads them. */
const rawPayload = Payload.make<Uint8Array, Uint8Array>(undefined, Codec.bytes)

const checkBound = (field: string, value: number | undefined): Option.Option<WalConfigError> =>
  value === undefined || Number.isSafeInteger(value)
    ? Option.none()
    : Option.some(new WalConfigError({ field, detail: `${value} is not an integer` }))

/** The codec id of the headers a source read (entries come only after a header was read). */
const codecIdOf = (source: DirectorySource): string => Option.match(source.header, { onNone: () => "", onSome: (h) => h.codecId })

/** See `Inspect.entries`. */
export const entries = (
  fs: FileSystem.FileSystem,
  directory: string,
  options: EntriesOptions = {}
): Stream.Stream<RawEntry, WalIOError | WalFormatError | WalCorruptionError | WalConfigError, Path.Path> => {
  const invalid = Option.orElse(checkBound("from", options.from), () => checkBound("to", options.to))
  if (Option.isSome(invalid)) return Stream.fail(invalid.value)
  return Stream.unwrapScoped(Effect.gen(function*() {
    // Read as `Wal.reader` reads, adopting the first header's codec: see `directorySource`.
    const found = yield* directorySource(fs, directory, undefined)
    if (Option.isNone(found)) return yield* notAWal(directory)
    const source = found.value
    const cursor = new LogCursor(fs, source, rawPayload, Math.max(options.from ?? 1, 1))
    const upTo = options.to ?? Number.POSITIVE_INFINITY
    yield* Effect.addFinalizer(() => cursor.dispose())
    return Stream.repeatEffectChunkOption(
      readChunk(cursor, upTo).pipe(
        Effect.mapError((error) => Option.some(error as WalIOError | WalFormatError | WalCorruptionError)),
        Effect.flatMap((chunk) =>
          Chunk.isEmpty(chunk)
            ? Effect.fail(Option.none())
            : Effect.succeed(Chunk.map(chunk, (entry): RawEntry => ({ ...entry, codecId: codecIdOf(source) })))
        )
      )
    )
  }))
}

// ---------------------------------------------------------------------------------------------
// repair
// ---------------------------------------------------------------------------------------------

const COPY_CHUNK = 1024 * 1024

/** Copies `[from, size)` of `source` into the new file `target` and fsyncs it. */
const copyRange = (fs: FileSystem.FileSystem, source: string, from: number, target: string) =>
  Effect.scoped(Effect.gen(function*() {
    const input = yield* open(fs, source, "r")
    const output = yield* open(fs, target, "wx")
    const size = yield* sizeOf(input, source)
    for (let offset = from; offset < size; offset += COPY_CHUNK) {
      yield* writeAll(output, yield* readAt(input, offset, Math.min(COPY_CHUNK, size - offset), source), target)
    }
    // The copy must be on stable storage before a single byte of the original is cut.
    yield* syncFile(output, target)
    return size - from
  }))

const backupName = (millis: number): string => `repair-${new Date(millis).toISOString().replace(/[:.]/g, "-")}`

/** See `Inspect.repair`. */
export const repair = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<RepairReport, WalIOError | WalLockedError | WalFormatError | WalCorruptionError, Path.Path> =>
  Effect.scoped(Effect.gen(function*() {
    const { join } = yield* Path.Path
    // Holding the writer lock keeps a writer out for the whole repair, and refuses while one is live.
    const lock = yield* acquire(fs, directory)
    const scan = yield* scanLog(fs, directory, { mode: "full", all: false })
    const untouched: RepairReport = {
      directory,
      repaired: false,
      problem: Option.none(),
      truncated: Option.none(),
      removedSegments: [],
      backupDirectory: Option.none(),
      savedBytes: 0,
      lastSequence: scan.lastSequence,
      tornTail: scan.tornTail,
      lockTakenOver: lock.takenOver
    }
    const problem = scan.problems[0]
    if (problem === undefined) return untouched
    // Another format, version, WAL or codec is not damage: cutting it would destroy readable data.
    if (problem.problem !== "corruption" && problem.problem !== "bad-header") return yield* problemError(problem)
    const position = scan.kept.findIndex((s) => join(directory, s.name) === problem.file)
    const damaged = scan.kept[position]
    const damagedPath = problem.file
    const scanned = scan.segments.find((s) => s.path === damagedPath)
    // Damage in a header or between segments removes the whole segment; damage in frames keeps
    // every complete batch before it.
    const cutAt = problem.offset === 0 || scanned === undefined ? 0 : scanned.committedEnd
    if (damaged === undefined || (cutAt === 0 && position === 0)) {
      return yield* new WalCorruptionError({
        file: problem.file,
        offset: problem.offset,
        reason: `${problem.reason}; repair refuses to remove the first segment, which would leave no log`
      })
    }
    const damagedSize = scanned?.bytes ?? 0
    const later = scan.kept.slice(position + 1).map((s) => s.name)

    const backup = join(directory, backupName(yield* Clock.currentTimeMillis))
    yield* fs.makeDirectory(backup).pipe(Effect.mapError(fromPlatformError("mkdir", backup)))
    let savedBytes = 0
    if (cutAt === 0 || cutAt < damagedSize) savedBytes += yield* copyRange(fs, damagedPath, cutAt, join(backup, damaged.name))
    for (const name of later) savedBytes += yield* copyRange(fs, join(directory, name), 0, join(backup, name))
    const manifest = join(backup, "repair.json")
    yield* fs.writeFileString(manifest, JSON.stringify({ problem, cut: { file: damaged.name, offset: cutAt }, removed: later }, null, 2) + "\n")
      .pipe(Effect.mapError(fromPlatformError("write", manifest)))
    // The copies' names must be durable too, in the backup directory and in the WAL directory.
    yield* syncDirectory(fs, backup)
    yield* syncDirectory(fs, directory)

    // Remove from the highest index down, so a crash at any point leaves a contiguous prefix.
    const removed = cutAt === 0 ? [...later, damaged.name] : later
    for (const name of [...removed].sort().reverse()) {
      const path = join(directory, name)
      yield* fs.remove(path).pipe(Effect.mapError(fromPlatformError("remove", path)))
    }
    // The removals must be durable before the cut segment becomes the end of the log.
    if (removed.length > 0) yield* syncDirectory(fs, directory)
    let truncated = Option.none<{ readonly file: string; readonly offset: number; readonly bytes: number }>()
    if (cutAt > 0 && cutAt < damagedSize) {
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* open(fs, damagedPath, "r+")
        yield* truncate(file, cutAt, damagedPath)
        // The cut must be durable before anything is appended behind it.
        yield* syncFile(file, damagedPath)
      }))
      truncated = Option.some({ file: damagedPath, offset: cutAt, bytes: damagedSize - cutAt })
    }
    const after = yield* scanLog(fs, directory, { mode: "full", all: false })
    return {
      ...untouched,
      repaired: true,
      problem: Option.some(problem),
      truncated,
      removedSegments: [...removed].sort(),
      backupDirectory: Option.some(backup),
      savedBytes,
      lastSequence: after.lastSequence,
      tornTail: after.tornTail
    }
  }))
