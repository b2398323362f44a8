/**
 * The follower side of replication: recover a replica directory with the WAL's own rules, ask the
 * leader's byte stream for what comes next, validate every chunk completely, and only then write
 * it, so that the replica's segments are byte-identical to the leader's and never hold a byte
 * that did not validate. Also the envelope that carries chunks across a process boundary.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Clock, Duration, Effect, Either, ExecutionStrategy, Exit, Option, Scope, Stream } from "effect"
import * as Path from "@effect/platform/Path"
import type * as Durability from "../Durability.js"
import type { FollowOptions, FollowResult, ReplicaRecovery } from "../Follower.js"
import type { ReplicationChunk, TornTail } from "../Wal.js"
import { WalCorruptionError, WalFormatError, type WalError, type WalIOError } from "../WalError.js"
import { MAX_SEGMENT_BYTES, resolve } from "./config.js"
import { readU64, viewOf, writeU64 } from "./format/bytes.js"
import { SegmentProgress } from "./format/acceptance.js"
import { FORMAT_MAX_PAYLOAD, HEADER_SIZE } from "./format/constants.js"
import { crc32c } from "./format/crc32c.js"
import { describeStop, FrameCursor, frameSeed, type StopReason } from "./format/frame.js"
import { decodeHeader, type SegmentHeader } from "./format/header.js"
import { parseSegmentName } from "./segment/name.js"
import { ensureDirectory, open, readAt, syncDirectory, syncFile, truncate, writeAll } from "./io.js"
import { acquire } from "./lock.js"
import { judgeEnd } from "./recovery.js"
import { checkHeader, readSegmentStart, removeTornCreation } from "./segment/header.js"
import { checkContiguous, listDirectory, misplacedStart, splitAtReclaimPoint } from "./segment/list.js"
import { walkFrames } from "./segment/walk.js"
import { readReclaimPoint, type ReclaimPoint, writeReclaimPoint } from "./write/reclaim.js"
import { SegmentReader } from "./read/segmentReader.js"

/** The format's descriptions, except that the follower's length limit is its `maxEntryBytes`. */
const describeFollowerStop = (reason: Exclude<StopReason, "end">): string =>
  reason === "bad-length" ? "frame length over maxEntryBytes" : describeStop[reason]

const corruption = (file: string, offset: number, reason: string) => new WalCorruptionError({ file, offset, reason })

const notContinuing = (file: string, offset: number, detail: string) =>
  corruption(file, offset, `the source does not continue the replica: ${detail}`)

// ---------------------------------------------------------------------------------------------
// Replica recovery
// ---------------------------------------------------------------------------------------------

/** The replica's last segment, the only one the follower still writes to. */
interface ReplicaSegment {
  readonly index: number
  readonly path: string
  readonly header: Uint8Array
  progress: SegmentProgress
  /** Bytes in the file. */
  written: number
  /** Bytes of the file known fsynced. */
  durable: number
  /** The write handle while the segment is unsealed. */
  file: FileSystem.File | undefined
  scope: Scope.CloseableScope | undefined
}

/** What the follower knows of the replica. */
interface Replica {
  walId: Uint8Array | undefined
  codecId: string | undefined
  seed: number
  reclaimPoint: Option.Option<ReclaimPoint>
  last: ReplicaSegment | undefined
}

/**
 * Verifies every frame of a replica segment and judges where they stop by the WAL's recovery rule
 * (`judgeEnd`). As in the WAL, bytes already written are judged by the format's limits, never by
 * `maxEntryBytes`.
 */
const scanSegment = (
  file: FileSystem.File,
  path: string,
  size: number,
  progress: SegmentProgress,
  isLast: boolean,
  seed: number
): Effect.Effect<Option.Option<TornTail>, WalIOError | WalCorruptionError> =>
  Effect.gen(function*() {
    const reader = new SegmentReader(file, path, HEADER_SIZE, progress.nextSequence, seed, FORMAT_MAX_PAYLOAD)
    reader.limit = size
    const damage = yield* walkFrames(reader, progress)
    return yield* judgeEnd({ file, path, size, isLast, seed, progress, damage })
  })

