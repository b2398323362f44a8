/**
 * Reads the frames of one segment file in large chunks: one read per chunk, then frames are
 * decoded synchronously from the buffer (no Effect per frame). Shared by recovery, replay and tail.
 */
import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import { fromPlatformError, type WalIOError } from "../../WalError.js"
import { FRAME_HEADER_SIZE } from "../format/constants.js"
import { FrameCursor } from "../format/frame.js"
import { readFully } from "../io.js"
import { type SyncAccess, syncAccessOf } from "../syncAccess.js"

/** Default size of a reader's buffer; it grows to hold the largest frame met. */
export const DEFAULT_READ_BUFFER = 256 * 1024

/** A chunked frame reader over an open segment file. */
export class SegmentReader {
  readonly cursor: FrameCursor
  private buffer: Uint8Array
  /** File offset of `buffer[0]`. */
  private bufferOffset: number
  /**
   * Bytes beyond this file offset are not read: the committed end of a live segment or the size of
   * a complete one. It also bounds how far the buffer grows for one frame.
   */
  limit = Number.POSITIVE_INFINITY
  /**
   * Set when views of the buffer were handed out: the next refill then reads into a new buffer,
   * so the bytes under the views are never overwritten.
   */
  lent = false
  /** Size of the buffers reads go into; it grows to hold the largest frame met. */
  private capacity: number
  /** The file's synchronous reads, when it offers them: a refill is then one call, not a chain of Effects. */
  private readonly access: SyncAccess | undefined

  constructor(
    readonly file: FileSystem.File,
    readonly path: string,
    start: number,
    expectedSequence: number,
    seed: number,
    maxPayload: number,
    bufferSize = DEFAULT_READ_BUFFER
  ) {
    this.cursor = new FrameCursor(seed, maxPayload)
    this.access = syncAccessOf(file)
    this.capacity = bufferSize
    this.buffer = new Uint8Array(0)
    this.bufferOffset = start
    this.cursor.reset(this.buffer, 0, 0, expectedSequence)
  }

  /** File offset of the cursor: the next frame to decode, or the bad frame after a stop. */
  get position(): number {
    return this.bufferOffset + this.cursor.position
  }

  /** File offset of the last frame the cursor returned. */
  get frameOffset(): number {
    return this.bufferOffset + this.cursor.frameStart
  }

  /**
   * Moves the cursor back to the frame at file offset `offset` (at or before the cursor), which
   * carries `expectedSequence`. Bytes no longer in the buffer are read again by the next refill.
   */
  rewind(offset: number, expectedSequence: number): void {
    const cursor = this.cursor
    if (offset >= this.bufferOffset) cursor.position = offset - this.bufferOffset
    else {
      this.bufferOffset = offset
      cursor.reset(cursor.buffer, 0, 0, expectedSequence)
    }
    cursor.expectedSequence = expectedSequence
  }

  /**
   * Moves the cursor to the frame at file offset `offset`, which carries `expectedSequence`,
   * dropping what is buffered: the next refill reads from there.
   */
  moveTo(offset: number, expectedSequence: number): void {
    this.bufferOffset = offset
    this.cursor.reset(this.cursor.buffer, 0, 0, expectedSequence)
  }

  /** The bytes under the cursor's buffer (valid until the next refill). */
  get bytes(): Uint8Array {
    return this.cursor.buffer
  }

  /**
   * Reads more of the file after the bytes already buffered, keeping the undecoded remainder.
   * Returns false when nothing more could be read (end of file or `limit`).
   */
  refill(): Effect.Effect<boolean, WalIOError> {
    return Effect.suspend(() => {
      const cursor = this.cursor
      const keep = cursor.end - cursor.position
      const readFrom = this.bufferOffset + cursor.end
      const room = this.limit - readFrom
      if (room <= 0) return Effect.succeed(false)
      const target = this.target(keep, room)
      if (target === cursor.buffer) target.copyWithin(0, cursor.position, cursor.end)
      else target.set(cursor.buffer.subarray(cursor.position, cursor.end), 0)
      this.buffer = target
      this.bufferOffset += cursor.position
      const length = Math.min(target.length - keep, room)
      const filled = (n: number) => {
        cursor.reset(target, 0, keep + n, cursor.expectedSequence)
        return n > 0
      }
      const access = this.access
      if (access !== undefined) {
        try {
          return Effect.succeed(filled(access.readAt(target.subarray(keep, keep + length), readFrom)))
        } catch (error) {
          // Thrown as the PlatformError the file's `read` Effect would fail with (`syncAccess.ts`).
          return Effect.fail(fromPlatformError("read", this.path)(error as PlatformError))
        }
      }
      return this.file.seek(readFrom, "start").pipe(
        Effect.zipRight(readFully(this.file, target.subarray(keep, keep + length), this.path)),
        Effect.map(filled)
      )
    })
  }

  /**
   * The buffer the next read goes into, with `keep` undecoded bytes to carry over and `room` more
   * readable. A lent buffer is never reused: its successor is new and no larger than what there is
   * to read (the small reads of a tail stay small). Otherwise the buffer is reused unless it is too
   * small. The capacity grows when one frame needs more room.
   */
  private target(keep: number, room: number): Uint8Array {
    const needed = this.pendingFrameSize(keep)
    while (this.capacity < needed) this.capacity *= 2
    const wanted = Math.min(this.capacity, keep + room)
    if (this.lent) {
      this.lent = false
      return new Uint8Array(wanted)
    }
    return this.buffer.length < Math.max(needed, wanted) ? new Uint8Array(this.capacity) : this.buffer
  }

  /**
   * Size of the frame whose first `available` bytes are buffered, when its header is complete and
   * it fits before `limit`. A length past the readable bytes never grows the buffer: the frame is
   * incomplete, whatever its length says.
   */
  private pendingFrameSize(available: number): number {
    if (available < FRAME_HEADER_SIZE) return FRAME_HEADER_SIZE
    const length = this.cursor.view.getUint32(this.cursor.position + 4, true)
    const end = this.bufferOffset + this.cursor.position + FRAME_HEADER_SIZE + length
    return length > this.cursor.maxPayload || end > this.limit ? FRAME_HEADER_SIZE : FRAME_HEADER_SIZE + length
  }
}
