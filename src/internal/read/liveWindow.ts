/**
 * The last committed batches, kept in memory for tails that are caught up, so that following the
 * log live costs the writer one copy of each batch's bytes and no tail reads the file it just
 * wrote. The window holds whole batches, contiguous in sequence, from the first batch committed
 * after a tail attached, up to `maxBytes` of frames (the oldest leave first). A tail whose next
 * sequence is older than the window reads from disk until it reaches it again. While no tail is
 * attached the writer copies nothing and the window is empty.
 */
import type { SegmentState } from "../segment/state.js"

/**
 * How many of the newest batches keep their decoded entries for the tails that come after the
 * first. Tails that keep up all read the newest batch; holding the entries of every batch in the
 * window (thousands of objects) kept them alive through young collections, which then copied
 * and promoted them: with 8 tails that was most of what the tails cost the writer's thread.
 */
const SHARED_BATCHES = 4

/** One committed write of the writer: whole requests' frames, in one segment. */
export class LiveBatch {
  private decoded: unknown = undefined
  private shared = true

  constructor(
    readonly segment: SegmentState,
    /** File offset of the batch's first frame. */
    readonly offset: number,
    /** Holds the batch's frames, a copy owned by the window and never changed, at `start`. */
    readonly slab: Uint8Array,
    readonly start: number,
    /** Bytes of the batch's frames. */
    readonly length: number,
    readonly firstSequence: number,
    readonly lastSequence: number
  ) {}

  /**
   * The batch's entries: decoded by the first tail that reads them and shared by every tail while
   * the batch is among the newest of the window; decoded afresh for each tail after that.
   */
  entries<D>(decode: (batch: LiveBatch) => D): D {
    if (this.decoded !== undefined) return this.decoded as D
    const decoded = decode(this)
    if (this.shared) this.decoded = decoded
    return decoded
  }

  /** The batch is no longer among the newest: its shared entries are let go. */
  age(): void {
    this.shared = false
    this.decoded = undefined
  }
}

/** Frames of committed batches kept for live tails. */
export const LIVE_WINDOW_BYTES = 4 * 1024 * 1024

/**
 * Batches are copied into slabs of this size, one after another, rather than each into a buffer of
 * its own: one allocation per slab instead of one per batch (a fresh `ArrayBuffer` per batch cost
 * the writer more than the copy itself, and its external memory brought on garbage collections).
 * A slab is never written twice, so the payload views of tailed entries stay valid; a view keeps
 * its slab alive, as a replayed payload keeps its read buffer. A batch over a quarter of a slab
 * gets a buffer of its own.
 */
const SLAB_BYTES = 256 * 1024

/** Committed batches in memory, for live tails; written only by the writer. */
export class LiveWindow {
  private batches: Array<LiveBatch> = []
  /** Index of the oldest batch still in the window. */
  private head = 0
  /** Index of the oldest batch that may still share its decoded entries. */
  private sharing = 0
  private bytes = 0
  /** Written but not yet committed: they join the window when the batch is published. */
  private readonly staged: Array<LiveBatch> = []
  private tails = 0
  /** The slab batches are copied into, and how much of it is used. */
  private slab = new Uint8Array(0)
  private slabUsed = 0

  constructor(readonly maxBytes: number = LIVE_WINDOW_BYTES) {}

  /** A tail starts following the log: from the next committed batch on, batches are kept. */
  attach(): void {
    this.tails++
  }

  /** A tail stops; with the last one the window is emptied. */
  detach(): void {
    this.tails--
    if (this.tails > 0) return
    this.batches = []
    this.head = 0
    this.sharing = 0
    this.bytes = 0
  }

  /**
   * The writer wrote `bytes` (frames of sequences `firstSequence..lastSequence`) at `offset` of
   * `segment`; kept (as a copy) when a tail is attached and the batch holds entries.
   */
  stage(segment: SegmentState, offset: number, bytes: Uint8Array, firstSequence: number, lastSequence: number): void {
    if (this.tails === 0 || firstSequence > lastSequence) return
    // A copy that nothing overwrites: in the current slab, or in a buffer of its own.
    let slab = this.slab
    let start = 0
    if (bytes.length > SLAB_BYTES / 4) slab = bytes.slice()
    else {
      if (this.slabUsed + bytes.length > slab.length) {
        slab = this.slab = new Uint8Array(SLAB_BYTES)
        this.slabUsed = 0
      }
      start = this.slabUsed
      slab.set(bytes, start)
      this.slabUsed += bytes.length
    }
    this.staged.push(new LiveBatch(segment, offset, slab, start, bytes.length, firstSequence, lastSequence))
  }

  /** The staged writes are committed: they join the window, and the oldest batches leave past `maxBytes`. */
  commit(): void {
    const staged = this.staged
    if (staged.length === 0) return
    for (const batch of staged) {
      this.batches.push(batch)
      this.bytes += batch.length
    }
    staged.length = 0
    for (; this.sharing < this.batches.length - SHARED_BATCHES; this.sharing++) this.batches[this.sharing]?.age()
    while (this.bytes > this.maxBytes && this.batches.length - this.head > 1) {
      this.bytes -= this.batches[this.head]!.length
      this.batches[this.head++] = undefined as unknown as LiveBatch
    }
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head)
      this.sharing -= this.head
      this.head = 0
    }
  }

  /** The staged writes failed: they never join the window. */
  discard(): void {
    this.staged.length = 0
  }

  /** The committed batch holding `sequence`, if it is in the window. */
  find(sequence: number): LiveBatch | undefined {
    const batches = this.batches
    let low = this.head
    let high = batches.length - 1
    if (high < low || sequence < batches[low]!.firstSequence || sequence > batches[high]!.lastSequence) return undefined
    while (low < high) {
      const mid = (low + high + 1) >>> 1
      if (batches[mid]!.firstSequence <= sequence) low = mid
      else high = mid - 1
    }
    return batches[low]
  }
}