/**
 * Recovers a replica directory as a WAL recovery would (headers, frames, torn tail cut durably, a
 * torn segment creation removed), but never creates a segment: every header comes from the leader.
 */
const recoverReplica = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<{ replica: Replica; report: Omit<ReplicaRecovery, "lockTakenOver"> }, WalError, Path.Path> =>
  Effect.gen(function*() {
    const { join } = yield* Path.Path
    const everything = yield* listDirectory(fs, directory)
    const reclaimPoint = yield* readReclaimPoint(fs, directory)
    const split = splitAtReclaimPoint(everything, reclaimPoint)
    const listing = split.listing
    const head = listing.segments[0]
    const misplaced = misplacedStart(split, reclaimPoint)
    if (Option.isSome(misplaced)) {
      return yield* corruption(join(directory, misplaced.value.name), 0, `the replica should start at segment ${split.floor}`)
    }
    yield* checkContiguous(directory, listing)
    const replica: Replica = { walId: undefined, codecId: undefined, seed: 0, reclaimPoint, last: undefined }
    let tornTail = Option.none<TornTail>()
    const removedSegments: Array<string> = []
    let checkpoint: number | undefined = head === undefined || head.firstSequence === 1 ? 0 : undefined
    let lastSequence = 0
    for (let i = 0; i < listing.segments.length; i++) {
      const entry = listing.segments[i]!
      const isLast = i === listing.segments.length - 1
      const path = join(directory, entry.name)
      const found = yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* open(fs, path, "r")
        const start = yield* readSegmentStart(file, {
          path,
          position: i,
          isLast,
          // The replica's codec is whatever its leader wrote: adopted from the first header.
          expected: { codecId: replica.codecId, walId: replica.walId, index: entry.index, firstSequence: entry.firstSequence },
          previousLastSequence: lastSequence
        })
        if (Option.isNone(start)) return Option.none()
        const { header, headerBytes: bytes, size } = start.value
        replica.walId = header.walId
        replica.codecId = header.codecId
        replica.seed = frameSeed(header.walId)
        const progress = SegmentProgress.empty(header.firstSequence, checkpoint)
        const torn = yield* scanSegment(file, path, size, progress, isLast, replica.seed)
        return Option.some({ progress, torn, bytes, size })
      }))
      if (Option.isNone(found)) {
        // A crash tore the creation of this segment (the leader's header never fully arrived).
        yield* removeTornCreation(fs, directory, path)
        removedSegments.push(entry.name)
        break
      }
      const { bytes, progress, size, torn } = found.value
      checkpoint = progress.checkpoint
      lastSequence = progress.committedSequence
      if (size > progress.committedEnd) {
        yield* Effect.scoped(Effect.gen(function*() {
          const file = yield* open(fs, path, "r+")
          // Cut the torn tail, or the free space a WAL opened on the replica allocated, durably,
          // before anything is written after it: the cut bytes must never reappear behind the
          // frames that will follow, and a replica segment must end with its seal once sealed.
          yield* truncate(file, progress.committedEnd, path)
          yield* syncFile(file, path)
        }))
        tornTail = torn
      }
      progress.dropPending()
      replica.last = { index: entry.index, path, header: bytes, progress, written: progress.end, durable: 0, file: undefined, scope: undefined }
    }
    const last = replica.last
    if (last !== undefined) {
      // A crashed follower may have left its last writes in the page cache only; the frames
      // written from now on may say those bytes are durable, so they must be.
      yield* Effect.scoped(Effect.flatMap(open(fs, last.path, "r"), (file) => syncFile(file, last.path)))
      last.durable = last.written
    }
    // Likewise a crashed follower may have created its last segment without the directory fsync.
    yield* syncDirectory(fs, directory)
    return {
      replica,
      report: { segments: listing.segments.length - removedSegments.length, lastSequence, tornTail, removedSegments }
    }
  })

