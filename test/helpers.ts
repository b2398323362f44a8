/** Helpers shared by the Wal tests: temporary directories and a Node FileSystem with injected faults. */
import * as FileSystem from "@effect/platform/FileSystem"
import { SystemError } from "@effect/platform/Error"
import type * as PlatformPath from "@effect/platform/Path"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { Chunk, Effect, Layer, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** A fresh directory under the OS temp directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-test-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

/** Sorted segment file names of a WAL directory. */
export const segmentFiles = (dir: string): Array<string> => NodeFs.readdirSync(dir).filter((n) => n.endsWith(".wal")).sort()

/**
 * The size of a segment file without the zeros its writer allocated ahead: where its last frame
 * ends, provided that frame's payload does not end with a zero byte.
 */
export const writtenSize = (path: string): number => {
  const bytes = NodeFs.readFileSync(path)
  let end = bytes.length
  while (end > 0 && bytes[end - 1] === 0) end--
  return end
}

/** Collects a stream into an array. */
export const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(stream), Chunk.toArray)

/**
 * The positions of the entries whose payload differs from `expected(entry, i)`, byte for byte:
 * one assertion (`toEqual([])`) for thousands of payloads instead of one `toEqual` each.
 */
export const payloadMismatches = <E extends { readonly payload: Uint8Array }>(
  entries: ReadonlyArray<E>,
  expected: (entry: E, i: number) => Uint8Array
): Array<number> =>
  entries.flatMap((entry, i) => Buffer.compare(entry.payload, expected(entry, i)) === 0 ? [] : [i])

/** Switches that decide which operations of `faultyLayer` fail. */
export interface FaultSwitch {
  /** Fail every file fsync from now on while true. */
  failSync: boolean
  /** Fail every write from now on while true, with this errno code. */
  failWrite: string | undefined
  /** fsyncs seen. */
  syncs: number
}

const ioError = (method: string, code: string) =>
  new SystemError({
    module: "FileSystem",
    method,
    reason: "Unknown",
    description: `injected ${code}`,
    cause: Object.assign(new Error(`injected ${code}`), { code })
  })

/** The Node FileSystem, with file fsyncs and writes failing on demand, and Node's Path. */
export const faultyLayer = (faults: FaultSwitch): Layer.Layer<FileSystem.FileSystem | PlatformPath.Path> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) =>
      ({
        ...fs,
        open: (path, options) =>
          Effect.map(fs.open(path, options), (file) =>
            ({
              [FileSystem.FileTypeId]: FileSystem.FileTypeId,
              fd: file.fd,
              get stat() {
                return file.stat
              },
              seek: (offset, from) => file.seek(offset, from),
              read: (buffer) => file.read(buffer),
              readAlloc: (size) => file.readAlloc(size),
              truncate: (length) => file.truncate(length),
              sync: Effect.suspend(() => {
                faults.syncs++
                return faults.failSync ? Effect.fail(ioError("sync", "EIO")) : file.sync
              }),
              write: (buffer) => faults.failWrite ? Effect.fail(ioError("write", faults.failWrite)) : file.write(buffer),
              writeAll: (buffer) => faults.failWrite ? Effect.fail(ioError("writeAll", faults.failWrite)) : file.writeAll(buffer)
            }) as FileSystem.File)
      }) satisfies FileSystem.FileSystem)
  ).pipe(Layer.provide(NodeFileSystem.layer), Layer.merge(NodePath.layer))
