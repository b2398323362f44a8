/**
 * The Node FileSystem with synchronous calls for the hot operations of an open file. See
 * `src/NodeFastFileSystem.ts` for what it changes and why; the measurements are in bench/README.md.
 */
import { SystemError, type SystemErrorReason } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { Effect, Layer, Option } from "effect"
import * as NFS from "node:fs"
import { fillBy, type SyncAccess, SyncAccessId } from "./syncAccess.js"

/** The `SystemError` the Node layer builds for the same errno. */
export const systemError = (method: string, error: unknown, fd: number): SystemError => {
  const code = (error as { readonly code?: unknown } | undefined)?.code
  let reason: SystemErrorReason = "Unknown"
  switch (code) {
    case "ENOENT":
      reason = "NotFound"
      break
    case "EACCES":
      reason = "PermissionDenied"
      break
    case "EEXIST":
      reason = "AlreadyExists"
      break
    case "EISDIR":
    case "ENOTDIR":
    case "ELOOP":
      reason = "BadResource"
      break
    case "EBUSY":
      reason = "Busy"
      break
  }
  return new SystemError({
    reason,
    module: "FileSystem",
    method,
    pathOrDescriptor: fd,
    ...(typeof (error as { readonly syscall?: unknown }).syscall === "string"
      ? { syscall: (error as { readonly syscall: string }).syscall }
      : {}),
    description: error instanceof Error ? error.message : String(error),
    cause: error
  })
}

/** Runs a synchronous operation that throws its `SystemError`. */
const attempt = <A>(operation: () => A): Effect.Effect<A, SystemError> =>
  Effect.try({ try: operation, catch: (error) => error as SystemError })

/**
 * An open file whose reads, writes and syncs are synchronous system calls on the descriptor of a
 * file opened by the Node layer (which still owns opening, `stat`, `truncate` and closing).
 * Each operation runs to completion inside one synchronous step, so no lock is needed.
 */
export class FastFile implements FileSystem.File {
  readonly [FileSystem.FileTypeId]: FileSystem.FileTypeId = FileSystem.FileTypeId
  /** The offset of the next read or write (unused for writes in append mode). */
  private position = 0

  constructor(
    private readonly base: FileSystem.File,
    /** Opened with an append flag: writes go to the end of the file, as with `O_APPEND`. */
    private readonly append: boolean,
    /** Opened for writing: `sync` is `fdatasync`. Read-only handles (directories) get `fsync`. */
    private readonly writable: boolean
  ) {}

  get fd(): FileSystem.File.Descriptor {
    return this.base.fd
  }

  get stat(): Effect.Effect<FileSystem.File.Info, SystemError | import("@effect/platform/Error").PlatformError> {
    return this.base.stat
  }

  get sync(): Effect.Effect<void, SystemError> {
    return attempt(this.syncNow)
  }

  seek(offset: FileSystem.SizeInput, from: FileSystem.SeekMode): Effect.Effect<void> {
    return Effect.sync(() => {
      const size = Number(offset)
      this.position = from === "start" ? size : this.position + size
    })
  }

  read(buffer: Uint8Array): Effect.Effect<FileSystem.Size, SystemError> {
    return attempt(() => FileSystem.Size(this.readNow(buffer)))
  }

  readAlloc(size: FileSystem.SizeInput): Effect.Effect<Option.Option<Uint8Array>, SystemError> {
    return Effect.try({
      try: () => {
        const buffer = Buffer.allocUnsafeSlow(Number(size))
        const n = NFS.readSync(this.base.fd, buffer, 0, buffer.length, this.position)
        this.position += n
        if (n === 0) return Option.none()
        return Option.some(n === buffer.length ? buffer : Buffer.from(buffer.subarray(0, n)))
      },
      catch: (error) => systemError("readAlloc", error, this.base.fd)
    })
  }

  truncate(length?: FileSystem.SizeInput): Effect.Effect<void, SystemError> {
    return attempt(() => this.truncateNow(length === undefined ? 0 : Number(length)))
  }

  write(buffer: Uint8Array): Effect.Effect<FileSystem.Size, SystemError> {
    return Effect.try({
      try: () => FileSystem.Size(this.writeOnce(buffer)),
      catch: (error) => systemError("write", error, this.base.fd)
    })
  }