/**
 * The sequence to ask the source for. An unsealed last segment with entries asks again for its
 * last entry: if the leader has sealed that segment since, asking for the next sequence would
 * skip straight to the next segment's header and the seal frame would never arrive. The
 * repeated frame (or header) is compared with the replica's bytes, not written again.
 */
const resumeSequence = (replica: Replica): number => {
  const last = replica.last
  if (last === undefined) return Option.match(replica.reclaimPoint, { onNone: () => 1, onSome: (point) => point.firstSequence })
  const progress = last.progress
  return progress.sealed ? progress.committedSequence + 1 : Math.max(progress.committedSequence, progress.firstSequence)
}

// ---------------------------------------------------------------------------------------------
// Following
// ---------------------------------------------------------------------------------------------

/** When the follower fsyncs on its own account, besides the fsyncs replication itself requires. */
interface SyncPolicy {
  /** After every chunk. */
  readonly everyChunk: boolean
  /** Once this many bytes are unsynced. */
  readonly bytes: number
  /** At most this long after a write, in milliseconds (by a timer while the source is idle). */
  readonly intervalMillis: number | undefined
}

const syncPolicy = (mode: Durability.Durability): SyncPolicy => {
  switch (mode._tag) {
    case "Strict":
      return { everyChunk: true, bytes: Number.POSITIVE_INFINITY, intervalMillis: undefined }
    case "Grouped":
      return { everyChunk: false, bytes: Number.POSITIVE_INFINITY, intervalMillis: Math.max(1, Math.ceil(Duration.toMillis(mode.maxDelay))) }
    case "Buffered":
      return { everyChunk: false, bytes: mode.bytes, intervalMillis: Math.max(1, Math.ceil(Duration.toMillis(mode.interval))) }
    case "None":
      return { everyChunk: false, bytes: Number.POSITIVE_INFINITY, intervalMillis: undefined }
  }
}

