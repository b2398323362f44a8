/**
 * Reading the log across segments: a cursor that opens one segment at a time, reads it in large
 * chunks, decodes payloads a chunk at a time, and moves to the next segment at a seal frame.
 * Replay, tail and the read-only reader are built on it; they differ only in their
 * `SegmentSource`: where the segments are and how far each may be read.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Chunk, Effect, Exit, Option, Scope } from "effect"
import type { ReadError, WalEntry } from "../../Wal.js"
import { WalCodecError, WalCorruptionError, type WalFormatError, type WalIOError } from "../../WalError.js"
import { FrameKind, HEADER_SIZE } from "../format/constants.js"
import { describeStop, FrameCursor, type StopReason } from "../format/frame.js"
import { open, sizeOf } from "../io.js"
import type { LiveBatch } from "./liveWindow.js"
import type { PayloadCodec } from "../payload.js"
import type { SegmentState } from "../segment/state.js"
import { SegmentReader } from "./segmentReader.js"

/** Where a cursor finds segments and how far it may read them. */
export interface SegmentSource {
  /** The segment holding `sequence`, or the first one after it; `None` when there is none (yet). */
  readonly segmentFor: (sequence: number) => Effect.Effect<Option.Option<SegmentState>, WalIOError | WalCorruptionError>
  /** Bytes of `segment` that may be read: its committed size, or infinity for "the file's size when opened". */
  readonly limitOf: (segment: SegmentState) => number
  /**
   * What an invalid or incomplete frame in `segment` means: `"corruption"` (committed bytes are
   * bad) or `"end"` (the last segment seen by a read-only reader: a write in progress or a torn
   * tail, where its committed prefix ends). Segments marked sealed must end with a seal frame.
   */
  readonly damageAtEnd: (segment: SegmentState) => "corruption" | "end"
  /**
   * A segment `segmentFor` named is gone: its file was not found. A writer's own readers fail with
   * `error` (pins keep their segments); a read-only reader relists, since the writer may reclaim
   * its segments at any time, and `segmentFor` then names what is left.
   */
  readonly segmentGone: (segment: SegmentState, error: WalIOError) => Effect.Effect<void, WalIOError | WalCorruptionError>
  /** Checks the header of a segment that was just opened (`Effect.void` when already checked). */
  readonly checkHeader: (file: FileSystem.File, segment: SegmentState) => Effect.Effect<void, WalIOError | WalFormatError | WalCorruptionError>
  readonly seed: number
  /** Largest payload a frame may claim (the format's maximum: existing data is never judged by a write limit). */
  readonly maxPayload: number
  /** Records the first sequence a cursor may still read (`undefined` when it is done). */
  readonly pin: (cursor: object, sequence: number | undefined) => void
}

/** Why `decodeBuffered` returned: a full chunk, a frame past `upTo`, a seal frame, or the cursor's stop. */
type Stop = "full" | "passed" | "seal" | StopReason

/**
 * Entries that close a chunk at the end of the atomic batch that reaches them: a batch is never
 * split between chunks, so a chunk may hold more (5,000 with batches of 1,000).
 */
const CHUNK_ENTRIES = 4096

/**
 * Payload bytes per chunk, reached at the end of an atomic batch: a consumer holding a chunk of
 * large entries keeps about this much alive, not CHUNK_ENTRIES entries' worth.
 */
const CHUNK_BYTES = 1024 * 1024

/** An entry as readers deliver it: one class, so every entry a reader builds has one shape. */
class Entry<A> implements WalEntry<A> {
  constructor(
    readonly seq: number,
    readonly timestamp: number,
    readonly kind: "data" | "checkpoint",
    readonly payload: A
  ) {}
}

/**
 * A new, empty array for the entries of one chunk. Made by `Array.of()`, never by a `[]` literal:
 * V8 counts how many of a literal's arrays outlive a young collection and, once most of them do
 * (as while a consumer holds on to its chunks), allocates every later array of that literal
 * straight in the old generation. An old array keeps each entry pushed into it alive through
 * young collections until the next full one, so every later replay and tail would pay for it,
 * even with consumers that let go of their chunks. An array a builtin makes has no allocation
 * site and is never allocated old. Measured in bench W4 (docs/design.md, "Chunk arrays from
 * `Array.of`").
 */
const chunkArray = <T>(): Array<T> => Array.of<T>()

/** The entry of the frame a cursor just returned (a data or checkpoint frame). */
const entryAt = <A>(cursor: FrameCursor, codec: PayloadCodec<A>): Entry<A> =>
  new Entry(
    cursor.sequence,
    cursor.timestamp,
    cursor.kind === FrameKind.checkpoint ? "checkpoint" : "data",
    codec.decode(cursor.buffer, cursor.payloadStart, cursor.payloadEnd)
  )