  writeAll(buffer: Uint8Array): Effect.Effect<void, SystemError> {
    return attempt(() => this.writeAllNow(buffer))
  }

  /** The synchronous operations the writer serves a batch with and readers read with (see `syncAccess.ts`). */
  readonly [SyncAccessId]: SyncAccess = {
    writeAll: (buffer) => this.writeAllNow(buffer),
    sync: () => this.syncNow(),
    truncate: (size) => this.truncateNow(size),
    readAt: (buffer, position) => {
      this.position = position
      return fillBy(buffer, (rest) => this.readNow(rest))
    }
  }

  /** One read at the position, which moves past what it read; throws the `SystemError`. */
  private readNow(buffer: Uint8Array): number {
    let n: number
    try {
      n = NFS.readSync(this.base.fd, buffer, 0, buffer.length, this.position)
    } catch (error) {
      throw systemError("read", error, this.base.fd)
    }
    this.position += n
    return n
  }

  /** `fdatasync` (`fsync` for read-only handles such as directories); throws the `SystemError`. */
  private readonly syncNow = (): void => {
    try {
      if (this.writable) NFS.fdatasyncSync(this.base.fd)
      else NFS.fsyncSync(this.base.fd)
    } catch (error) {
      throw systemError("sync", error, this.base.fd)
    }
  }

  private truncateNow(size: number): void {
    try {
      NFS.ftruncateSync(this.base.fd, size)
    } catch (error) {
      throw systemError("truncate", error, this.base.fd)
    }
    if (!this.append && this.position > size) this.position = size
  }

  /** Writes all of `buffer`; as the Node layer, a write of nothing is a WriteZero failure. */
  private writeAllNow(buffer: Uint8Array): void {
    let offset = 0
    do {
      let n: number
      try {
        n = this.writeOnce(offset === 0 ? buffer : buffer.subarray(offset))
      } catch (error) {
        throw systemError("writeAll", error, this.base.fd)
      }
      if (n === 0) {
        throw new SystemError({
          reason: "WriteZero",
          module: "FileSystem",
          method: "writeAll",
          pathOrDescriptor: this.base.fd,
          description: "write returned 0 bytes written"
        })
      }
      offset += n
    } while (offset < buffer.length)
  }

  private writeOnce(buffer: Uint8Array): number {
    const n = NFS.writeSync(this.base.fd, buffer, 0, buffer.length, this.append ? null : this.position)
    if (!this.append) this.position += n
    return n
  }
}

/** Whether an open flag makes every write go to the end of the file. */
const isAppend = (flag: FileSystem.OpenFlag | undefined): boolean => flag !== undefined && flag.startsWith("a")

/** Whether an open flag allows writing (every flag but the default `r`). */
const isWritable = (flag: FileSystem.OpenFlag | undefined): boolean => flag !== undefined && flag !== "r"

/** Wraps a FileSystem so that the files it opens are `FastFile`s. */
export const make = (base: FileSystem.FileSystem): FileSystem.FileSystem => ({
  ...base,
  open: (path, options) =>
    Effect.map(base.open(path, options), (file) => new FastFile(file, isAppend(options?.flag), isWritable(options?.flag)))
})

/**
 * The layer: the Node FileSystem, wrapped, and the Node `Path`. `@effect/platform-node` (an
 * optional peer dependency) is loaded when the layer is built, not when this module is imported,
 * so the main entry point loads without it.
 */
export const layer: Layer.Layer<FileSystem.FileSystem | Path.Path> = Layer.unwrapEffect(
  Effect.tryPromise({
    try: () => Promise.all([import("@effect/platform-node/NodeFileSystem"), import("@effect/platform-node/NodePath")]),
    catch: (cause) => cause
  }).pipe(
    Effect.map(([NodeFileSystem, NodePath]) =>
      Layer.merge(
        Layer.effect(FileSystem.FileSystem, Effect.map(FileSystem.FileSystem, make)).pipe(Layer.provide(NodeFileSystem.layer)),
        NodePath.layer
      )
    ),
    Effect.orDieWith((cause) =>
      new Error("NodeFastFileSystem.layer needs @effect/platform-node: npm install @effect/platform-node", { cause })
    )
  )
)