/** Replicates into `options.directory` until the source ends. */
export const follow = <E, R>(
  options: FollowOptions<E, R>
): Effect.Effect<FollowResult, WalError | E, FileSystem.FileSystem | Path.Path | R> =>
  Effect.scoped(Effect.gen(function*() {
    const config = yield* resolve({
      directory: options.directory,
      durability: options.durability,
      maxEntryBytes: options.maxEntryBytes,
      // Only to bound maxEntryBytes by the largest segment the leader may use.
      segmentBytes: MAX_SEGMENT_BYTES
    })
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { join } = path
    const directory = config.directory
    // Incoming frames are entries the leader has already written: by default any length the
    // format allows is accepted; a configured maxEntryBytes caps what this replica takes.
    const maxPayload = options.maxEntryBytes === undefined ? FORMAT_MAX_PAYLOAD : config.maxEntryBytes
    const policy = syncPolicy(config.durability)
    yield* ensureDirectory(fs, directory)
    const lock = yield* acquire(fs, directory)
    const { replica, report } = yield* recoverReplica(fs, directory)
    const followScope = yield* Effect.scope
    let segmentsCreated = 0
    let framesWritten = 0
    let bytesWritten = 0

    const openForWriting = (segment: ReplicaSegment, flag: "r+" | "wx") =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(followScope, ExecutionStrategy.sequential)
        segment.scope = scope
        segment.file = yield* open(fs, segment.path, flag).pipe(Scope.extend(scope))
        yield* segment.file.seek(segment.written, "start")
        return segment.file
      })

    const closeSegment = (segment: ReplicaSegment) =>
      Effect.suspend(() => {
        const scope = segment.scope
        segment.scope = undefined
        segment.file = undefined
        return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
      })

    const sync = (segment: ReplicaSegment) =>
      Effect.suspend(() => {
        const file = segment.file
        const upTo = segment.written
        if (file === undefined || segment.durable >= upTo) return Effect.void
        return Effect.tap(syncFile(file, segment.path), () => {
          segment.durable = upTo
        })
      })

    /** A segment header: validated, then created with "wx", written, fsynced, its name fsynced. */
    const acceptHeader = (chunk: Extract<ReplicationChunk, { _tag: "Header" }>) =>
      Effect.gen(function*() {
        const segmentPath = join(directory, chunk.name)
        if (chunk.bytes.length !== HEADER_SIZE) {
          return yield* new WalFormatError({ file: segmentPath, problem: "bad-header", detail: `source header chunk holds ${chunk.bytes.length} bytes, not ${HEADER_SIZE}` })
        }
        const decoded = decodeHeader(chunk.bytes)
        if (Either.isLeft(decoded)) return yield* new WalFormatError({ file: segmentPath, problem: decoded.left.problem, detail: decoded.left.detail })
        const header = decoded.right
        const named = parseSegmentName(chunk.name)
        if (
          Option.isNone(named) || named.value.segmentIndex !== header.segmentIndex ||
          named.value.firstSequence !== header.firstSequence || chunk.segmentIndex !== header.segmentIndex
        ) {
          return yield* corruption(segmentPath, 0, `source header chunk for segment ${chunk.segmentIndex} named "${chunk.name}" holds the header of segment ${header.segmentIndex} from sequence ${header.firstSequence}`)
        }
        const last = replica.last
        const expected = last === undefined
          ? Option.match(replica.reclaimPoint, {
            onNone: () => ({ index: header.segmentIndex, firstSequence: header.firstSequence }),
            onSome: (point) => ({ index: point.segmentIndex, firstSequence: point.firstSequence })
          })
          : last.index === header.segmentIndex
          ? { index: last.index, firstSequence: last.progress.firstSequence }
          : { index: last.index + 1, firstSequence: last.progress.committedSequence + 1 }
        yield* checkHeader(segmentPath, header, { codecId: replica.codecId ?? header.codecId, walId: replica.walId, ...expected }).pipe(
          Effect.mapError((error) =>
            error._tag === "WalCorruptionError" ? notContinuing(segmentPath, 0, `segment ${header.segmentIndex} from sequence ${header.firstSequence} arrived, segment ${expected.index} from sequence ${expected.firstSequence} was expected`) : error
          )
        )
        if (last !== undefined && last.index === header.segmentIndex) {
          // The header of the segment the replica is in, sent again on resume: it must be the same.
          if (!sameBytes(last.header, chunk.bytes)) return yield* notContinuing(segmentPath, 0, "the segment's header differs from the replica's")
          return
        }
        if (last !== undefined && !last.progress.sealed) {
          return yield* notContinuing(last.path, last.progress.end, `segment ${header.segmentIndex} begins while segment ${last.index} is not sealed`)
        }
        if (last === undefined && Option.isNone(replica.reclaimPoint) && header.segmentIndex !== 1) {
          // The leader no longer has its first segments: record where this log starts so that the
          // replica opens as a WAL (a log not starting at segment 1 needs a reclaim point).
          yield* writeReclaimPoint(fs, path, directory, { segmentIndex: header.segmentIndex, firstSequence: header.firstSequence })
          replica.reclaimPoint = Option.some({ segmentIndex: header.segmentIndex, firstSequence: header.firstSequence })
        }
        yield* createSegment(segmentPath, header, chunk.bytes, last)
      })

    const createSegment = (path: string, header: SegmentHeader, bytes: Uint8Array, previous: ReplicaSegment | undefined) =>
      Effect.gen(function*() {
        const checkpoint = previous === undefined ? (header.firstSequence === 1 ? 0 : undefined) : previous.progress.checkpoint
        const segment: ReplicaSegment = {
          index: header.segmentIndex,
          path,
          header: bytes.slice(),
          progress: SegmentProgress.empty(header.firstSequence, checkpoint),
          written: 0,
          durable: 0,
          file: undefined,
          scope: undefined
        }
        // "wx": a file already under this name is never overwritten.
        const file = yield* openForWriting(segment, "wx")
        replica.last = segment
        replica.walId = header.walId
        replica.codecId = header.codecId
        replica.seed = frameSeed(header.walId)
        yield* writeAll(file, segment.header, path)
        segment.written = HEADER_SIZE
        bytesWritten += HEADER_SIZE
        // The header must be durable before any frame follows it, as the leader does.
        yield* syncFile(file, path)
        segment.durable = HEADER_SIZE
        // And so must the segment's name, or a crash could lose the whole file.
        yield* syncDirectory(fs, directory)
        segmentsCreated++
      })

    /** A run of frames: checked against the replica's position, validated whole, then written. */
    const acceptFrames = (chunk: Extract<ReplicationChunk, { _tag: "Frames" }>) =>
      Effect.gen(function*() {
        const last = replica.last
        const where = `source chunk Frames(segment ${chunk.segmentIndex}, offset ${chunk.offset}, ${chunk.bytes.length} bytes)`
        if (last === undefined) return yield* notContinuing(directory, chunk.offset, `${where} arrived before any segment header`)
        const progress = last.progress
        if (chunk.segmentIndex !== last.index || chunk.offset > progress.end || chunk.offset < HEADER_SIZE) {
          return yield* notContinuing(last.path, chunk.offset, `${where} arrived, segment ${last.index} at offset ${progress.end} was expected`)
        }
        const overlap = Math.min(progress.end - chunk.offset, chunk.bytes.length)
        if (overlap > 0) {
          // Frames the replica already holds, sent again on resume: they must be the same bytes.
          const held = yield* Effect.scoped(Effect.flatMap(open(fs, last.path, "r"), (file) => readAt(file, chunk.offset, overlap, last.path)))
          if (!sameBytes(held, chunk.bytes.subarray(0, overlap))) {
            return yield* notContinuing(last.path, chunk.offset, `${where} differs from the bytes the replica holds`)
          }
        }
        const bytes = chunk.bytes.subarray(overlap)
        if (bytes.length === 0) return
        if (progress.sealed) return yield* notContinuing(last.path, progress.end, `${where} continues a sealed segment`)
        const next = progress.clone()
        const fsyncBefore: Array<number> = []
        let durable = last.durable
        let frames = 0
        const cursor = new FrameCursor(replica.seed, maxPayload)
        cursor.reset(bytes, 0, bytes.length, next.nextSequence)
        for (;;) {
          const result = cursor.next()
          if (result === "end") break
          const at = progress.end + cursor.position
          if (result !== "frame") return yield* corruption(last.path, at, `${where} refused: ${describeFollowerStop(result)}`)
          const frameAt = progress.end + cursor.frameStart
          const refused = next.accept(cursor, frameAt) ??
            (cursor.durableOffset > frameAt || cursor.durableOffset < HEADER_SIZE ? "durable offset outside the segment before the frame" : undefined)
          if (refused !== undefined) return yield* corruption(last.path, frameAt, `${where} refused: ${refused}`)
          frames++
          // The frame says bytes [0, durableOffset) were fsynced before it was written. Recovery
          // relies on that to tell a torn tail from corruption, so it must hold on the replica too.
          if (cursor.durableOffset > durable) {
            fsyncBefore.push(cursor.frameStart)
            durable = frameAt
          }
        }
        if (chunk.sealed !== next.sealed || chunk.lastSequence !== next.nextSequence - 1) {
          return yield* corruption(last.path, chunk.offset, `${where} says last sequence ${chunk.lastSequence}${chunk.sealed ? ", sealed" : ""}, its frames say ${next.nextSequence - 1}${next.sealed ? ", sealed" : ""}`)
        }
        const file = last.file ?? (yield* openForWriting(last, "r+"))
        let from = 0
        for (const split of [...fsyncBefore, bytes.length]) {
          if (split > from) {
            yield* writeAll(file, bytes.subarray(from, split), last.path)
            last.written += split - from
          }
          from = split
          if (split < bytes.length) yield* sync(last)
        }
        last.progress = next
        framesWritten += frames
        bytesWritten += bytes.length
        if (next.sealed) {
          // Every segment but the last must end with a durable seal before the next one exists.
          yield* sync(last)
          yield* closeSegment(last)
        } else if (policy.everyChunk || last.written - last.durable >= policy.bytes) {
          // The durability mode's own fsync: every chunk (strict) or a volume of bytes (buffered).
          yield* sync(last)
        }
      })

    // The durability mode's timer (grouped, buffered): unsynced bytes wait at most one interval.
    const onTick = Effect.suspend(() => replica.last === undefined ? Effect.void : sync(replica.last))

    const from = resumeSequence(replica)
    const chunks = options.source(from).pipe(
      Stream.map((chunk): ReplicationChunk | "tick" => chunk),
      (stream) =>
        policy.intervalMillis === undefined
          ? stream
          : Stream.merge(stream, Stream.map(Stream.tick(policy.intervalMillis), () => "tick" as const), { haltStrategy: "left" })
    )
    const started = yield* Clock.currentTimeMillis
    yield* Stream.runForEach(chunks, (item) =>
      // A chunk is written and synced as a unit: interrupting the follower never leaves its
      // bookkeeping out of step with the file.
      Effect.uninterruptible(item === "tick" ? onTick : item._tag === "Header" ? acceptHeader(item) : acceptFrames(item)))
    // Whatever the mode, the replica is durable when the follower returns.
    if (replica.last !== undefined) yield* sync(replica.last)
    const finished = yield* Clock.currentTimeMillis
    return {
      from,
      recovery: { ...report, lockTakenOver: lock.takenOver },
      segmentsCreated,
      framesWritten,
      bytesWritten,
      lastSequence: replica.last === undefined ? 0 : replica.last.progress.committedSequence,
      elapsedMillis: finished - started
    }
  }))

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// Transport envelope
// ---------------------------------------------------------------------------------------------

