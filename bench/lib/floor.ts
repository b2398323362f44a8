/**
 * The Effect floor: the least an Effect WAL of this design can cost, measured beside the WAL in the
 * same process. Writing: the same producer shapes as the WAL's workloads, each append an
 * `Effect.async` acknowledged by a trivial writer that, once per batch (the appends queued by the
 * time a `setImmediate` runs), copies the payloads into one Buffer behind an 8-byte length and
 * calls `fs.writeSync` + `fs.fdatasyncSync`. No checksum, no sequence numbers, no file format, no
 * back-pressure: what remains is the runtime's own cost of suspending and resuming fibers around
 * a batched write. Reading: a Stream of entries built in memory before the clock starts, so what
 * is measured is the Stream consumer alone; a Stream that builds its entries as they are pulled,
 * as any reader of a file must, with no I/O and no checksum; and the reading floor, a Stream whose
 * chunks raw's reader builds from a file of frames as they are pulled.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import * as NFS from "node:fs"
import { FrameKind } from "../../src/internal/format/constants.js"
import { RawFrames } from "./harness.js"

interface Waiting {
  readonly payload: Uint8Array
  readonly resume: (effect: Effect.Effect<number>) => void
}

/**
 * What a follower of the floor writer gets as an entry's payload: the producer's own `Uint8Array`
 * (`"caller"`), or a view of the bytes the writer wrote (`"written"`): the buffer each batch is
 * copied into before its write, which the writer never reuses. A WAL tail must deliver the bytes
 * it committed, not the caller's buffer (which the caller may change once its append is
 * acknowledged), so `"written"` is the floor for a tail fed from memory.
 */
export type FollowerPayloads = "caller" | "written"

/** Batches kept for followers: they keep up, so they only ever need the newest. */
const KEPT_BATCHES = 64

/**
 * An Effect-floor writer on `path`; `append` resolves with the entry's sequence number (1, 2, ...)
 * once its batch is written and fdatasynced.
 */
export class FloorWriter {
  private readonly fd: number
  private waiting: Array<Waiting> = []
  private scheduled = false
  private written = 0
  private lastSequence = 0

  constructor(readonly path: string, readonly followerPayloads: FollowerPayloads = "caller") {
    this.fd = NFS.openSync(path, "w")
  }

  readonly append = (payload: Uint8Array): Effect.Effect<number> =>
    Effect.async<number>((resume) => {
      this.waiting.push({ payload, resume })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(this.flush)
      }
    })

  /** The newest batches as chunks of entries, for `follow` (only while someone follows); `log[0]` is batch `logStart`. */
  private log: Array<Chunk.Chunk<FloorEntry>> = []
  private logStart = 0
  private followers = 0
  private wake: Array<() => void> = []

  /**
   * A follower of the batches, as a WAL tail follows commits: after each batch is written it gets
   * the batch's entries (built once, shared by every follower) as one chunk, or waits for the next
   * batch. It never ends; interrupt it. The least any Stream-based tail can cost per batch. As the
   * WAL's writer does, the batch's appends are acknowledged before its followers are woken. Only
   * the newest batches are kept, as a WAL's live window keeps them: a follower that falls further
   * behind dies.
   */
  follow(): Stream.Stream<FloorEntry> {
    return Stream.suspend(() => {
      this.followers++
      let next = this.logStart + this.log.length
      const pull: Effect.Effect<Chunk.Chunk<FloorEntry>> = Effect.suspend(() => {
        if (next < this.logStart) return Effect.dieMessage("a floor follower fell behind the kept batches")
        return next < this.logStart + this.log.length
          ? Effect.succeed(this.log[next++ - this.logStart]!)
          : Effect.zipRight(Effect.async<void>((resume) => void this.wake.push(() => resume(Effect.void))), pull)
      })
      return Stream.repeatEffectChunk(pull)
    })
  }

  private readonly flush = (): void => {
    this.scheduled = false
    const batch = this.waiting
    this.waiting = []
    let size = 0
    for (const { payload } of batch) size += 8 + payload.length
    const buffer = Buffer.allocUnsafe(size)
    // The followers' entries are built with the copy and published only once the batch is durable,
    // as the WAL's reader builds them: one class, in an array V8 never allocates old (`Array.of`,
    // see `chunkArray` in src/internal/read/logReader.ts).
    const entries = Array.of<FloorEntry>()
    const firstSequence = this.lastSequence + 1
    const timestamp = Date.now()
    let offset = 0
    for (const { payload } of batch) {
      buffer.writeUInt32LE(payload.length, offset)
      buffer.set(payload, offset + 8)
      if (this.followers > 0) {
        const delivered = this.followerPayloads === "caller" ? payload : new Uint8Array(buffer.buffer, buffer.byteOffset + offset + 8, payload.length)
        entries.push(new FreshEntry(firstSequence + entries.length, timestamp, "data", delivered))
      }
      offset += 8 + payload.length
    }
    NFS.writeSync(this.fd, buffer, 0, size, this.written)
    NFS.fdatasyncSync(this.fd)
    this.written += size
    this.lastSequence += batch.length
    // As the WAL's writer: the batch is published, its appends acknowledged, then followers woken.
    if (this.followers > 0) {
      this.log.push(Chunk.unsafeFromArray(entries))
      if (this.log.length > KEPT_BATCHES) {
        this.log = this.log.slice(KEPT_BATCHES / 2)
        this.logStart += KEPT_BATCHES / 2
      }
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resume(Effect.succeed(firstSequence + i))
    const wake = this.wake
    if (wake.length === 0) return
    this.wake = []
    for (const resume of wake) resume()
  }

  close(): void {
    NFS.closeSync(this.fd)
  }
}

