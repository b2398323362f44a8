/**
 * How OPFS failures become the `PlatformError`s the Node layers report, so code that branches on
 * `reason` or on the errno `code` (the WAL, the contract suite) behaves the same on both. Pure: it
 * runs and is tested under Node.
 */
import { SystemError, type SystemErrorReason } from "@effect/platform/Error"

/** The errno codes this layer reports, and the `reason` the Node layer gives each. */
const reasons: Readonly<Record<string, SystemErrorReason>> = {
  ENOENT: "NotFound",
  EEXIST: "AlreadyExists",
  EISDIR: "BadResource",
  ENOTDIR: "BadResource",
  EBUSY: "Busy",
  EACCES: "PermissionDenied"
}

/** An error carrying an errno `code`, as Node's are; the browser's `DOMException` is its cause. */
export class ErrnoError extends Error {
  constructor(readonly code: string, message: string, options?: { readonly cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.name = "ErrnoError"
  }
}

/**
 * The errno code for a `DOMException` (or anything thrown) from the OPFS APIs:
 * `QuotaExceededError` is `ENOSPC` (the origin's storage quota is used up: the browser's "disk
 * full"), `NoModificationAllowedError` is `EBUSY` (another handle holds the file),
 * `NotFoundError` is `ENOENT`, `TypeMismatchError` is `ENOTDIR` or `EISDIR` as `mismatch` says,
 * `InvalidModificationError` is `ENOTEMPTY`, `NotAllowedError`/`SecurityError` are `EACCES`,
 * anything else `EIO`.
 */
export const errnoOf = (error: unknown, mismatch: "ENOTDIR" | "EISDIR" = "ENOTDIR"): string => {
  if (error instanceof ErrnoError) return error.code
  const name = typeof error === "object" && error !== null && "name" in error ? String(error.name) : ""
  switch (name) {
    case "QuotaExceededError":
      return "ENOSPC"
    case "NoModificationAllowedError":
      return "EBUSY"
    case "NotFoundError":
      return "ENOENT"
    case "TypeMismatchError":
      return mismatch
    case "InvalidModificationError":
      return "ENOTEMPTY"
    case "NotAllowedError":
    case "SecurityError":
      return "EACCES"
    default:
      return "EIO"
  }
}

/** Whether a failure is the origin's storage quota running out. */
export const isQuotaExceeded = (error: unknown): boolean => errnoOf(error) === "ENOSPC"

/**
 * The `SystemError` for a failure of `method` on `path`: the reason the Node layer gives the same
 * errno code, and an `ErrnoError` with that code as `cause` (the original failure as its cause).
 */
export const systemError = (
  method: string,
  path: string | number,
  error: unknown,
  mismatch?: "ENOTDIR" | "EISDIR"
): SystemError => {
  const code = errnoOf(error, mismatch)
  const cause = error instanceof ErrnoError
    ? error
    : new ErrnoError(code, error instanceof Error ? error.message : String(error), { cause: error })
  return new SystemError({
    reason: reasons[code] ?? "Unknown",
    module: "FileSystem",
    method,
    pathOrDescriptor: path,
    description: cause.message,
    cause
  })
}

/** A failure with an errno code of our own (the API has none for it), as a `SystemError`. */
export const errno = (method: string, path: string | number, code: string, message: string): SystemError =>
  systemError(method, path, new ErrnoError(code, message))
