/**
 * The typed errors of effect-wal. Every failure a WAL operation can report is one of the tagged
 * classes below, so callers can branch with `Effect.catchTag` / `Effect.catchTags`. Each class
 * carries structured fields and a readable `message`.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import { Data, Predicate } from "effect"

/**
 * A filesystem operation failed (open, read, write, fsync, rename, truncate, ...).
 * `code` keeps the Node errno code (`"ENOSPC"`, `"EIO"`, `"EACCES"`, ...) when one is known,
 * because @effect/platform reports most of them with the reason `"Unknown"`.
 *
 * @since 0.1.0
 */
export class WalIOError extends Data.TaggedError("WalIOError")<{
  readonly operation: string
  readonly path: string
  readonly code: string | undefined
  readonly cause: unknown
}> {
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
 */
export class WalCorruptionError extends Data.TaggedError("WalCorruptionError")<{
  readonly file: string
  readonly offset: number
  readonly reason: string
}> {
  override get message(): string {
    return `WAL corruption in ${this.file} at offset ${this.offset}: ${this.reason}`
  }
}

/**
 * Why a segment file was refused before any of its frames were read.
 *
 * @since 0.1.0
 */
export type FormatProblem =
  | "foreign-file"
  | "unsupported-version"
  | "bad-header"
  | "codec-mismatch"
  | "wal-id-mismatch"

/**
 * A segment file is not one this WAL can open: not a WAL segment at all (`foreign-file`), written
 * by a newer format (`unsupported-version`), a truncated or damaged header (`bad-header`), written
 * with another codec than the one in use (`codec-mismatch`), or belonging to another WAL
 * (`wal-id-mismatch`).
 *
 * @since 0.1.0
 */
export class WalFormatError extends Data.TaggedError("WalFormatError")<{
  readonly file: string
  readonly problem: FormatProblem
  readonly detail: string
}> {
  override get message(): string {
    return `${this.file} cannot be opened (${this.problem}): ${this.detail}`
  }
}

/**
 * A payload could not be encoded to bytes or decoded back by the schema and codec in use.
 *
 * @since 0.1.0
 */
export class WalCodecError extends Data.TaggedError("WalCodecError")<{
  readonly direction: "encode" | "decode"
  readonly codec: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `codec "${this.codec}" could not ${this.direction} a payload: ${describeCause(this.cause)}`
  }
}

/**
 * An option passed to `Wal.make`, `Wal.reader` or a durability constructor is invalid.
 *
 * @since 0.1.0
 */
export class WalConfigError extends Data.TaggedError("WalConfigError")<{
  readonly field: string
  readonly detail: string
}> {
  override get message(): string {
    return `invalid WAL option "${this.field}": ${this.detail}`
  }
}

/**
 * The WAL's scope has closed: it takes no more appends.
 *
 * @since 0.1.0
 */
export class WalClosedError extends Data.TaggedError("WalClosedError")<{
  readonly directory: string
}> {
  override get message(): string {
    return `the WAL in ${this.directory} is closed`
  }
}

/**
 * The append queue is full and the WAL was opened with `overflow: "fail"`.
 *
 * @since 0.1.0
 */
export class WalOverloadedError extends Data.TaggedError("WalOverloadedError")<{
  readonly capacity: number
}> {
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
 */
export class WalPoisonedError extends Data.TaggedError("WalPoisonedError")<{
  readonly cause: WalIOError
}> {
  override get message(): string {
    return `the WAL stopped after an I/O failure and must be reopened: ${this.cause.message}`
  }
}

/**
 * Another writer, in this process or another one, holds the directory's lock.
 *
 * @since 0.1.0
 */
export class WalLockedError extends Data.TaggedError("WalLockedError")<{
  readonly directory: string
  readonly holder: string
}> {
  override get message(): string {
    return `the WAL in ${this.directory} is locked by ${this.holder}`
  }
}

/**
 * An entry (or an atomic batch) is larger than the WAL accepts.
 *
 * @since 0.1.0
 */
export class WalEntryTooLargeError extends Data.TaggedError("WalEntryTooLargeError")<{
  readonly size: number
  readonly limit: number
}> {
  override get message(): string {
    return `entry of ${this.size} bytes exceeds the limit of ${this.limit} bytes`
  }
}

/**
 * Every error effect-wal reports.
 *
 * @since 0.1.0
 */
export type WalError =
  | WalIOError
  | WalCorruptionError
  | WalFormatError
  | WalCodecError
  | WalConfigError
  | WalClosedError
  | WalOverloadedError
  | WalPoisonedError
  | WalLockedError
  | WalEntryTooLargeError

const errorTags: ReadonlySet<string> = new Set([
  "WalIOError",
  "WalCorruptionError",
  "WalFormatError",
  "WalCodecError",
  "WalConfigError",
  "WalClosedError",
  "WalOverloadedError",
  "WalPoisonedError",
  "WalLockedError",
  "WalEntryTooLargeError"
])

/**
 * Whether a value is one of the errors above.
 *
 * @since 0.1.0
 */
export const isWalError = (u: unknown): u is WalError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && errorTags.has(u._tag)

/**
 * The errno code behind a failure, when there is one: Node errors carry `code`, and
 * @effect/platform `SystemError`s keep the Node error as their `cause`.
 *
 * @since 0.1.0
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
 */
export const fromPlatformError = (operation: string, path: string) => (error: PlatformError): WalIOError =>
  new WalIOError({ operation, path, code: errnoCode(error), cause: error })

const describeCause = (cause: unknown): string => {
  if (Predicate.isObject(cause) && "message" in cause && typeof cause.message === "string") return cause.message
  return String(cause)
}