/** A live batch's entries (shared by the tails while the batch is among the newest), and whether a seal frame ends it. */
interface DecodedBatch<A> {
  readonly entries: ReadonlyArray<Entry<A>>
  readonly sealed: boolean
}

/**
 * Decodes a live batch: frames the writer just committed, so a bad frame is a defect. Their
 * checksums are not verified again: the writer computed them over these bytes a moment ago, and
 * the bytes went from its buffer to the live window by one copy in memory, never through a file.
 */
const decodeBatch = <A>(batch: LiveBatch, codec: PayloadCodec<A>, cursor: FrameCursor): DecodedBatch<A> => {
  cursor.reset(batch.slab, batch.start, batch.start + batch.length, batch.firstSequence)
  const entries = chunkArray<Entry<A>>()
  let sealed = false
  for (;;) {
    const result = cursor.next()
    if (result === "end") break
    if (result !== "frame") throw new Error(`effect-wal: a committed batch in memory does not decode (${result})`)
    if (cursor.kind === FrameKind.seal) sealed = true
    else entries.push(entryAt(cursor, codec))
  }
  return { entries, sealed }
}

/** Where the next read of a segment starts, when it is not the segment's first frame. */
interface ResumePoint {
  readonly segment: SegmentState
  readonly offset: number
  readonly sequence: number
}

/** A position in the log that reads forward, one chunk of entries at a time. */
export class LogCursor<A> {
  private segment: SegmentState | undefined
  private reader: SegmentReader | undefined
  private segmentScope: Scope.CloseableScope | undefined
  private finished: SegmentState | undefined
  /** The size of the open file when it was opened, for sources that know no committed size. */
  private readable = Number.POSITIVE_INFINITY
  /**
   * The atomic batch being decoded (entries are delivered only once its last frame is seen): file
   * offset and sequence of its first frame (-1: none), and `out.length` and `nextSequence` before it.
   */
  private batchStart = -1
  private batchSequence = 0
  private batchOut = 0
  private batchNext = 0
  private batchBytes = 0
  /** Payload bytes in the chunk being filled. */
  private chunkBytes = 0
  /**
   * Whether an entry was delivered: from then on the cursor never skips a sequence (the entries
   * it delivers are contiguous), while before it a cursor starts at the first entry still on disk.
   */
  private delivered = false
  /** Set after a live batch was delivered from memory: the disk read resumes right after it. */
  private resume: ResumePoint | undefined
  /** Decodes the live batches this cursor takes first (see `liveFrames`). */
  private liveFrameCursor: FrameCursor | undefined

  constructor(
    readonly fs: FileSystem.FileSystem,
    readonly source: SegmentSource,
    readonly codec: PayloadCodec<A>,
    /** The next sequence to deliver. */
    public nextSequence: number
  ) {
    source.pin(this, nextSequence)
  }

  /**
   * Reads entries with `nextSequence <= seq <= upTo`, at most one chunk. An empty chunk means
   * nothing more can be read now (the end of what is readable has been reached).
   */
  read(upTo: number): Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError> {
    return Effect.suspend(() => {
      this.source.pin(this, this.nextSequence)
      this.chunkBytes = 0
      return this.fill(upTo, chunkArray<WalEntry<A>>())
    })
  }

  /** Decodes into `out`, segment after segment, until it holds entries or nothing more can be read. */
  private fill(upTo: number, out: Array<WalEntry<A>>): Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError> {
    if (out.length > 0 || this.nextSequence > upTo) {
      if (out.length > 0) this.delivered = true
      return Effect.succeed(Chunk.unsafeFromArray(out))
    }
    return Effect.flatMap(this.readerFor(this.nextSequence), (reader) =>
      reader === undefined
        ? Effect.succeed(Chunk.unsafeFromArray(out))
        : Effect.flatMap(this.decodeInto(reader, upTo, out), (more) =>
          more ? this.fill(upTo, out) : Effect.succeed(Chunk.unsafeFromArray(out))))
  }

