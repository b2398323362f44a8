/** `FileSystem.File` handles over the in-memory volume, with the positions of the Node implementation. */
import * as FileSystem from "@effect/platform/FileSystem"
import { type PlatformError, SystemError } from "@effect/platform/Error"
import { Effect, Option } from "effect"
import { ErrnoFailure, fail } from "./errno.js"
import { onSync, onWrite } from "./faults.js"
import { fillBy, type SyncAccess, SyncAccessId } from "../syncAccess.js"
import { run, runNow } from "./run.js"
import type { FileNode, Node, Volume } from "./volume.js"

/** What a handle may do, from its open flag. */
export interface Access {
  readonly readable: boolean
  readonly writable: boolean
  readonly append: boolean
}

/** `stat` of a node, shaped like the Node implementation's. */
export const fileInfo = (volume: Volume, node: Node): FileSystem.File.Info => {
  const size = node._tag === "File" ? node.live.length : 0
  let subdirectories = 0
  if (node._tag === "Directory") {
    for (const id of node.entries.values()) {
      if (volume.nodes.get(id)?._tag === "Directory") subdirectories++
    }
  }
  return {
    type: node._tag,
    mtime: Option.some(new Date(node.mtime)),
    atime: Option.some(new Date(node.atime)),
    birthtime: Option.some(new Date(node.birthtime)),
    dev: 0,
    ino: Option.some(node.id),
    mode: (node._tag === "File" ? 0o100000 : 0o040000) | node.mode,
    nlink: Option.some(node._tag === "File" ? node.links : 2 + subdirectories),
    uid: Option.none(),
    gid: Option.none(),
    rdev: Option.none(),
    size: FileSystem.Size(size),
    blksize: Option.some(FileSystem.Size(4096)),
    blocks: Option.some(Math.ceil(size / 512))
  }
}

/** An open file or directory. Dead once closed or once the volume crashed. */
export class MemoryFile implements FileSystem.File {
  readonly [FileSystem.FileTypeId]: FileSystem.FileTypeId = FileSystem.FileTypeId
  readonly fd: FileSystem.File.Descriptor
  private readonly epoch: number
  private position = 0
  private closed = false

  constructor(
    private readonly volume: Volume,
    private readonly node: Node,
    private readonly path: string,
    private readonly access: Access
  ) {
    this.fd = FileSystem.FileDescriptor(volume.allocateDescriptor())
    this.epoch = volume.epoch
  }

  /** Releases the descriptor; later operations fail with EBADF. */
  close(): void {
    this.closed = true
  }

  get stat(): Effect.Effect<FileSystem.File.Info, PlatformError> {
    return this.step("stat", "fstat", () => fileInfo(this.volume, this.node))
  }

  get sync(): Effect.Effect<void, PlatformError> {
    return this.step("sync", "fsync", this.syncBody)
  }

  private readonly syncBody = (): void => {
    if (onSync(this.volume.faults, this.path)) fail("EIO", "fsync")
    if (this.node._tag === "File") {
      this.volume.syncFile(this.node)
    } else {
      this.volume.syncDirectory(this.node)
    }
  }

  seek(offset: FileSystem.SizeInput, from: FileSystem.SeekMode): Effect.Effect<void> {
    return Effect.sync(() => {
      this.position = from === "start" ? Number(offset) : this.position + Number(offset)
    })
  }

  read(buffer: Uint8Array): Effect.Effect<FileSystem.Size, PlatformError> {
    return this.step("read", "read", () => FileSystem.Size(this.readInto(buffer)))
  }

  readAlloc(size: FileSystem.SizeInput): Effect.Effect<Option.Option<Uint8Array>, PlatformError> {
    return this.step("readAlloc", "read", () => {
      const buffer = new Uint8Array(Number(size))
      const count = this.readInto(buffer)
      if (count === 0) return Option.none()
      return Option.some(count === buffer.length ? buffer : buffer.slice(0, count))
    })
  }

  truncate(length?: FileSystem.SizeInput): Effect.Effect<void, PlatformError> {
    return this.step("truncate", "ftruncate", () => this.truncateBody(Number(length ?? 0)))
  }

  private truncateBody(size: number): void {
    if (!this.access.writable) fail("EINVAL", "ftruncate")
    this.volume.truncateData(this.node as FileNode, size)
    if (!this.access.append && this.position > size) this.position = size
  }