/** Size of the envelope before the name and the bytes. */
const ENVELOPE_SIZE = 40
/** Envelope format version. */
const ENVELOPE_VERSION = 1
const TAG_HEADER = 1
const TAG_FRAMES = 2
const FLAG_SEALED = 0x01

/** Encodes a chunk as one self-delimiting message (layout in `Follower.encodeChunk`). */
export const encodeChunk = (chunk: ReplicationChunk): Uint8Array => {
  const name = chunk._tag === "Header" ? new TextEncoder().encode(chunk.name) : new Uint8Array(0)
  if (name.length > 255) throw new RangeError("segment name longer than 255 bytes")
  const message = new Uint8Array(ENVELOPE_SIZE + name.length + chunk.bytes.length)
  const view = viewOf(message)
  message[4] = ENVELOPE_VERSION
  message[5] = chunk._tag === "Header" ? TAG_HEADER : TAG_FRAMES
  message[6] = chunk._tag === "Frames" && chunk.sealed ? FLAG_SEALED : 0
  message[7] = name.length
  writeU64(view, 8, chunk.segmentIndex)
  writeU64(view, 16, chunk._tag === "Frames" ? chunk.offset : 0)
  writeU64(view, 24, chunk._tag === "Frames" ? chunk.lastSequence : 0)
  view.setUint32(32, chunk.bytes.length, true)
  message.set(name, ENVELOPE_SIZE)
  message.set(chunk.bytes, ENVELOPE_SIZE + name.length)
  view.setUint32(0, crc32c(message, 4, ENVELOPE_SIZE + name.length), true)
  return message
}