  /**
   * Delivers the entries of a committed batch held in memory (the one holding `nextSequence`) and
   * moves the cursor past it: a later read from disk starts right after the batch's last frame, or
   * in the next segment when a seal frame ends it. The chunk comes at once, synchronously, unless
   * the segment file the cursor has open must be closed first (the batch ends it with a seal
   * frame, or lies in a later segment); a payload the codec rejects fails with `WalCodecError`.
   */
  takeLive(batch: LiveBatch): Chunk.Chunk<WalEntry<A>> | Effect.Effect<Chunk.Chunk<WalEntry<A>>, WalCodecError> {
    let decoded: DecodedBatch<A>
    try {
      decoded = batch.entries((live) => decodeBatch(live, this.codec, this.liveFrames()))
    } catch (error) {
      return codecFailure(error)
    }
    const skip = this.nextSequence - batch.firstSequence
    const chunk = Chunk.unsafeFromArray(skip === 0 ? decoded.entries : decoded.entries.slice(skip))
    this.delivered = true
    this.nextSequence = batch.lastSequence + 1
    this.source.pin(this, this.nextSequence)
    if (decoded.sealed) {
      this.finished = batch.segment
      this.resume = undefined
      return Effect.as(this.close(), chunk)
    }
    const end = batch.offset + batch.length
    if (this.segment?.index === batch.segment.index) this.reader!.moveTo(end, this.nextSequence)
    else {
      this.resume = { segment: batch.segment, offset: end, sequence: this.nextSequence }
      if (this.segment !== undefined) return Effect.as(this.close(), chunk)
    }
    return chunk
  }

  /**
   * The frame cursor live batches are decoded with: one per cursor, so consecutive batches in the
   * same slab share its view of the slab.
   */
  private liveFrames(): FrameCursor {
    return this.liveFrameCursor ??= new FrameCursor(this.source.seed, Number.MAX_SAFE_INTEGER, false)
  }

  /** Closes the cursor for good: its file and its pin. */
  dispose(): Effect.Effect<void> {
    return Effect.zipRight(this.close(), Effect.sync(() => this.source.pin(this, undefined)))
  }