/** An entry as the stream floor delivers it: the shape of a WAL entry. */
export interface FloorEntry {
  readonly seq: number
  readonly timestamp: number
  readonly kind: "data"
  readonly payload: Uint8Array
}

/** `count` entries of `payload`'s size, built in memory, in chunks of 4096 (the WAL's chunk size). */
export const floorChunks = (count: number, payload: Uint8Array): ReadonlyArray<Chunk.Chunk<FloorEntry>> => {
  const chunks: Array<Chunk.Chunk<FloorEntry>> = []
  for (let first = 1; first <= count; first += 4096) {
    const entries: Array<FloorEntry> = []
    for (let seq = first; seq < Math.min(count + 1, first + 4096); seq++) {
      entries.push({ seq, timestamp: 0, kind: "data", payload: payload.subarray(0) })
    }
    chunks.push(Chunk.unsafeFromArray(entries))
  }
  return chunks
}

/** The stream floor: the prebuilt chunks as a Stream. */
export const floorStream = (chunks: ReadonlyArray<Chunk.Chunk<FloorEntry>>): Stream.Stream<FloorEntry> =>
  Stream.fromChunks(...chunks)

/** An entry of the fresh-entries floor: one class, as the WAL's reader builds its entries. */
class FreshEntry implements FloorEntry {
  constructor(readonly seq: number, readonly timestamp: number, readonly kind: "data", readonly payload: Uint8Array) {}
}

/**
 * An entry that keeps where its payload lies and makes the view each time `payload` is read: the
 * entry shape docs/design.md ("Payloads are views made once, with the entry") weighs and declines.
 * A consumer that only reads the payload lets each view die young, so an entry a sink holds on to
 * costs the collector about half as many bytes.
 */
class LazyViewEntry implements FloorEntry {
  constructor(
    readonly seq: number,
    readonly timestamp: number,
    readonly kind: "data",
    private readonly bytes: ArrayBufferLike,
    private readonly offset: number,
    private readonly length: number
  ) {}
  get payload(): Uint8Array {
    return new Uint8Array(this.bytes, this.offset, this.length)
  }
}

/** How fresh entries carry their payload: a view made with the entry, or made at each read of `payload`. */
export type PayloadViews = "with the entry" | "on each read"

/**
 * The fresh-entries floor's entries, built a chunk of 4096 at a time: each an object with a view of
 * a fresh 256 KiB buffer laid out as frames are (a 32-byte header before each payload; a new
 * buffer when one is full), as a reader that lends views of its read buffers must build them, and
 * a timestamp in milliseconds as WAL entries carry (a number past the small-integer range, which V8
 * keeps in a box of its own for every entry). No file, no checksum.
 */