/** Reassembles messages from arbitrary byte pieces. */
class ChunkDecoder {
  private buffer = new Uint8Array(64 * 1024)
  private start = 0
  private end = 0
  /** Stream offset of `buffer[start]`. */
  private consumed = 0

  /** Adds bytes and returns the chunks completed by them. */
  push(bytes: Uint8Array): Either.Either<Array<ReplicationChunk>, WalCorruptionError> {
    this.append(bytes)
    const chunks: Array<ReplicationChunk> = []
    for (;;) {
      const available = this.end - this.start
      if (available < ENVELOPE_SIZE) break
      const buffer = this.buffer
      const view = viewOf(buffer)
      const at = this.start
      const nameLength = buffer[at + 7]!
      if (available < ENVELOPE_SIZE + nameLength) break
      if (buffer[at + 4] !== ENVELOPE_VERSION || view.getUint32(at, true) !== crc32c(buffer, at + 4, at + ENVELOPE_SIZE + nameLength)) {
        return Either.left(this.invalid("envelope checksum or version mismatch"))
      }
      const tag = buffer[at + 5]
      const flags = buffer[at + 6]!
      const length = view.getUint32(at + 32, true)
      if ((tag !== TAG_HEADER && tag !== TAG_FRAMES) || (flags & ~FLAG_SEALED) !== 0 || (tag === TAG_HEADER && flags !== 0)) {
        return Either.left(this.invalid(`unknown message tag ${tag} or flags ${flags}`))
      }
      const size = ENVELOPE_SIZE + nameLength + length
      if (available < size) {
        this.reserve(size)
        break
      }
      const body = buffer.slice(at + ENVELOPE_SIZE + nameLength, at + size)
      const segmentIndex = readU64(view, at + 8)
      chunks.push(
        tag === TAG_HEADER
          ? { _tag: "Header", segmentIndex, name: new TextDecoder().decode(buffer.subarray(at + ENVELOPE_SIZE, at + ENVELOPE_SIZE + nameLength)), bytes: body }
          : { _tag: "Frames", segmentIndex, offset: readU64(view, at + 16), bytes: body, lastSequence: readU64(view, at + 24), sealed: flags === FLAG_SEALED }
      )
      this.start += size
      this.consumed += size
    }
    return Either.right(chunks)
  }

