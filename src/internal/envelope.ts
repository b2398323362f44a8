/**
 * The transport envelope of replication: each chunk of `streamBytes` as one self-delimiting,
 * checksummed message, and the decoder that reassembles messages from byte pieces cut anywhere
 * (pipe or socket reads). Layout in `Follower.encodeChunk`.
 */
import { Either, Option, Stream } from "effect"
import type { ReplicationChunk } from "../Wal.js"
import { WalCorruptionError } from "../WalError.js"
import { readU64, viewOf, writeU64 } from "./format/bytes.js"
import { crc32c } from "./format/crc32c.js"

const corruption = (file: string, offset: number, reason: string) => new WalCorruptionError({ file, offset, reason })

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