  write(buffer: Uint8Array): Effect.Effect<FileSystem.Size, PlatformError> {
    return Effect.map(this.writeChunk("write", this.fd, buffer), FileSystem.Size)
  }

  writeAll(buffer: Uint8Array): Effect.Effect<void, PlatformError> {
    return this.writeAllAs("writeAll", this.fd, buffer)
  }

  /** `writeAll` reporting its failures as `method` on `target`, for `FileSystem.writeFile`. */
  writeAllAs(method: string, target: string | number, buffer: Uint8Array): Effect.Effect<void, PlatformError> {
    return Effect.flatMap(this.writeChunk(method, target, buffer), (written): Effect.Effect<void, PlatformError> => {
      if (written === 0) return Effect.fail(writeZero(method, target))
      return written < buffer.length ? this.writeAllAs(method, target, buffer.subarray(written)) : Effect.void
    })
  }

  /**
   * The synchronous operations (see `syncAccess.ts`), offered when the volume allows them: each is
   * the same operation as its Effect, counted, faulted and halted alike.
   */
  get [SyncAccessId](): SyncAccess | undefined {
    if (!this.volume.syncAccess) return undefined
    const target = this.fd
    return {
      writeAll: (buffer) => {
        let offset = 0
        while (offset < buffer.length) {
          const chunk = offset === 0 ? buffer : buffer.subarray(offset)
          const written = runNow(this.volume, "writeAll", target, () => this.writeBody(chunk))
          if (written === 0) throw writeZero("writeAll", target)
          offset += written
        }
      },
      sync: () => runNow(this.volume, "sync", target, () => this.openBody("fsync", this.syncBody)),
      truncate: (size) => runNow(this.volume, "truncate", target, () => this.openBody("ftruncate", () => this.truncateBody(size))),
      readAt: (buffer, position) => {
        this.position = position
        return fillBy(buffer, (rest) => runNow(this.volume, "read", target, () => this.openBody("read", () => this.readInto(rest))))
      }
    }
  }

  private writeChunk(method: string, target: string | number, buffer: Uint8Array): Effect.Effect<number, PlatformError> {
    return run(this.volume, method, target, () => this.writeBody(buffer))
  }

  private writeBody(buffer: Uint8Array): number {
    this.ensureOpen("write")
    if (!this.access.writable) fail("EBADF", "write")
    if (buffer.length === 0) return 0
    if (this.position < 0 && !this.access.append) fail("EINVAL", "write")
    const file = this.node as FileNode
    const offset = this.access.append ? file.live.length : this.position
    const outcome = onWrite(this.volume.faults, {
      descriptor: this.fd,
      path: this.path,
      offset,
      length: buffer.length,
      fileLength: file.live.length
    })
    if (outcome._tag === "Fail") fail(outcome.code, "write")
    const bytes = outcome._tag === "Short" ? buffer.subarray(0, outcome.length) : buffer
    this.volume.writeData(file, outcome._tag === "Misdirect" ? outcome.offset : offset, bytes)
    if (!this.access.append) this.position += bytes.length
    return bytes.length
  }

  private readInto(buffer: Uint8Array): number {
    if (!this.access.readable) fail("EBADF", "read")
    if (this.node._tag === "Directory") fail("EISDIR", "read")
    if (this.position < 0) fail("EINVAL", "read")
    const count = this.node.live.read(this.position, buffer)
    this.position += count
    return count
  }

  private step<A>(method: string, syscall: string, body: () => A): Effect.Effect<A, PlatformError> {
    return run(this.volume, method, this.fd, () => this.openBody(syscall, body))
  }

  /** Runs `body` on an open handle (EBADF otherwise). */
  private openBody<A>(syscall: string, body: () => A): A {
    this.ensureOpen(syscall)
    return body()
  }

  private ensureOpen(syscall: string): void {
    if (this.closed || this.epoch !== this.volume.epoch) {
      throw new ErrnoFailure("EBADF", syscall, undefined, undefined, "BadResource")
    }
  }
}

/** The failure of a write that wrote nothing, as the Node layer reports it. */
const writeZero = (method: string, target: string | number): SystemError =>
  new SystemError({
    module: "FileSystem",
    method,
    reason: "WriteZero",
    pathOrDescriptor: target,
    description: "write returned 0 bytes written"
  })
