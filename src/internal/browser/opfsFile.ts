/**
 * An open OPFS file: a `FileSystemSyncAccessHandle` behind the `FileSystem.File` interface, with a
 * position and the permissions of the flag it was opened with (the handle itself is always opened
 * `readwrite-unsafe`, so readers and the writer can hold handles on one file at once). Reads,
 * writes, truncates and `flush` are synchronous calls on the handle: each operation runs to
 * completion inside one synchronous step, and the writer serves whole batches through `SyncAccess`.
 */
import { type PlatformError, SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option } from "effect"
import { fillBy, type SyncAccess, SyncAccessId } from "../syncAccess.js"
import type { SyncAccessHandle } from "./dom.js"
import { errno, systemError } from "./opfsErrors.js"

/** The `File.Info` of an OPFS file or directory: only the type, the size and the mtime are known. */
export const info = (type: "File" | "Directory", size: number, mtime: Option.Option<Date>): FileSystem.File.Info => ({
  type,
  mtime,
  atime: Option.none(),
  birthtime: Option.none(),
  dev: 0,
  ino: Option.none(),
  mode: type === "File" ? 0o644 : 0o755,
  nlink: Option.none(),
  uid: Option.none(),
  gid: Option.none(),
  rdev: Option.none(),
  size: FileSystem.Size(size),
  blksize: Option.none(),
  blocks: Option.none()
})

/** What an open flag allows. */
export interface Access {
  readonly readable: boolean
  readonly writable: boolean
  /** Every write goes to the end of the file, as with `O_APPEND`. */
  readonly append: boolean
}

/** The access of an open flag, as Node's `open(2)` flags. */
export const accessOf = (flag: FileSystem.OpenFlag): Access => ({
  readable: flag === "r" || flag.endsWith("+"),
  writable: flag !== "r",
  append: flag.startsWith("a")
})

/** An open OPFS file. */
export class OpfsFile implements FileSystem.File {
  readonly [FileSystem.FileTypeId]: FileSystem.FileTypeId = FileSystem.FileTypeId
  /** The offset of the next read or write (unused for writes in append mode). */
  private position = 0

  constructor(
    readonly fd: FileSystem.File.Descriptor,
    /** The file's path; a rename by the same FileSystem changes it. */
    public path: string,
    private handle: SyncAccessHandle,
    private readonly access: Access
  ) {}

  get stat(): Effect.Effect<FileSystem.File.Info, PlatformError> {
    return this.attempt("stat", () => info("File", this.handle.getSize(), Option.none()))
  }

  get sync(): Effect.Effect<void, PlatformError> {
    return this.attempt("sync", this.syncNow)
  }

  seek(offset: FileSystem.SizeInput, from: FileSystem.SeekMode): Effect.Effect<void> {
    return Effect.sync(() => {
      const size = Number(offset)
      this.position = from === "start" ? size : this.position + size
    })
  }

  read(buffer: Uint8Array): Effect.Effect<FileSystem.Size, PlatformError> {
    return this.attempt("read", () => FileSystem.Size(this.readNow("read", buffer)))
  }

  readAlloc(size: FileSystem.SizeInput): Effect.Effect<Option.Option<Uint8Array>, PlatformError> {
    return this.attempt("readAlloc", () => {
      const buffer = new Uint8Array(Number(size))
      const n = this.readNow("readAlloc", buffer)
      return n === 0 ? Option.none() : Option.some(n === buffer.length ? buffer : buffer.slice(0, n))
    })
  }

  truncate(length?: FileSystem.SizeInput): Effect.Effect<void, PlatformError> {
    return this.attempt("truncate", () => this.truncateNow(length === undefined ? 0 : Number(length)))
  }

  write(buffer: Uint8Array): Effect.Effect<FileSystem.Size, PlatformError> {
    return this.attempt("write", () => FileSystem.Size(this.writeOnce("write", buffer)))
  }

  writeAll(buffer: Uint8Array): Effect.Effect<void, PlatformError> {
    return this.attempt("writeAll", () => this.writeAllNow(buffer))
  }

  /** The synchronous operations the writer serves a batch with and readers read with (see `syncAccess.ts`). */
  readonly [SyncAccessId]: SyncAccess = {
    writeAll: (buffer) => this.writeAllNow(buffer),
    sync: () => this.syncNow(),
    truncate: (size) => this.truncateNow(size),
    readAt: (buffer, position) => {
      this.position = position
      return fillBy(buffer, (rest) => {
        try {
          return this.readNow("read", rest)
        } catch (error) {
          throw this.failure("read", error)
        }
      })
    }
  }

