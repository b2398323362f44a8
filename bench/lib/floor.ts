/**
 * The Effect floor: the least an Effect WAL of this design can cost, measured beside the WAL in the
 * same process. Writing: the same producer shapes as the WAL's workloads, each append an
 * `Effect.async` acknowledged by a trivial writer that, once per batch (the appends queued by the
 * time a `setImmediate` runs), copies the payloads into one Buffer behind an 8-byte length and
 * calls `fs.writeSync` + `fs.fdatasyncSync`. No checksum, no sequence numbers, no file format, no
 * back-pressure: what remains is the runtime's own cost of suspending and resuming fibers around
 * a batched write. Reading: a Stream of entries built in memory before the clock starts, so what
 * is measured is the Stream consumer alone.
 */
import { Chunk, Effect, Stream } from "effect"
import * as NFS from "node:fs"

interface Waiting {
  readonly payload: Uint8Array
  readonly resume: (effect: Effect.Effect<number>) => void
}

/** An Effect-floor writer on `path`; `append` resolves once its batch is written and fdatasynced. */
export class FloorWriter {
  private readonly fd: number
  private waiting: Array<Waiting> = []
  private scheduled = false
  private written = 0
  /** Batches written so far. */
  batches = 0

  constructor(readonly path: string) {
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

  /** Every batch written so far as one chunk of entries, for `follow` (only while someone follows). */
  private readonly log: Array<Chunk.Chunk<FloorEntry>> = []
  private followers = 0
  private wake: Array<() => void> = []

  /**
   * A follower of the batches, as a WAL tail follows commits: after each batch is written it gets
   * the batch's entries (built once, shared by every follower) as one chunk, or waits for the next
   * batch. It never ends; interrupt it. The least any Stream-based tail can cost per batch.
   */
  follow(): Stream.Stream<FloorEntry> {
    return Stream.suspend(() => {
      this.followers++
      let next = this.log.length
      const pull: Effect.Effect<Chunk.Chunk<FloorEntry>> = Effect.suspend(() =>
        next < this.log.length
          ? Effect.succeed(this.log[next++]!)
          : Effect.zipRight(Effect.async<void>((resume) => void this.wake.push(() => resume(Effect.void))), pull)
      )
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
    let offset = 0
    for (const { payload } of batch) {
      buffer.writeUInt32LE(payload.length, offset)
      buffer.set(payload, offset + 8)
      offset += 8 + payload.length
    }
    NFS.writeSync(this.fd, buffer, 0, size, this.written)
    NFS.fdatasyncSync(this.fd)
    this.written += size
    this.batches++
    if (this.followers > 0) {
      this.log.push(Chunk.unsafeFromArray(batch.map(({ payload }, i): FloorEntry => ({ seq: this.batches * 1000 + i, timestamp: 0, kind: "data", payload }))))
      const wake = this.wake
      this.wake = []
      for (const resume of wake) resume()
    }
    for (const { resume } of batch) resume(Effect.succeed(1))
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
