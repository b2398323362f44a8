/**
 * NodeFastFileSystem: the FileSystem contract suite, the WAL on top of it, and the error mapping
 * of its synchronous calls. No timing here: the speed is measured in bench/.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext, NodePath } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodeFastFileSystem from "../src/NodeFastFileSystem.js"
import { FastFile, systemError } from "../src/internal/nodeFastFileSystem.js"
import * as Durability from "../src/Durability.js"
import * as Wal from "../src/Wal.js"
import { failureOf, fileSystemContract } from "./fileSystemContract.js"
import { collect, tempDir } from "./helpers.js"

fileSystemContract("NodeFastFileSystem", NodeFastFileSystem.layer)

describe("NodeFastFileSystem", () => {
  it.scoped("files it opens are FastFiles over the Node layer's descriptors", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const file = yield* fs.open(`${dir}/f`, { flag: "w+" })
      expect(file).toBeInstanceOf(FastFile)
      expect(typeof file.fd).toBe("number")
      yield* file.writeAll(new Uint8Array([1, 2, 3]))
      yield* file.sync
      expect([...NodeFs.readFileSync(`${dir}/f`)]).toEqual([1, 2, 3])
    }).pipe(Effect.provide([NodeFastFileSystem.layer, NodePath.layer])))

  it.scoped("make wraps a given FileSystem", () =>
    Effect.gen(function*() {
      const fs = NodeFastFileSystem.make(yield* FileSystem.FileSystem)
      const dir = yield* tempDir
      const file = yield* fs.open(`${dir}/f`, { flag: "a+" })
      yield* file.write(new Uint8Array([9]))
      yield* file.seek(0, "start")
      expect(yield* file.readAlloc(4)).toEqual(Option.some(Buffer.from([9])))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("operations on a closed descriptor fail with SystemError", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const file = yield* Effect.scoped(fs.open(`${dir}/f`, { flag: "w+" }))
      for (const effect of [
        file.read(new Uint8Array(1)),
        file.readAlloc(1),
        file.write(new Uint8Array(1)),
        file.writeAll(new Uint8Array(1)),
        file.truncate(0),
        file.sync
      ]) {
        expect(yield* failureOf(effect)).toEqual({ reason: "Unknown", code: "EBADF" })
      }
    }).pipe(Effect.provide([NodeFastFileSystem.layer, NodePath.layer])))

  it("maps errno codes like the Node layer", () => {
    const cases: Array<[string | undefined, string]> = [
      ["ENOENT", "NotFound"],
      ["EACCES", "PermissionDenied"],
      ["EEXIST", "AlreadyExists"],
      ["EISDIR", "BadResource"],
      ["ENOTDIR", "BadResource"],
      ["ELOOP", "BadResource"],
      ["EBUSY", "Busy"],
      ["EIO", "Unknown"],
      [undefined, "Unknown"]
    ]
    for (const [code, reason] of cases) {
      const error = systemError("write", Object.assign(new Error("boom"), { code, syscall: "write" }), 3)
      expect(error.reason).toBe(reason)
      expect(error.syscall).toBe("write")
      expect(error.pathOrDescriptor).toBe(3)
    }
    expect(systemError("sync", "not an error", 3).description).toBe("not an error")
  })

  it.scoped("runs a WAL: append, reopen, replay", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const payloads = Array.from({ length: 50 }, (_, i) => new Uint8Array([i, i + 1]))
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.make({ directory: dir, durability: Durability.strict, segmentBytes: 1024 })
        for (const p of payloads.slice(0, 10)) yield* wal.append(p)
        for (let i = 10; i < 50; i += 10) yield* wal.appendAll(payloads.slice(i, i + 10))
      }))
      const wal = yield* Wal.make({ directory: dir })
      expect(wal.recovery.lastSequence).toBe(50)
      expect(wal.recovery.segments).toBeGreaterThan(1)
      const entries = yield* collect(wal.replay())
      expect(entries.map((e) => [...e.payload])).toEqual(payloads.map((p) => [...p]))
      expect(yield* collect(wal.tail({ from: 49 }).pipe(Stream.take(2)))).toHaveLength(2)
    }).pipe(Effect.provide([NodeFastFileSystem.layer, NodePath.layer])))
})
