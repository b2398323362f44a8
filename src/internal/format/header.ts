/**
 * Segment headers: encode, and decode with a precise reason for every way a file can fail to be
 * a segment of this format.
 *
 * Layout (128 bytes, little-endian), see docs/format.md:
 *    0  u8[8]  magic           "EFWALSEG" (SEGMENT_MAGIC)
 *    8  u16    version         FORMAT_VERSION
 *   10  u16    header size     HEADER_SIZE
 *   12  u8[4]  reserved        zero
 *   16  u8[16] WAL id          random, fixed at creation (WAL_ID_OFFSET)
 *   32  u64    segment index   (SEGMENT_INDEX_OFFSET)
 *   40  u64    first sequence  (FIRST_SEQUENCE_OFFSET)
 *   48  u8     codec id length 1 to 64 (CODEC_LENGTH_OFFSET)
 *   49  u8[64] codec id        printable ASCII (CODEC_OFFSET), zero-padded
 *  113  u8[11] reserved        zero
 *  124  u32    checksum        CRC-32C of bytes [0, 124) (CHECKSUM_OFFSET)
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

const VERSION_OFFSET = 8
const HEADER_SIZE_OFFSET = 10
const WAL_ID_OFFSET = 16
const SEGMENT_INDEX_OFFSET = 32
const FIRST_SEQUENCE_OFFSET = 40
const CODEC_LENGTH_OFFSET = 48
const CODEC_OFFSET = 49
const CHECKSUM_OFFSET = HEADER_SIZE - 4

/** Whether a codec id can be stored: 1 to 64 printable ASCII characters, no spaces. */
export const isValidCodecId = (id: string): boolean => /^[\x21-\x7e]{1,64}$/.test(id)

/** Encodes a header into a fresh `HEADER_SIZE`-byte buffer. */
export const encodeHeader = (header: Omit<SegmentHeader, "version">): Uint8Array => {
  if (header.walId.length !== WAL_ID_SIZE) throw new RangeError(`WAL id must be ${WAL_ID_SIZE} bytes`)
  if (!isValidCodecId(header.codecId)) throw new RangeError(`invalid codec id ${JSON.stringify(header.codecId)}`)
  const bytes = new Uint8Array(HEADER_SIZE)
  const view = viewOf(bytes)
  bytes.set(SEGMENT_MAGIC, 0)
  view.setUint16(VERSION_OFFSET, FORMAT_VERSION, true)
  view.setUint16(HEADER_SIZE_OFFSET, HEADER_SIZE, true)
  bytes.set(header.walId, WAL_ID_OFFSET)
  writeU64(view, SEGMENT_INDEX_OFFSET, header.segmentIndex)
  writeU64(view, FIRST_SEQUENCE_OFFSET, header.firstSequence)
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
  const version = view.getUint16(VERSION_OFFSET, true)
  if (version > FORMAT_VERSION) {
    return fail("unsupported-version", `format version ${version} is newer than ${FORMAT_VERSION}, the newest this build reads`)
  }
  if (version === 0) return fail("bad-header", "format version 0 is invalid")
  const stored = view.getUint32(CHECKSUM_OFFSET, true)
  const actual = crc32c(bytes, 0, CHECKSUM_OFFSET)
  if (stored !== actual) return fail("bad-header", `header checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`)
  if (view.getUint16(HEADER_SIZE_OFFSET, true) !== HEADER_SIZE) {
    return fail("bad-header", `header size ${view.getUint16(HEADER_SIZE_OFFSET, true)} is not ${HEADER_SIZE}`)
  }
  const segmentIndex = readU64(view, SEGMENT_INDEX_OFFSET)
  const firstSequence = readU64(view, FIRST_SEQUENCE_OFFSET)
  if (segmentIndex < 0 || firstSequence < 1) return fail("bad-header", "segment index or first sequence out of range")
  const codecLength = bytes[CODEC_LENGTH_OFFSET]!
  if (codecLength < 1 || codecLength > MAX_CODEC_ID_LENGTH) return fail("bad-header", `codec id length ${codecLength} out of range`)
  const codecId = String.fromCharCode(...bytes.subarray(CODEC_OFFSET, CODEC_OFFSET + codecLength))
  if (!isValidCodecId(codecId)) return fail("bad-header", "codec id holds characters outside printable ASCII")
  return Either.right({
    version,
    walId: bytes.slice(WAL_ID_OFFSET, WAL_ID_OFFSET + WAL_ID_SIZE),
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