export class FreshEntries {
  private buffer = new Uint8Array(0)
  private offset = 0
  private nextSequence = 1
  private readonly timestamp = Date.now()

  constructor(readonly count: number, readonly payloadSize: number, readonly views: PayloadViews = "with the entry") {}

  /** The next chunk; empty once `count` entries were built. */
  chunk(): Chunk.Chunk<FloorEntry> {
    const stride = 32 + this.payloadSize
    const last = Math.min(this.count, this.nextSequence + 4095)
    // In an array V8 never allocates old, as the WAL's reader makes the arrays of its chunks.
    const entries = Array.of<FloorEntry>()
    for (let seq = this.nextSequence; seq <= last; seq++) {
      if (this.offset + stride > this.buffer.length) {
        this.buffer = new Uint8Array(256 * 1024)
        this.offset = 0
      }
      entries.push(
        this.views === "with the entry"
          ? new FreshEntry(seq, this.timestamp, "data", new Uint8Array(this.buffer.buffer, this.offset + 32, this.payloadSize))
          : new LazyViewEntry(seq, this.timestamp, "data", this.buffer.buffer, this.offset + 32, this.payloadSize)
      )
      this.offset += stride
    }
    this.nextSequence = last + 1
    return Chunk.unsafeFromArray(entries)
  }
}

/**
 * The fresh-entries floor as a Stream: the chunks of `FreshEntries` built as they are pulled, in
 * the shape of the WAL's readers (an empty chunk ends the stream). What is measured is building
 * fresh entries and the Stream consumer: the least an Effect reader of a file costs above reading.
 */
export const freshFloorStream = (count: number, payloadSize: number, views: PayloadViews = "with the entry"): Stream.Stream<FloorEntry> =>
  Stream.suspend(() => {
    const entries = new FreshEntries(count, payloadSize, views)
    return Stream.repeatEffectChunkOption(Effect.suspend(() => {
      const chunk = entries.chunk()
      return Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : Effect.succeed(chunk)
    }))
  })

/**
 * Raw's reader (`RawFrames`), building the entries a WAL reader hands out a chunk at a time: a new
 * zeroed buffer per read (views of a buffer forbid reading into it again), one entry and one
 * payload view per data frame, carrying the frame's sequence and timestamp, in chunks of up to
 * 4096. No segments, no atomic batches, no pins, no Effect inside: the least a reader of one file
 * of frames does per entry.
 */
export class RawEntryReader {
  private readonly frames: RawFrames

  constructor(path: string, seed: number, readSize: number) {
    this.frames = new RawFrames(path, seed, 16 << 20, readSize, "zeroed")
  }

  /** The next chunk; empty once the file is read (and closed). */
  chunk(): Chunk.Chunk<FloorEntry> {
    const entries = Array.of<FloorEntry>()
    const cursor = this.frames.cursor
    while (entries.length < 4096) {
      const result = cursor.next()
      if (result !== "frame") {
        if (this.frames.refill(result)) continue
        break
      }
      if (cursor.kind === FrameKind.seal) continue
      const buffer = cursor.buffer
      entries.push(
        new FreshEntry(
          cursor.sequence,
          cursor.timestamp,
          "data",
          new Uint8Array(buffer.buffer, buffer.byteOffset + cursor.payloadStart, cursor.payloadEnd - cursor.payloadStart)
        )
      )
    }
    return Chunk.unsafeFromArray(entries)
  }
}

/**
 * The reading floor: `RawEntryReader`'s chunks of the file at `path` as a Stream, pulled as the
 * fresh floor's are. What is measured is reading, verifying and building the entries, and the
 * Stream consumer: the same work as a WAL replay of one file, with a trivial reader in place of
 * the WAL's.
 */
export const readingFloorStream = (path: string, seed: number, readSize: number): Stream.Stream<FloorEntry> =>
  Stream.suspend(() => {
    const reader = new RawEntryReader(path, seed, readSize)
    return Stream.repeatEffectChunkOption(Effect.suspend(() => {
      const chunk = reader.chunk()
      return Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : Effect.succeed(chunk)
    }))
  })
