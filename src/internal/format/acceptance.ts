/**
 * The frame-acceptance rule, written once for recovery, the follower and Inspect (as raft-wal's
 * recovery and `waldump` share one segment reader, and etcd's `ReadAll` and `Repair` one decoder).
 *
 * The cursor (`FrameCursor`) decides whether bytes are a frame of this WAL: checksum, fields,
 * length, sequence order. This module decides whether such a frame may follow the frames before it
 * in its segment, and what a segment's frames established: atomic batches (a batch counts only
 * once its last frame is seen), checkpoints (committed with their batch), and the seal (nothing
 * after it; it agrees with the segment's entries and last checkpoint). Then `classifyEnd` judges
 * where the frames stopped: the end of the log, a torn tail, or corruption.
 *
 * Pure: no Effect, no I/O. Reading the bytes is the caller's (`segment/walk.ts`).
 */
import { Option } from "effect"
import type { TornTail } from "../../Wal.js"
import { isZeros } from "./bytes.js"
import { FORMAT_MAX_PAYLOAD, FrameKind, HEADER_SIZE } from "./constants.js"
import { decodeSealPayload, findDurableFrameAfter, type FrameCursor } from "./frame.js"

/** Reasons a valid frame is refused by `SegmentProgress.accept`: damage a crash cannot explain. */
export const Refusal = {
  afterSeal: "frame after the seal frame",
  sealInsideBatch: "seal frame inside an atomic batch",
  sealDisagrees: "seal frame does not match the segment's entries"
} as const

/**
 * What the frames of one segment established so far. Feed it every frame the cursor returns, in
 * order, with `accept`; it refuses a frame that cannot follow the ones before it.
 */
export class SegmentProgress {
  /** Frames accepted, seal frame included. */
  frames = 0
  /** Entries of complete batches accepted. */
  entries = 0
  /** Timestamp of the last complete batch or of the seal frame (0 before any). */
  lastTimestamp = 0
  private pendingCheckpoint: number | undefined

  private constructor(
    readonly firstSequence: number,
    /** Sequence the next data or checkpoint frame must carry. */
    public nextSequence: number,
    /** End of the last frame accepted. */
    public end: number,
    /** End of the last complete batch, or of the seal frame. */
    public committedEnd: number,
    /** Last sequence of a complete batch (`firstSequence - 1` before any). */
    public committedSequence: number,
    /** Frames of an atomic batch whose last frame has not come yet. */
    public pending: number,
    public sealed: boolean,
    /**
     * Newest checkpoint up to the last complete batch; `undefined` while unknown (the segments
     * before this one were reclaimed): a seal frame may then name any checkpoint before it.
     */
    public checkpoint: number | undefined,
    /** Whether a seal frame's checkpoint is checked against `checkpoint`. */
    private readonly checksCheckpoint: boolean
  ) {
    this.pendingCheckpoint = checkpoint
  }

  /** A segment holding only its header, after a log whose newest checkpoint is `checkpoint`. */
  static empty(firstSequence: number, checkpoint: number | undefined): SegmentProgress {
    return new SegmentProgress(firstSequence, firstSequence, HEADER_SIZE, HEADER_SIZE, firstSequence - 1, 0, false, checkpoint, true)
  }

  /**
   * Frames read again from the frame at `offset`, carrying `nextSequence`, after damage that
   * Inspect skipped: the frames in between are unknown, so a seal frame's checkpoint is no longer
   * checked (its sequence and entry count still are).
   */
  static resynchronised(firstSequence: number, offset: number, nextSequence: number, checkpoint: number | undefined): SegmentProgress {
    return new SegmentProgress(firstSequence, nextSequence, offset, offset, nextSequence - 1, 0, false, checkpoint, false)
  }

  /** An independent copy (the follower validates a chunk on a copy, then keeps it). */
  clone(): SegmentProgress {
    const copy = new SegmentProgress(
      this.firstSequence,
      this.nextSequence,
      this.end,
      this.committedEnd,
      this.committedSequence,
      this.pending,
      this.sealed,
      this.checkpoint,
      this.checksCheckpoint
    )
    copy.pendingCheckpoint = this.pendingCheckpoint
    copy.frames = this.frames
    copy.entries = this.entries
    copy.lastTimestamp = this.lastTimestamp
    return copy
  }

  /**
   * Accounts for the frame `cursor` just returned, which starts at segment offset `at`. Returns
   * why it is refused (a `Refusal`), or `undefined` when it is accepted.
   */
  accept(cursor: FrameCursor, at: number): string | undefined {
    this.frames++
    if (this.sealed) return Refusal.afterSeal
    const end = at + (cursor.payloadEnd - cursor.frameStart)
    if (cursor.kind === FrameKind.seal) {
      if (this.pending > 0) return Refusal.sealInsideBatch
      const seal = decodeSealPayload(cursor.buffer, cursor.payloadStart)
      const checkpointAgrees = !this.checksCheckpoint || (this.checkpoint === undefined
        ? seal.lastCheckpoint < this.firstSequence
        : seal.lastCheckpoint === this.checkpoint)
      if (seal.lastSequence !== cursor.sequence || seal.entryCount !== cursor.sequence - this.firstSequence + 1 || !checkpointAgrees) {
        return Refusal.sealDisagrees
      }
      this.sealed = true
      this.checkpoint = this.pendingCheckpoint = seal.lastCheckpoint
      this.end = this.committedEnd = end
      this.lastTimestamp = Math.max(this.lastTimestamp, cursor.timestamp)
      return undefined
    }
    this.pending++
    this.nextSequence = cursor.sequence + 1
    this.end = end
    if (cursor.kind === FrameKind.checkpoint) this.pendingCheckpoint = cursor.sequence
    if (cursor.commits) {
      this.entries += this.pending
      this.pending = 0
      this.committedEnd = end
      this.committedSequence = cursor.sequence
      this.checkpoint = this.pendingCheckpoint
      this.lastTimestamp = Math.max(this.lastTimestamp, cursor.timestamp)
    }
    return undefined
  }

  /** Forgets an unfinished atomic batch: the segment ends at its last complete batch (after a cut). */
  dropPending(): void {
    this.end = this.committedEnd
    this.nextSequence = this.committedSequence + 1
    this.pending = 0
    this.pendingCheckpoint = this.checkpoint
  }
}

/** The frame a walk over a segment stopped on, and why. */
export interface Damage {
  readonly offset: number
  readonly reason: string
  /** Damage a crash cannot explain wherever it is (a `Refusal`). */
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
 * Classifies where a segment's frames stopped, for recovery, the follower and Inspect alike.
 * Zeros from the stop to the end of the last segment are space the writer allocated ahead and
 * never wrote: the end of the log, behind which an unfinished atomic batch is a torn tail. Damage a
 * crash cannot explain, and damage in a segment that is not the last, is corruption. Other damage
 * at the end of the last segment is a torn tail unless a later frame proves the damaged bytes had
 * already been made durable (its durable offset is past them).
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
