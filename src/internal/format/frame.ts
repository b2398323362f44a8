/**
 * Record frames: a batch encoder that writes many frames into one reusable buffer, and a cursor
 * that walks a buffer frame by frame without allocating, stopping with a precise reason.
 *
 * Layout (little-endian), see docs/format.md:
 *   0  u32 checksum  CRC-32C of bytes [4, 32 + length), continuing from the WAL's frame seed
 *   4  u32 length    payload length
 *   8  u8  kind      1 data, 2 checkpoint, 3 seal
 *   9  u8  flags     bit 0: the batch continues in the next frame
 *  10  u16 reserved  zero
 *  12  u32 durable   segment offset known durable (fsynced) when this frame was written
 *  16  u64 sequence
 *  24  u64 timestamp milliseconds (hybrid logical clock)
 *  32  payload
 */
import { readU64, viewOf, writeU64 } from "./bytes.js"
import { FLAG_CONTINUES, FRAME_HEADER_SIZE, FrameKind, SEAL_PAYLOAD_SIZE } from "./constants.js"
import { crc32c, crc32cUpdate } from "./crc32c.js"

/**
 * The checksum seed of a WAL's frames: the CRC-32C of its id. Frames of another WAL (stale or
 * misplaced data) never validate, and neither does an all-zero region.
 */
export const frameSeed = (walId: Uint8Array): number => crc32c(walId)

/** Why a cursor stopped. `end`: no bytes left; every other reason leaves the cursor on a bad frame. */
export type StopReason =
  | "end"
  | "incomplete"
  | "checksum"
  | "bad-length"
  | "bad-frame"
  | "out-of-order"

/** What each stop on a bad frame means, as error messages and reports name it. */
export const describeStop: Record<Exclude<StopReason, "end">, string> = {
  "incomplete": "incomplete frame",
  "checksum": "checksum mismatch",
  "bad-length": "frame length over the maximum",
  "bad-frame": "invalid frame fields",
  "out-of-order": "sequence out of order"
}

/** Walks frames in `buffer[position, end)`. After `next()` returns `"frame"`, the fields describe it. */
export class FrameCursor {
  buffer: Uint8Array = new Uint8Array(0)
  view: DataView = viewOf(this.buffer)
  position = 0
  end = 0
  /** Sequence the next data or checkpoint frame must carry. */
  expectedSequence = 1

  kind = 0
  flags = 0
  sequence = 0
  timestamp = 0
  durableOffset = 0
  frameStart = 0
  payloadStart = 0
  payloadEnd = 0

  /**
   * `verifyChecksums: false` is only for bytes that never left this process's memory since the
   * writer computed their checksums (a live batch); everything read from a file is verified.
   */
  constructor(readonly seed: number, readonly maxPayload: number, readonly verifyChecksums = true) {}

  /** Points the cursor at `buffer[position, end)`. */
  reset(buffer: Uint8Array, position: number, end: number, expectedSequence: number): void {
    if (buffer !== this.buffer) {
      this.buffer = buffer
      this.view = viewOf(buffer)
    }
    this.position = position
    this.end = end
    this.expectedSequence = expectedSequence
  }

  /**
   * Decodes the frame at `position`. On `"frame"` the position moves past it and, for data and
   * checkpoint frames, `expectedSequence` advances. On a stop the position stays on the bad frame.
   */
  next(): "frame" | StopReason {
    const start = this.position
    const available = this.end - start
    if (available === 0) return "end"
    if (available < FRAME_HEADER_SIZE) return "incomplete"
    const view = this.view
    const length = view.getUint32(start + 4, true)
    if (length > this.maxPayload) return "bad-length"
    const frameEnd = start + FRAME_HEADER_SIZE + length
    if (frameEnd > this.end) return "incomplete"
    if (this.verifyChecksums && crc32cUpdate(this.seed, this.buffer, start + 4, frameEnd) !== view.getUint32(start, true)) {
      return "checksum"
    }
    const kind = this.buffer[start + 8]!
    const flags = this.buffer[start + 9]!
    const sequence = readU64(view, start + 16)
    const timestamp = readU64(view, start + 24)
    if (
      kind < FrameKind.data || kind > FrameKind.seal || (flags & ~FLAG_CONTINUES) !== 0 ||
      view.getUint16(start + 10, true) !== 0 || sequence < 0 || timestamp < 0 ||
      (kind === FrameKind.seal && (length !== SEAL_PAYLOAD_SIZE || flags !== 0))
    ) return "bad-frame"
    if (kind === FrameKind.seal ? sequence !== this.expectedSequence - 1 : sequence !== this.expectedSequence) {
      return "out-of-order"
    }
    this.kind = kind
    this.flags = flags
    this.sequence = sequence
    this.timestamp = timestamp
    this.durableOffset = view.getUint32(start + 12, true)
    this.frameStart = start
    this.payloadStart = start + FRAME_HEADER_SIZE
    this.payloadEnd = frameEnd
    this.position = frameEnd
    if (kind !== FrameKind.seal) this.expectedSequence = sequence + 1
    return "frame"
  }

