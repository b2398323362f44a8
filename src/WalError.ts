/**
 * The typed errors of effect-wal. Every failure a WAL operation can report is one of the tagged
 * classes below, so callers can branch with `Effect.catchTag` / `Effect.catchTags`. Each class
 * carries structured fields and a readable `message`.
 *
 * Each class is a `Schema.TaggedError`: it is its own schema, so an error crosses an `HttpApi` or
 * `Rpc` boundary as it is (declare it as the endpoint's error, or use the `WalError` union
 * schema). Causes (`cause` of `WalIOError` and `WalCodecError`) travel as `Schema.Defect`: their
 * message survives, their class does not.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import { Predicate, Schema } from "effect"

/**
 * A filesystem operation failed (open, read, write, fsync, rename, truncate, ...).
 * `code` keeps the Node errno code (`"ENOSPC"`, `"EIO"`, `"EACCES"`, ...) when one is known,
 * because @effect/platform reports most of them with the reason `"Unknown"`.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalIOError extends Schema.TaggedError<WalIOError>()("WalIOError", {
  operation: Schema.String,
  path: Schema.String,
  code: Schema.optional(Schema.String),
  cause: Schema.Defect
}) {
  override get message(): string {
    const code = this.code === undefined ? "" : ` (${this.code})`
    return `${this.operation} failed on ${this.path}${code}: ${describeCause(this.cause)}`
  }
}

/**
 * The log contains data that no crash can explain: an invalid frame followed by valid data, an
 * invalid frame in a sealed segment, a gap in the sequence numbers or the segment indexes. Nothing
 * is repaired; `file` and `offset` name the first bad byte so an operator can inspect or repair it.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalCorruptionError extends Schema.TaggedError<WalCorruptionError>()("WalCorruptionError", {
  file: Schema.String,
  offset: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `WAL corruption in ${this.file} at offset ${this.offset}: ${this.reason}`
  }
}

/**
 * The schema of `FormatProblem`.
 *
 * @since 0.2.0
 * @category errors
 */
export const FormatProblem = Schema.Literal(
  "foreign-file",
  "unsupported-version",
  "bad-header",
  "codec-mismatch",
  "wal-id-mismatch"
)

/**
 * Why a segment file was refused before any of its frames were read.
 *
 * @since 0.1.0
 * @category models
 */
export type FormatProblem = typeof FormatProblem.Type

/**
 * A segment file is not one this WAL can open: not a WAL segment at all (`foreign-file`), written
 * by a newer format (`unsupported-version`), a truncated or damaged header (`bad-header`), written
 * with another codec than the one in use (`codec-mismatch`), or belonging to another WAL
 * (`wal-id-mismatch`).
 *
 * @since 0.1.0
 * @category errors
 */
export class WalFormatError extends Schema.TaggedError<WalFormatError>()("WalFormatError", {
  file: Schema.String,
  problem: FormatProblem,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.file} cannot be opened (${this.problem}): ${this.detail}`
  }
}

/**
 * A payload could not be encoded to bytes or decoded back by the schema and codec in use.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalCodecError extends Schema.TaggedError<WalCodecError>()("WalCodecError", {
  direction: Schema.Literal("encode", "decode"),
  codec: Schema.String,
  cause: Schema.Defect
}) {
  override get message(): string {
    return `codec "${this.codec}" could not ${this.direction} a payload: ${describeCause(this.cause)}`
  }
}

/**
 * An option passed to `Wal.make`, `Wal.reader` or a durability constructor is invalid.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalConfigError extends Schema.TaggedError<WalConfigError>()("WalConfigError", {
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid WAL option "${this.field}": ${this.detail}`
  }
}