  /** The whole file from its start, read synchronously whatever the position. */
  readWhole(): Uint8Array {
    if (!this.access.readable) throw errno("readFile", this.fd, "EBADF", "file not open for reading")
    try {
      const size = this.handle.getSize()
      const buffer = new Uint8Array(size)
      let offset = 0
      while (offset < size) {
        const n = this.handle.read(buffer.subarray(offset), { at: offset })
        if (n === 0) break
        offset += n
      }
      return offset === size ? buffer : buffer.slice(0, offset)
    } catch (error) {
      throw systemError("readFile", this.fd, error)
    }
  }

  /** Closes the handle; the file's other handles and its data are not affected. */
  close(): void {
    this.handle.close()
  }

  /**
   * Gives the file a new handle on `path` in place of its current one, which the caller has
   * closed: OPFS cannot move a file while a handle is open on it, so a rename closes the file's
   * handles, moves it, and gives each open file a handle on the moved file (`opfsFileSystem.ts`).
   */
  reattach(path: string, handle: SyncAccessHandle): void {
    this.handle = handle
    this.path = path
  }

  /** Runs a synchronous operation, turning what it throws into the `SystemError` for `method`. */
  private attempt<A>(method: string, operation: () => A): Effect.Effect<A, PlatformError> {
    return Effect.try({ try: operation, catch: (error) => this.failure(method, error) })
  }

  /** What `method` failed with, as a `SystemError`: the browser's own errors are mapped. */
  private failure(method: string, error: unknown): SystemError {
    return error instanceof SystemError ? error : systemError(method, this.fd, error)
  }

  /** `flush`: the handle's writes reach the browser's storage backend (see docs/browser.md). */
  private readonly syncNow = (): void => {
    try {
      this.handle.flush()
    } catch (error) {
      throw systemError("sync", this.fd, error)
    }
  }

  private readNow(method: string, buffer: Uint8Array): number {
    if (!this.access.readable) throw errno(method, this.fd, "EBADF", "file not open for reading")
    if (buffer.length === 0) return 0
    const n = this.handle.read(buffer, { at: this.position })
    this.position += n
    return n
  }

  private truncateNow(size: number): void {
    if (!this.access.writable) throw errno("truncate", this.fd, "EINVAL", "file not open for writing")
    try {
      this.handle.truncate(size)
    } catch (error) {
      throw systemError("truncate", this.fd, error)
    }
    if (!this.access.append && this.position > size) this.position = size
  }

  /** Writes all of `buffer`; as the Node layer, a write of nothing is a WriteZero failure. */
  private writeAllNow(buffer: Uint8Array): void {
    let offset = 0
    do {
      const n = this.writeOnce("writeAll", offset === 0 ? buffer : buffer.subarray(offset))
      if (n === 0) {
        throw new SystemError({
          reason: "WriteZero",
          module: "FileSystem",
          method: "writeAll",
          pathOrDescriptor: this.fd,
          description: "write returned 0 bytes written"
        })
      }
      offset += n
    } while (offset < buffer.length)
  }

  private writeOnce(method: string, buffer: Uint8Array): number {
    if (!this.access.writable) throw errno(method, this.fd, "EBADF", "file not open for writing")
    if (buffer.length === 0) return 0
    let n: number
    try {
      n = this.handle.write(buffer, { at: this.access.append ? this.handle.getSize() : this.position })
    } catch (error) {
      throw systemError(method, this.fd, error)
    }
    if (!this.access.append) this.position += n
    return n
  }
}

/**
 * An open directory, for the directory fsync the WAL does after creating, renaming or removing
 * files: OPFS has no such operation (an entry exists once the call that made it has resolved), so
 * `sync` succeeds without doing anything. Reads fail with `EISDIR`, as on Node.
 */
export class OpfsDirectory implements FileSystem.File {
  readonly [FileSystem.FileTypeId]: FileSystem.FileTypeId = FileSystem.FileTypeId

  constructor(readonly fd: FileSystem.File.Descriptor) {}

  readonly stat: Effect.Effect<FileSystem.File.Info, PlatformError> = Effect.sync(() =>
    info("Directory", 0, Option.none())
  )
  readonly sync: Effect.Effect<void, PlatformError> = Effect.void

  seek(): Effect.Effect<void> {
    return Effect.void
  }

  read(): Effect.Effect<FileSystem.Size, PlatformError> {
    return Effect.fail(errno("read", this.fd, "EISDIR", "illegal operation on a directory"))
  }

  readAlloc(): Effect.Effect<Option.Option<Uint8Array>, PlatformError> {
    return Effect.fail(errno("readAlloc", this.fd, "EISDIR", "illegal operation on a directory"))
  }

  truncate(): Effect.Effect<void, PlatformError> {
    return Effect.fail(errno("truncate", this.fd, "EINVAL", "invalid argument"))
  }

  write(): Effect.Effect<FileSystem.Size, PlatformError> {
    return Effect.fail(errno("write", this.fd, "EBADF", "bad file descriptor"))
  }

  writeAll(): Effect.Effect<void, PlatformError> {
    return Effect.fail(errno("writeAll", this.fd, "EBADF", "bad file descriptor"))
  }
}