  /** Whether the last frame returned commits its batch (it does not carry the continues flag). */
  get commits(): boolean {
    return (this.flags & FLAG_CONTINUES) === 0
  }
}

/** The size of a frame carrying `payloadLength` bytes. */
export const frameSize = (payloadLength: number): number => FRAME_HEADER_SIZE + payloadLength

/**
 * Encodes frames back to back into one buffer that is reused from batch to batch; it grows only
 * when a batch is larger than any before it.
 */
export class BatchEncoder {
  private buffer: Uint8Array
  private view: DataView
  private length = 0

  constructor(readonly seed: number, initialCapacity = 64 * 1024) {
    this.buffer = new Uint8Array(initialCapacity)
    this.view = viewOf(this.buffer)
  }

  /** Starts a new batch, discarding the bytes of the previous one. */
  reset(): void {
    this.length = 0
  }

  /** Bytes encoded since the last reset. */
  get size(): number {
    return this.length
  }

  /** Appends one frame. */
  frame(kind: FrameKind, flags: number, sequence: number, timestamp: number, durableOffset: number, payload: Uint8Array): void {
    const start = this.length
    const end = start + FRAME_HEADER_SIZE + payload.length
    this.ensure(end)
    const view = this.view
    const buffer = this.buffer
    view.setUint32(start + 4, payload.length, true)
    buffer[start + 8] = kind
    buffer[start + 9] = flags
    view.setUint16(start + 10, 0, true)
    view.setUint32(start + 12, durableOffset, true)
    writeU64(view, start + 16, sequence)
    writeU64(view, start + 24, timestamp)
    buffer.set(payload, start + FRAME_HEADER_SIZE)
    view.setUint32(start, crc32cUpdate(this.seed, buffer, start + 4, end), true)
    this.length = end
  }

  /** Appends a seal frame closing a segment whose last sequence is `lastSequence`. */
  seal(lastSequence: number, entryCount: number, lastCheckpoint: number, timestamp: number, durableOffset: number): void {
    this.frame(FrameKind.seal, 0, lastSequence, timestamp, durableOffset, encodeSealPayload(lastSequence, entryCount, lastCheckpoint))
  }

  /** The bytes of the current batch; valid until the next `reset` or `frame`. */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length)
  }

  private ensure(capacity: number): void {
    if (capacity <= this.buffer.length) return
    let next = this.buffer.length * 2
    while (next < capacity) next *= 2
    const grown = new Uint8Array(next)
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
    this.view = viewOf(grown)
  }
}

/** What a seal frame records about its segment. */
export interface SealInfo {
  readonly lastSequence: number
  readonly entryCount: number
  readonly lastCheckpoint: number
}

/** Encodes a seal payload. */
export const encodeSealPayload = (lastSequence: number, entryCount: number, lastCheckpoint: number): Uint8Array => {
  const bytes = new Uint8Array(SEAL_PAYLOAD_SIZE)
  const view = viewOf(bytes)
  writeU64(view, 0, lastSequence)
  writeU64(view, 8, entryCount)
  writeU64(view, 16, lastCheckpoint)
  return bytes
}

/** Decodes the seal payload in `buffer[start, start + 24)`. */
export const decodeSealPayload = (buffer: Uint8Array, start: number): SealInfo => {
  const view = viewOf(buffer)
  return {
    lastSequence: readU64(view, start),
    entryCount: readU64(view, start + 8),
    lastCheckpoint: readU64(view, start + 16)
  }
}

/**
 * Looks for a frame of this WAL (valid checksum under `seed`, valid fields) starting anywhere in
 * `buffer[from, end)` whose durable offset is greater than `minDurable`. Returns its position, or
 * -1. Recovery uses it to tell a torn tail (nothing valid written after the damage was durable)
 * from corruption (a later frame proves the damaged bytes had been fsynced).
 */
export const findDurableFrameAfter = (
  buffer: Uint8Array,
  from: number,
  end: number,
  seed: number,
  maxPayload: number,
  minDurable: number
): number => {
  const view = viewOf(buffer)
  for (let pos = from; pos + FRAME_HEADER_SIZE <= end; pos++) {
    const kind = buffer[pos + 8]!
    if (kind < FrameKind.data || kind > FrameKind.seal || (buffer[pos + 9]! & ~FLAG_CONTINUES) !== 0) continue
    if (buffer[pos + 10] !== 0 || buffer[pos + 11] !== 0) continue
    if (view.getUint32(pos + 12, true) <= minDurable) continue
    const length = view.getUint32(pos + 4, true)
    if (length > maxPayload || pos + FRAME_HEADER_SIZE + length > end) continue
    if (crc32cUpdate(seed, buffer, pos + 4, pos + FRAME_HEADER_SIZE + length) === view.getUint32(pos, true)) return pos
  }
  return -1
}