/**
 * The WAL's scope has closed: it takes no more appends.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalClosedError extends Schema.TaggedError<WalClosedError>()("WalClosedError", {
  directory: Schema.String
}) {
  override get message(): string {
    return `the WAL in ${this.directory} is closed`
  }
}

/**
 * The append queue is full and the WAL was opened with `overflow: "fail"`.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalOverloadedError extends Schema.TaggedError<WalOverloadedError>()("WalOverloadedError", {
  capacity: Schema.Number
}) {
  override get message(): string {
    return `the WAL append queue is full (capacity ${this.capacity})`
  }
}

/**
 * A write or fsync failed earlier, so the WAL stops acknowledging anything until it is reopened:
 * after a failed fsync the kernel may have dropped the dirty pages, and retrying would acknowledge
 * data that is not on disk. `cause` is the first I/O failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalPoisonedError extends Schema.TaggedError<WalPoisonedError>()("WalPoisonedError", {
  cause: WalIOError
}) {
  override get message(): string {
    return `the WAL stopped after an I/O failure and must be reopened: ${this.cause.message}`
  }
}

/**
 * Another writer, in this process or another one, holds the directory's lock.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalLockedError extends Schema.TaggedError<WalLockedError>()("WalLockedError", {
  directory: Schema.String,
  holder: Schema.String
}) {
  override get message(): string {
    return `the WAL in ${this.directory} is locked by ${this.holder}`
  }
}

/**
 * An entry (or an atomic batch) is larger than the WAL accepts.
 *
 * @since 0.1.0
 * @category errors
 */
export class WalEntryTooLargeError extends Schema.TaggedError<WalEntryTooLargeError>()("WalEntryTooLargeError", {
  size: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `entry of ${this.size} bytes exceeds the limit of ${this.limit} bytes`
  }
}

/**
 * The schema of every error effect-wal reports: a union of the classes above, for an `HttpApi`
 * endpoint's or an `Rpc`'s error channel.
 *
 * @since 0.2.0
 * @category errors
 */
export const WalError = Schema.Union(
  WalIOError,
  WalCorruptionError,
  WalFormatError,
  WalCodecError,
  WalConfigError,
  WalClosedError,
  WalOverloadedError,
  WalPoisonedError,
  WalLockedError,
  WalEntryTooLargeError
)

/**
 * Every error effect-wal reports.
 *
 * @since 0.1.0
 * @category models
 */
export type WalError = typeof WalError.Type

const errorTags: ReadonlySet<string> = new Set(WalError.members.map((member) => member._tag))

/**
 * Errors of opening a WAL (`Wal.make`, `Wal.layer`).
 *
 * @since 0.1.0
 * @category models
 */
export type OpenError = WalConfigError | WalIOError | WalLockedError | WalFormatError | WalCorruptionError

/**
 * Errors of an append (`append`, `appendAll`, `checkpoint`).
 *
 * @since 0.1.0
 * @category models
 */
export type AppendError =
  | WalCodecError
  | WalEntryTooLargeError
  | WalOverloadedError
  | WalClosedError
  | WalPoisonedError

/**
 * Errors of reading the log: a failed read, damage found in a segment, a segment that is not this
 * WAL's (a read-only reader meets it only now), or a payload the schema and codec cannot decode.
 * A `from` or `to` that is not an integer is a defect (`WalConfigError` as the defect), not a
 * condition of the log, so it is not in this union.
 *
 * @since 0.1.0
 * @category models
 */
export type ReadError = WalIOError | WalCorruptionError | WalFormatError | WalCodecError

/**
 * Errors of the byte-exact replication stream, which decodes no payload and reads only segments
 * the writer opened: a failed read or damage found in a segment.
 *
 * @since 0.2.0
 * @category models
 */
export type StreamBytesError = WalIOError | WalCorruptionError

/**
 * Whether a value is one of the errors above.
 *
 * @since 0.1.0
 * @category guards
 */
export const isWalError = (u: unknown): u is WalError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && errorTags.has(u._tag)

/**
 * The errno code behind a failure, when there is one: Node errors carry `code`, and
 * @effect/platform `SystemError`s keep the Node error as their `cause`.
 *
 * @since 0.1.0
 * @category utils
 */
export const errnoCode = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 4 && Predicate.isObject(current); depth++) {
    if ("code" in current && typeof current.code === "string") return current.code
    current = "cause" in current ? current.cause : undefined
  }
  return undefined
}

/**
 * Turns a @effect/platform failure into a `WalIOError`, keeping the errno code. This is the one
 * boundary where platform errors enter the WAL's error model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPlatformError = (operation: string, path: string) => (error: PlatformError): WalIOError =>
  new WalIOError({ operation, path, code: errnoCode(error), cause: error })

const describeCause = (cause: unknown): string => {
  if (Predicate.isObject(cause) && "message" in cause && typeof cause.message === "string") return cause.message
  return String(cause)
}
