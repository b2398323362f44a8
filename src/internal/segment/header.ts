/**
 * Opening a segment: its header read, decoded and checked against the WAL, the codec in use, the
 * file name and the segment before it; a segment whose creation a crash tore is recognised (and
 * removed durably) rather than refused.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, Option } from "effect"
import { fromPlatformError, WalCorruptionError, WalFormatError, type WalIOError } from "../../WalError.js"
import { HEADER_SIZE, SEGMENT_MAGIC } from "../format/constants.js"
import { decodeHeader, hex, type SegmentHeader } from "../format/header.js"
import { readAt, sizeOf, syncDirectory } from "../io.js"

/** The expectations a header is checked against. */
export interface HeaderExpectations {
  /** The codec id in use; `undefined` adopts whatever the header says (a replica). */
  readonly codecId: string | undefined
  readonly walId: Uint8Array | undefined
  readonly index: number
  readonly firstSequence: number
}

/** Checks a decoded header against the WAL, the codec in use and the file's name. */
export const checkHeader = (
  path: string,
  header: SegmentHeader,
  expected: HeaderExpectations
): Either.Either<SegmentHeader, WalFormatError | WalCorruptionError> => {
  if (expected.walId !== undefined && hex(header.walId) !== hex(expected.walId)) {
    return Either.left(
      new WalFormatError({
        file: path,
        problem: "wal-id-mismatch",
        detail: `segment belongs to WAL ${hex(header.walId)}, not ${hex(expected.walId)}`
      })
    )
  }
  if (expected.codecId !== undefined && header.codecId !== expected.codecId) {
    return Either.left(
      new WalFormatError({
        file: path,
        problem: "codec-mismatch",
        detail: `segment was written with codec "${header.codecId}" but the WAL is opened with "${expected.codecId}"`
      })
    )
  }
  if (header.segmentIndex !== expected.index || header.firstSequence !== expected.firstSequence) {
    return Either.left(
      new WalCorruptionError({
        file: path,
        offset: 0,
        reason: `header says segment ${header.segmentIndex} from sequence ${header.firstSequence}, ` +
          `the file name says segment ${expected.index} from sequence ${expected.firstSequence}`
      })
    )
  }
  return Either.right(header)
}

/** Whether `bytes` could be a segment header torn by a crash during creation: zeros or a prefix of one. */
const looksLikeTornHeader = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0 && (i >= SEGMENT_MAGIC.length || bytes[i] !== SEGMENT_MAGIC[i])) return false
  }
  return true
}

/**
 * Whether a header that did not decode belongs to a segment whose creation a crash tore: the last
 * segment, at most a header's worth of bytes, and either zeros or a prefix of the magic, or
 * anything once an earlier segment proves a new one was due. No entry was ever acknowledged in it.
 */
export const isTornCreation = (segment: {
  readonly isLast: boolean
  /** Its position in the listing (0 for the first kept segment). */
  readonly position: number
  readonly size: number
  readonly headerBytes: Uint8Array
  readonly problem: WalFormatError["problem"]
}): boolean =>
  segment.isLast && segment.size <= HEADER_SIZE && (segment.problem === "foreign-file" || segment.problem === "bad-header") &&
  (segment.position > 0 || looksLikeTornHeader(segment.headerBytes))

/** Where a segment sits in the log being recovered, and what its header must say. */
export interface SegmentPosition {
  readonly path: string
  /** Its position in the listing (0 for the first kept segment). */
  readonly position: number
  readonly isLast: boolean
  readonly expected: HeaderExpectations
  /** The last sequence of the segment before it (ignored for the first). */
  readonly previousLastSequence: number
}

/** An open segment whose header passed every check. */
export interface SegmentStart {
  readonly header: SegmentHeader
  readonly headerBytes: Uint8Array
  readonly size: number
}

/**
 * Reads and checks the header of an open segment. `None` when the segment is the last one and its
 * creation was torn by a crash (at most a header's worth of bytes that do not decode: zeros, a
 * prefix of the magic, or anything once an earlier segment proves a new one was due); no entry was
 * ever acknowledged in such a segment. Fails with `WalFormatError` for any other bad header, and
 * with `WalCorruptionError` when the header contradicts the file name or the previous segment.
 */
export const readSegmentStart = (
  file: FileSystem.File,
  at: SegmentPosition
): Effect.Effect<Option.Option<SegmentStart>, WalIOError | WalFormatError | WalCorruptionError> =>
  Effect.gen(function*() {
    const { path } = at
    const size = yield* sizeOf(file, path)
    const headerBytes = yield* readAt(file, 0, HEADER_SIZE, path)
    const decoded = decodeHeader(headerBytes)
    if (Either.isLeft(decoded)) {
      if (isTornCreation({ ...at, size, headerBytes, problem: decoded.left.problem })) return Option.none()
      return yield* new WalFormatError({ file: path, problem: decoded.left.problem, detail: decoded.left.detail })
    }
    const header = yield* checkHeader(path, decoded.right, at.expected)
    if (at.position > 0 && header.firstSequence !== at.previousLastSequence + 1) {
      return yield* new WalCorruptionError({
        file: path,
        offset: 0,
        reason: `segment starts at sequence ${header.firstSequence}, expected ${at.previousLastSequence + 1}`
      })
    }
    return Option.some({ header, headerBytes, size })
  })

/**
 * Removes a segment whose creation a crash tore (`readSegmentStart` gave `None`) and makes the
 * removal durable before a segment under the same name is created again.
 */
export const removeTornCreation = (
  fs: FileSystem.FileSystem,
  directory: string,
  path: string
): Effect.Effect<void, WalIOError> =>
  Effect.zipRight(
    fs.remove(path).pipe(Effect.mapError(fromPlatformError("remove", path))),
    syncDirectory(fs, directory)
  )
