/**
 * Operator tooling over a WAL directory, all read-only and without the lock: describe, verify and
 * stats on the scanner of `logScan.ts`, and the raw entry stream on the read-only directory source
 * (`read/directorySource.ts`). The explicit repair, on the same scanner, is `repair.ts`.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Chunk, Clock, Effect, Option, Stream } from "effect"
import * as Codec from "../Codec.js"
import { Host } from "../Host.js"
import type { Description, EntriesOptions, LockInfo, RawEntry, SegmentInfo, Stats, VerifyOptions, VerifyReport } from "../Inspect.js"
import {
  fromPlatformError,
  WalConfigError,
  WalCorruptionError,
  WalFormatError,
  type WalIOError
} from "../WalError.js"
import { FrameKind } from "./format/constants.js"
import { hex } from "./format/header.js"
import { LOCK_FILE, readHolder, type LockHolder } from "./lock.js"
import { type DirectorySource, directorySource } from "./read/directorySource.js"
import { LogCursor } from "./read/logReader.js"
import { cursorStream } from "./read/readers.js"
import * as Payload from "./payload.js"
import { notAWal, problemError, type ScannedSegment, scanLog } from "./logScan.js"

export { problemError }

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
  return Stream.unwrap(Effect.gen(function*() {
    // Read as `Wal.reader` reads, adopting the first header's codec: see `directorySource`.
    const found = yield* directorySource(fs, directory, undefined)
    if (Option.isNone(found)) return yield* notAWal(directory)
    const source = found.value
    return cursorStream(new LogCursor(fs, source, rawPayload, Math.max(options.from ?? 1, 1)), options.to ?? Number.POSITIVE_INFINITY).pipe(
      // Raw payloads never fail to decode: what is left is I/O, format and corruption.
      Stream.mapError((error) => error as WalIOError | WalFormatError | WalCorruptionError),
      Stream.mapChunks((chunk) => {
        const codecId = codecIdOf(source)
        return Chunk.map(chunk, (entry): RawEntry => ({ ...entry, codecId }))
      })
    )
  }))
}
