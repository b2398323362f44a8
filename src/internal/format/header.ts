/**
 * Segment headers: encode, and decode with a precise reason for every way a file can fail to be
 * a segment of this format.
 */
import { Either } from "effect"
import type { FormatProblem } from "../../WalError.js"
import { readU64, viewOf, writeU64 } from "./bytes.js"
import { FORMAT_VERSION, HEADER_SIZE, MAX_CODEC_ID_LENGTH, SEGMENT_MAGIC, WAL_ID_SIZE } from "./constants.js"
import { crc32c } from "./crc32c.js"

/** The fields of a segment header. */
export interface SegmentHeader {
  readonly version: number
  readonly walId: Uint8Array
  readonly segmentIndex: number
  readonly firstSequence: number
  readonly codecId: string
}

/** Why a header did not decode. */
export interface HeaderProblem {
  readonly problem: FormatProblem
  readonly detail: string
}

const CHECKSUM_OFFSET = HEADER_SIZE - 4
const CODEC_LENGTH_OFFSET = 48
const CODEC_OFFSET = 49

/** Whether a codec id can be stored: 1 to 64 printable ASCII characters, no spaces. */
export const isValidCodecId = (id: string): boolean => /^[\x21-\x7e]{1,64}$/.test(id)

/** Encodes a header into a fresh `HEADER_SIZE`-byte buffer. */
export const encodeHeader = (header: Omit<SegmentHeader, "version">): Uint8Array => {
  if (header.walId.length !== WAL_ID_SIZE) throw new RangeError(`WAL id must be ${WAL_ID_SIZE} bytes`)
  if (!isValidCodecId(header.codecId)) throw new RangeError(`invalid codec id ${JSON.stringify(header.codecId)}`)
  const bytes = new Uint8Array(HEADER_SIZE)
  const view = viewOf(bytes)
  bytes.set(SEGMENT_MAGIC, 0)
  view.setUint16(8, FORMAT_VERSION, true)
  view.setUint16(10, HEADER_SIZE, true)
  bytes.set(header.walId, 16)
  writeU64(view, 32, header.segmentIndex)
  writeU64(view, 40, header.firstSequence)
  bytes[CODEC_LENGTH_OFFSET] = header.codecId.length
  for (let i = 0; i < header.codecId.length; i++) bytes[CODEC_OFFSET + i] = header.codecId.charCodeAt(i)
  view.setUint32(CHECKSUM_OFFSET, crc32c(bytes, 0, CHECKSUM_OFFSET), true)
  return bytes
}

const fail = (problem: FormatProblem, detail: string) => Either.left<HeaderProblem>({ problem, detail })

/**
 * Decodes the header at the start of `bytes`. Checks, in order: the magic (`foreign-file`), the
 * version (`unsupported-version` when newer), the length and checksum (`bad-header`), then the
 * field ranges. A short buffer that matches the magic so far is a truncated header (`bad-header`).
 */
export const decodeHeader = (bytes: Uint8Array): Either.Either<SegmentHeader, HeaderProblem> => {
  const magicBytes = Math.min(bytes.length, SEGMENT_MAGIC.length)
  for (let i = 0; i < magicBytes; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) return fail("foreign-file", "the file does not start with the segment magic")
  }
  if (bytes.length < HEADER_SIZE) {
    return fail("bad-header", `truncated header: ${bytes.length} of ${HEADER_SIZE} bytes`)
  }
  const view = viewOf(bytes)
  const version = view.getUint16(8, true)
  if (version > FORMAT_VERSION) {
    return fail("unsupported-version", `format version ${version} is newer than ${FORMAT_VERSION}, the newest this build reads`)
  }
  if (version === 0) return fail("bad-header", "format version 0 is invalid")
  const stored = view.getUint32(CHECKSUM_OFFSET, true)
  const actual = crc32c(bytes, 0, CHECKSUM_OFFSET)
  if (stored !== actual) return fail("bad-header", `header checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`)
  if (view.getUint16(10, true) !== HEADER_SIZE) return fail("bad-header", `header size ${view.getUint16(10, true)} is not ${HEADER_SIZE}`)
  const segmentIndex = readU64(view, 32)
  const firstSequence = readU64(view, 40)
  if (segmentIndex < 0 || firstSequence < 1) return fail("bad-header", "segment index or first sequence out of range")
  const codecLength = bytes[CODEC_LENGTH_OFFSET]!
  if (codecLength < 1 || codecLength > MAX_CODEC_ID_LENGTH) return fail("bad-header", `codec id length ${codecLength} out of range`)
  const codecId = String.fromCharCode(...bytes.subarray(CODEC_OFFSET, CODEC_OFFSET + codecLength))
  if (!isValidCodecId(codecId)) return fail("bad-header", "codec id holds characters outside printable ASCII")
  return Either.right({
    version,
    walId: bytes.slice(16, 16 + WAL_ID_SIZE),
    segmentIndex,
    firstSequence,
    codecId
  })
}

/** Lower-case hex of a WAL id or checksum, for messages and reports. */
export const hex = (value: number | Uint8Array): string =>
  typeof value === "number"
    ? value.toString(16).padStart(8, "0")
    : Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")