  /** Closes the open segment file, if any. */
  close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const scope = this.segmentScope
      this.segmentScope = undefined
      this.reader = undefined
      this.segment = undefined
      return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
    })
  }

  private readerFor(sequence: number): Effect.Effect<SegmentReader | undefined, ReadError> {
    return Effect.gen(this, function*() {
      if (this.reader !== undefined) return this.reader
      const found = yield* this.source.segmentFor(sequence)
      if (Option.isNone(found) || found.value.index === this.finished?.index) return undefined
      const segment = found.value
      const scope = yield* Scope.make()
      const opened = yield* Effect.either(open(this.fs, segment.path, "r").pipe(Scope.extend(scope)))
      if (opened._tag === "Left") {
        yield* Scope.close(scope, Exit.void)
        if (opened.left.code !== "ENOENT") return yield* opened.left
        yield* this.source.segmentGone(segment, opened.left)
        // Reclaimed under a read-only reader after the cursor delivered entries: going on from the
        // first segment still there would leave a gap, so the read fails with the missing file.
        if (this.delivered && !(yield* this.holds(sequence))) return yield* opened.left
        return yield* this.readerFor(sequence)
      }
      const file = opened.right
      yield* this.source.checkHeader(file, segment).pipe(Effect.tapError(() => Scope.close(scope, Exit.void)))
      this.segmentScope = scope
      this.segment = segment
      if (this.nextSequence < segment.firstSequence) this.nextSequence = segment.firstSequence
      const resume = this.resume?.segment.index === segment.index ? this.resume : undefined
      this.resume = undefined
      this.reader = new SegmentReader(
        file,
        segment.path,
        resume?.offset ?? HEADER_SIZE,
        resume?.sequence ?? segment.firstSequence,
        this.source.seed,
        this.source.maxPayload
      )
      this.readable = Number.isFinite(this.source.limitOf(segment)) ? Number.POSITIVE_INFINITY : yield* sizeOf(file, segment.path)
      return this.reader
    })
  }

  /** Whether the source still has the segment holding `sequence`. */
  private holds(sequence: number): Effect.Effect<boolean, WalIOError | WalCorruptionError> {
    return Effect.map(this.source.segmentFor(sequence), Option.exists((segment) => segment.firstSequence <= sequence))
  }

  /**
   * Decodes frames into `out` until a chunk is full, `upTo` is passed, or the readable bytes end.
   * Returns whether another call may make progress in this segment or the next one.
   */
  private decodeInto(
    reader: SegmentReader,
    upTo: number,
    out: Array<WalEntry<A>>
  ): Effect.Effect<boolean, ReadError> {
    return Effect.suspend(() => {
      const segment = this.segment!
      reader.limit = Math.min(this.source.limitOf(segment), this.readable)
      this.batchStart = -1
      return this.decodeFrom(segment, reader, upTo, out)
    })
  }

  /** Decodes what is buffered, then refills and goes on until `decodeBuffered` stops for good. */
  private decodeFrom(
    segment: SegmentState,
    reader: SegmentReader,
    upTo: number,
    out: Array<WalEntry<A>>
  ): Effect.Effect<boolean, ReadError> {
    const stop = this.decodeBuffered(reader, upTo, out)
    switch (stop) {
      case "full":
        return Effect.succeed(true)
      case "passed":
        return Effect.succeed(false)
      case "seal":
        this.finished = segment
        return Effect.as(this.close(), true)
      case "end":
      case "incomplete":
        return Effect.flatMap(reader.refill(), (more) =>
          more ? this.decodeFrom(segment, reader, upTo, out) : this.stopAt(segment, reader, stop, out))
      default:
        return this.stopAt(segment, reader, stop, out)
    }
  }

  /**
   * Ends decoding at a stop with nothing more to read: the end of what is readable (`false`), or
   * corruption. An unfinished atomic batch is given back first.
   */
  private stopAt(
    segment: SegmentState,
    reader: SegmentReader,
    stop: StopReason,
    out: Array<WalEntry<A>>
  ): Effect.Effect<boolean, WalCorruptionError> {
    this.giveBackBatch(reader, out)
    if (stop === "end" && !segment.sealed) return Effect.succeed(false)
    if (stop !== "end" && this.source.damageAtEnd(segment) === "end") return Effect.succeed(false)
    return Effect.fail(
      new WalCorruptionError({
        file: segment.path,
        offset: reader.position,
        reason: stop === "end"
          ? "sealed segment ends without a seal frame"
          : stop === "incomplete"
          ? "incomplete frame inside committed data"
          : describeStop[stop]
      })
    )
  }

  /**
   * Decodes the frames in the reader's buffer into `out`, synchronously, until a chunk is full, a
   * seal frame, a frame past `upTo` (left unread), or the cursor stops. An atomic batch may span
   * refills: its entries stay in `out`, and `giveBackBatch` takes them out if it never completes.
   */
  private decodeBuffered(reader: SegmentReader, upTo: number, out: Array<WalEntry<A>>): Stop {
    const cursor = reader.cursor
    const codec = this.codec
    for (;;) {
      const result = cursor.next()
      if (result !== "frame") return result
      if (cursor.kind === FrameKind.seal) return "seal"
      const sequence = cursor.sequence
      if (sequence > upTo) {
        cursor.position = cursor.frameStart
        cursor.expectedSequence = sequence
        return "passed"
      }
      if (this.batchStart < 0 && !cursor.commits) this.beginBatch(reader, out)
      if (sequence >= this.nextSequence) {
        if (codec.borrowsBytes) reader.lent = true
        out.push(entryAt(cursor, codec))
        this.nextSequence = sequence + 1
        this.chunkBytes += cursor.payloadEnd - cursor.payloadStart
      }
      if (cursor.commits) {
        this.batchStart = -1
        if (out.length >= CHUNK_ENTRIES || this.chunkBytes >= CHUNK_BYTES) return "full"
      }
    }
  }

  /** Remembers where the atomic batch whose first frame was just decoded starts. */
  private beginBatch(reader: SegmentReader, out: Array<WalEntry<A>>): void {
    this.batchStart = reader.frameOffset
    this.batchSequence = reader.cursor.sequence
    this.batchOut = out.length
    this.batchNext = this.nextSequence
    this.batchBytes = this.chunkBytes
  }

  /** Takes the entries of an unfinished atomic batch back out of `out` and rewinds to its start. */
  private giveBackBatch(reader: SegmentReader, out: Array<WalEntry<A>>): void {
    if (this.batchStart < 0) return
    reader.rewind(this.batchStart, this.batchSequence)
    out.length = this.batchOut
    this.nextSequence = this.batchNext
    this.chunkBytes = this.batchBytes
    this.batchStart = -1
  }
}

/** What a decode threw: a `WalCodecError` is a failure of the read, anything else a defect. */
const codecFailure = (thrown: unknown): Effect.Effect<never, WalCodecError> =>
  thrown instanceof WalCodecError ? Effect.fail(thrown) : Effect.die(thrown)

/** Turns a thrown `WalCodecError` into a failure. */
const codecFailures = <A, E>(read: Effect.Effect<A, E>): Effect.Effect<A, E | WalCodecError> =>
  Effect.catchAllDefect(read, codecFailure)

/** Runs `read`, turning a thrown `WalCodecError` into a failure. */
export const readChunk = <A>(cursor: LogCursor<A>, upTo: number): Effect.Effect<Chunk.Chunk<WalEntry<A>>, ReadError> =>
  codecFailures(cursor.read(upTo))

