/** Errno-style failures and their translation to @effect/platform's `SystemError`. */
import { SystemError, type SystemErrorReason } from "@effect/platform/Error"

/**
 * The error codes the in-memory filesystem reports. The POSIX ones mean what they mean on Linux;
 * `ERR_FS_*` are the codes Node's `fs.rm` / `fs.cp` use; `ECRASHED` is reported by every operation
 * once the filesystem is halted by `Control.haltAfter`.
 */
export type ErrnoCode =
  | "ENOENT"
  | "EEXIST"
  | "EISDIR"
  | "ENOTDIR"
  | "ENOTEMPTY"
  | "EBADF"
  | "EINVAL"
  | "EPERM"
  | "EBUSY"
  | "EIO"
  | "ENOSPC"
  | "ENOTSUP"
  | "ECRASHED"
  | "ERR_FS_EISDIR"
  | "ERR_FS_CP_DIR_TO_NON_DIR"
  | "ERR_FS_CP_NON_DIR_TO_DIR"
  | "ERR_FS_CP_EINVAL"

/** The `cause` of every `SystemError` the in-memory filesystem reports, shaped like Node's errors. */
export interface ErrnoException extends Error {
  readonly code: ErrnoCode
  readonly syscall: string
  readonly path?: string
  readonly dest?: string
}

const messages: Record<ErrnoCode, string> = {
  ENOENT: "no such file or directory",
  EEXIST: "file already exists",
  EISDIR: "illegal operation on a directory",
  ENOTDIR: "not a directory",
  ENOTEMPTY: "directory not empty",
  EBADF: "bad file descriptor",
  EINVAL: "invalid argument",
  EPERM: "operation not permitted",
  EBUSY: "resource busy or locked",
  EIO: "i/o error",
  ENOSPC: "no space left on device",
  ENOTSUP: "operation not supported",
  ECRASHED: "the filesystem was halted by haltAfter and waits for crash",
  ERR_FS_EISDIR: "path is a directory",
  ERR_FS_CP_DIR_TO_NON_DIR: "cannot overwrite non-directory with directory",
  ERR_FS_CP_NON_DIR_TO_DIR: "cannot overwrite directory with non-directory",
  ERR_FS_CP_EINVAL: "cannot copy a path to itself or to a subdirectory of itself"
}

/** The reason Node's `handleErrnoException` gives each code. */
const reasonOf = (code: ErrnoCode): SystemErrorReason => {
  switch (code) {
    case "ENOENT":
      return "NotFound"
    case "EEXIST":
      return "AlreadyExists"
    case "EISDIR":
    case "ENOTDIR":
      return "BadResource"
    case "EBUSY":
      return "Busy"
    default:
      return "Unknown"
  }
}

/**
 * Thrown inside a filesystem step and turned into a `SystemError` at the Effect boundary, so each
 * step can validate everything before it mutates anything.
 */
export class ErrnoFailure {
  constructor(
    readonly code: ErrnoCode,
    readonly syscall: string,
    readonly path?: string,
    readonly dest?: string,
    readonly reason: SystemErrorReason = reasonOf(code)
  ) {}

  /** The `SystemError` reported by `method` on `pathOrDescriptor`. */
  toSystemError(method: string, pathOrDescriptor: string | number): SystemError {
    const quoted = this.path === undefined ? "" : ` '${this.path}'${this.dest === undefined ? "" : ` -> '${this.dest}'`}`
    const description = `${this.code}: ${messages[this.code]}, ${this.syscall}${quoted}`
    const cause = Object.assign(new Error(description), {
      code: this.code,
      syscall: this.syscall,
      ...(this.path === undefined ? {} : { path: this.path }),
      ...(this.dest === undefined ? {} : { dest: this.dest })
    }) satisfies ErrnoException
    return new SystemError({
      reason: this.reason,
      module: "FileSystem",
      method,
      pathOrDescriptor,
      syscall: this.syscall,
      description,
      cause
    })
  }
}

/** Throws an `ErrnoFailure`; typed `never` so it can end an expression. */
export function fail(code: ErrnoCode, syscall: string, path?: string, dest?: string): never {
  throw new ErrnoFailure(code, syscall, path, dest)
}