  /** Fails when the stream ended inside a message. */
  finish(): Option.Option<WalCorruptionError> {
    return this.end > this.start ? Option.some(this.invalid(`the stream ended inside a message (${this.end - this.start} bytes)`)) : Option.none()
  }

  private invalid(reason: string): WalCorruptionError {
    return corruption("replication stream", this.consumed, reason)
  }

  private append(bytes: Uint8Array): void {
    this.reserve(this.end - this.start + bytes.length)
    this.buffer.set(bytes, this.end)
    this.end += bytes.length
  }

  /** Makes room for `size` bytes from `start`, compacting or growing the buffer. */
  private reserve(size: number): void {
    if (this.start + size <= this.buffer.length) return
    const target = size <= this.buffer.length ? this.buffer : new Uint8Array(Math.max(size, this.buffer.length * 2))
    target.set(this.buffer.subarray(this.start, this.end), 0)
    this.buffer = target
    this.end -= this.start
    this.start = 0
  }
}

/** Turns a byte stream of envelopes back into chunks. */
export const decodeChunks = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<ReplicationChunk, E | WalCorruptionError, R> =>
  Stream.suspend(() => {
    const decoder = new ChunkDecoder()
    return bytes.pipe(
      Stream.mapConcatEffect((piece) => decoder.push(piece)),
      Stream.concat(Stream.suspend(() => Option.match(decoder.finish(), { onNone: () => Stream.empty, onSome: Stream.fail })))
    )
  })
