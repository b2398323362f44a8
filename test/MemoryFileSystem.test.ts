import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Effect, Exit, Option, type Scope, Stream, TestClock } from "effect"
import * as MemoryFileSystem from "../src/MemoryFileSystem.js"
import { failureOf, fileSystemContract } from "./fileSystemContract.js"

fileSystemContract("NodeFileSystem", NodeContext.layer)
fileSystemContract("MemoryFileSystem", MemoryFileSystem.layer)

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

type Workload = (
  fs: FileSystem.FileSystem,
  control: MemoryFileSystem.ControlService
) => Effect.Effect<void, PlatformError, Scope.Scope>

/** Writes `content` to `path` and makes both the data and the name durable. */
const durableFile = (fs: FileSystem.FileSystem, path: string, content: string) =>
  Effect.gen(function*() {
    const file = yield* fs.open(path, { flag: "w" })
    if (content.length > 0) yield* file.writeAll(encode(content))
    yield* file.sync
    const directory = yield* fs.open(path.slice(0, path.lastIndexOf("/")) || "/", { flag: "r" })
    yield* directory.sync
  }).pipe(Effect.scoped)

/** Runs `workload` on a fresh filesystem per seed, crashes it with that seed and observes the result. */
const explore = <A>(
  seeds: number,
  options: Omit<MemoryFileSystem.CrashOptions, "seed">,
  workload: Workload,
  observe: (fs: FileSystem.FileSystem, control: MemoryFileSystem.ControlService) => Effect.Effect<A, PlatformError>
) =>
  Effect.forEach(Arr.range(0, seeds - 1), (seed) =>
    Effect.gen(function*() {
      const { control, fileSystem } = yield* MemoryFileSystem.make()
      yield* Effect.scoped(workload(fileSystem, control))
      yield* control.crash({ seed, ...options })
      return yield* observe(fileSystem, control)
    }))

const readOrMissing = (fs: FileSystem.FileSystem, path: string) =>
  Effect.catchIf(
    fs.readFileString(path),
    (error) => error._tag === "SystemError" && error.reason === "NotFound",
    () => Effect.succeed("<missing>")
  )

const distinct = <A>(values: ReadonlyArray<A>): Array<A> => [...new Set(values)].sort()

describe("MemoryFileSystem crash model", () => {
  it.effect("keeps synced data through every crash", () =>
    Effect.gen(function*() {
      const contents = yield* explore(
        40,
        {},
        (fs) =>
          Effect.gen(function*() {
            yield* fs.makeDirectory("/d")
            yield* Effect.scoped(Effect.flatMap(fs.open("/", { flag: "r" }), (root) => root.sync))
            yield* durableFile(fs, "/d/f", "durable")
          }),
        (fs) => fs.readFileString("/d/f")
      )
      expect(distinct(contents)).toEqual(["durable"])
    }))

  it.effect("may keep or lose an unsynced write, never the synced prefix", () =>
    Effect.gen(function*() {
      const contents = yield* explore(
        60,
        { tornFill: "zero" },
        (fs) =>
          Effect.gen(function*() {
            yield* durableFile(fs, "/f", "base")
            const file = yield* fs.open("/f", { flag: "a" })
            yield* file.write(encode("more"))
          }),
        (fs) => fs.readFileString("/f")
      )
      for (const content of contents) expect(content.startsWith("base")).toBe(true)
      expect(contents).toContain("base")
      expect(contents).toContain("basemore")
      expect(distinct(contents).every((content) => ["base", "basemore", "base\0\0\0\0"].includes(content))).toBe(true)
    }))

  it.effect("may lose a file whose directory was not synced, even when the file was", () =>
    Effect.gen(function*() {
      const workload: Workload = (fs) =>
        Effect.gen(function*() {
          const file = yield* fs.open("/new", { flag: "w" })
          yield* file.writeAll(encode("data"))
          yield* file.sync
        })
      const unsynced = yield* explore(40, {}, workload, (fs) => readOrMissing(fs, "/new"))
      expect(distinct(unsynced)).toEqual(["<missing>", "data"])
      const synced = yield* explore(
        20,
        {},
        (fs, control) =>
          Effect.zipRight(workload(fs, control), Effect.flatMap(fs.open("/", { flag: "r" }), (root) => root.sync)),
        (fs) => readOrMissing(fs, "/new")
      )
      expect(distinct(synced)).toEqual(["data"])
    }))

  it.effect("may bring back a removed file with its durable content", () =>
    Effect.gen(function*() {
      const contents = yield* explore(
        40,
        {},
        (fs) =>
          Effect.gen(function*() {
            yield* durableFile(fs, "/f", "old")
            yield* fs.writeFileString("/f", "unsynced", { flag: "a" })
            yield* fs.remove("/f")
          }),
        (fs) => readOrMissing(fs, "/f")
      )
      expect(contents).toContain("<missing>")
      expect(contents.some((content) => content.startsWith("old"))).toBe(true)
    }))

  it.effect("reverts a rename atomically or keeps it", () =>
    Effect.gen(function*() {
      const states = yield* explore(
        40,
        {},
        (fs) =>
          Effect.gen(function*() {
            yield* durableFile(fs, "/tmp/next", "payload")
            yield* fs.rename("/tmp/next", "/tmp/current")
          }),
        (fs) =>
          Effect.map(
            Effect.all([readOrMissing(fs, "/tmp/next"), readOrMissing(fs, "/tmp/current")]),
            ([next, current]) => `${next}|${current}`
          )
      )
      expect(distinct(states)).toEqual(["<missing>|payload", "payload|<missing>"])
    }))

  it.effect("loses the files of a directory whose creation was lost", () =>
    Effect.gen(function*() {
      const states = yield* explore(
        40,
        {},
        (fs) =>
          Effect.gen(function*() {
            yield* fs.makeDirectory("/a/b", { recursive: true })
            yield* durableFile(fs, "/a/b/f", "x")
          }),
        (fs) => Effect.map(Effect.all([fs.exists("/a"), fs.exists("/a/b"), fs.exists("/a/b/f")]), (flags) => flags.join())
      )
      expect(distinct(states)).toEqual(["false,false,false", "true,false,false", "true,true,true"])
    }))

  it.effect("tears an overwrite at sector granularity", () =>
    Effect.gen(function*() {
      const contents = yield* explore(
        60,
        { sectorSize: 4 },
        (fs) =>
          Effect.gen(function*() {
            yield* durableFile(fs, "/f", "AAAAAAAAAAAAAAAA")
            yield* fs.writeFileString("/f", "BBBBBBBBBBBBBBBB", { flag: "r+" })
          }),
        (fs) => fs.readFileString("/f")
      )
      for (const content of contents) {
        expect(content).toHaveLength(16)
        expect(content).toMatch(/^(AAAA|BBBB){4}$/)
      }
      expect(contents.some((content) => content.includes("A") && content.includes("B"))).toBe(true)
    }))

  it.effect("fills the lost sectors of a torn extension with zeros or garbage", () =>
    Effect.gen(function*() {
      const workload: Workload = (fs) =>
        Effect.gen(function*() {
          yield* durableFile(fs, "/f", "")
          yield* fs.writeFileString("/f", "CCCCCCCC", { flag: "a" })
        })
      const zeros = yield* explore(60, { sectorSize: 4, tornFill: "zero" }, workload, (fs) => fs.readFileString("/f"))
      for (const content of zeros) expect(content).toMatch(/^(CCCC|\0\0\0\0){0,2}$/)
      expect(zeros).toContain("\0\0\0\0CCCC")
      expect(zeros).toContain("CCCC")
      const garbage = yield* explore(
        60,
        { sectorSize: 4, tornFill: "garbage" },
        workload,
        (fs) => fs.readFile("/f")
      )
      const sectors = garbage.flatMap((bytes) => [bytes.subarray(0, 4), bytes.subarray(4, 8)]).map(decode)
      expect(sectors.some((sector) => sector.length === 4 && sector !== "CCCC" && sector !== "\0\0\0\0")).toBe(true)
      const mixed = yield* explore(60, { sectorSize: 4, tornFill: "mixed" }, workload, (fs) => fs.readFile("/f"))
      expect(mixed.some((bytes) => bytes.length > 0)).toBe(true)
    }))

  it.effect("may or may not apply a pending truncate", () =>
    Effect.gen(function*() {
      const contents = yield* explore(
        30,
        {},
        (fs) => Effect.zipRight(durableFile(fs, "/f", "0123456789"), fs.truncate("/f", 3)),
        (fs) => fs.readFileString("/f")
      )
      expect(distinct(contents)).toEqual(["012", "0123456789"])
    }))

  it.effect("keeps whole operations up to one cut under the prefix model", () =>
    Effect.gen(function*() {
      const contents = yield* explore(
        80,
        { model: "prefix" },
        (fs) =>
          Effect.gen(function*() {
            yield* durableFile(fs, "/log", "")
            const file = yield* fs.open("/log", { flag: "a" })
            for (const chunk of ["a1", "b2", "c3", "d4", "e5"]) yield* file.write(encode(chunk))
          }),
        (fs) => fs.readFileString("/log")
      )
      expect(distinct(contents)).toEqual(["", "a1", "a1b2", "a1b2c3", "a1b2c3d4", "a1b2c3d4e5"])
    }))

  it.effect("is deterministic: the same seed gives the same state, other seeds explore others", () =>
    Effect.gen(function*() {
      const workload: Workload = (fs) =>
        Effect.gen(function*() {
          yield* fs.makeDirectory("/wal")
          for (let i = 0; i < 4; i++) {
            yield* fs.writeFile(`/wal/${i}`, new Uint8Array(700).fill(i + 1))
          }
          yield* fs.rename("/wal/0", "/wal/renamed")
        })
      const snapshot = (_: FileSystem.FileSystem, control: MemoryFileSystem.ControlService) => control.snapshot()
      const first = yield* explore(12, {}, workload, snapshot)
      const second = yield* explore(12, {}, workload, snapshot)
      expect(second).toEqual(first)
      expect(new Set(first.map((state) => JSON.stringify(state))).size).toBeGreaterThan(6)
    }))

  it.effect("kills old handles, clears pending work and reports what it did", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      const report = yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open("/f", { flag: "w+" })
        yield* file.write(encode("x"))
        const crashed = yield* control.crash({ seed: 7, model: "prefix" })
        expect(yield* failureOf(file.write(encode("y")))).toEqual({ reason: "BadResource", code: "EBADF" })
        expect(yield* failureOf(file.stat)).toEqual({ reason: "BadResource", code: "EBADF" })
        expect(yield* failureOf(file.sync)).toEqual({ reason: "BadResource", code: "EBADF" })
        return crashed
      }))
      expect(report.pending).toBe(2)
      expect(report.description).toContain("seed 7")
      expect(report.description).toContain("prefix")
      const before = yield* control.snapshot()
      const again = yield* control.crash({ seed: 8 })
      expect(again.pending).toBe(0)
      expect(yield* control.snapshot()).toEqual(before)
      expect(yield* control.snapshot("durable")).toEqual(before)
    }))

  it.effect("dies on an invalid sector size", () =>
    Effect.gen(function*() {
      const { control } = yield* MemoryFileSystem.make()
      const exit = yield* Effect.exit(control.crash({ seed: 1, sectorSize: 0 }))
      expect(Exit.isFailure(exit) && !Exit.isInterrupted(exit)).toBe(true)
    }))
})

describe("MemoryFileSystem.haltAfter", () => {
  it.effect("fails everything after the n-th mutating operation until crash", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* control.haltAfter(2)
      yield* fs.readDirectory("/")
      yield* fs.writeFileString("/f", "abc")
      expect(yield* failureOf(fs.writeFileString("/f", "def", { flag: "a" }))).toEqual({
        reason: "Unknown",
        code: "ECRASHED"
      })
      expect(yield* control.operationCount).toBe(2)
      expect(yield* failureOf(fs.readFile("/f"))).toEqual({ reason: "Unknown", code: "ECRASHED" })
      expect(yield* failureOf(fs.stat("/"))).toEqual({ reason: "Unknown", code: "ECRASHED" })
      expect(yield* control.liveBytes("/f")).toEqual(Option.some(encode("abc")))
      yield* control.crash({ seed: 3 })
      yield* fs.writeFileString("/g", "ok")
      expect(yield* fs.readFileString("/g")).toBe("ok")
    }))

  it.effect("counts mutating operations only", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open("/f", { flag: "w+" })
        yield* file.write(encode("abc"))
        yield* file.writeAll(encode("def"))
        yield* file.read(new Uint8Array(1))
        yield* file.stat
        yield* file.truncate(1)
        yield* file.sync
      }))
      yield* fs.stat("/f")
      yield* Effect.scoped(fs.open("/f", { flag: "r" }))
      yield* fs.makeDirectory("/d")
      yield* fs.makeDirectory("/d", { recursive: true })
      yield* fs.rename("/f", "/d/f")
      yield* fs.remove("/d", { recursive: true })
      expect(yield* control.operationCount).toBe(8)
    }))

  it.effect("lets a test crash a workload after every operation index", () =>
    Effect.gen(function*() {
      const workload = (fs: FileSystem.FileSystem) =>
        Effect.gen(function*() {
          yield* durableFile(fs, "/tmp/next", "v2")
          yield* fs.rename("/tmp/next", "/tmp/current")
          yield* Effect.scoped(Effect.flatMap(fs.open("/tmp", { flag: "r" }), (directory) => directory.sync))
        })
      const counting = yield* MemoryFileSystem.make()
      yield* workload(counting.fileSystem)
      const total = yield* counting.control.operationCount
      expect(total).toBe(6)
      for (let index = 0; index <= total; index++) {
        const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
        yield* durableFile(fs, "/tmp/current", "v1")
        yield* control.haltAfter(index)
        const exit = yield* Effect.exit(workload(fs))
        expect(Exit.isSuccess(exit)).toBe(index >= total)
        yield* control.crash({ seed: index })
        const current = yield* fs.readFileString("/tmp/current")
        expect(["v1", "v2"]).toContain(current)
        if (index >= total) expect(current).toBe("v2")
      }
    }))

  it.effect("halts at once with 0 and dies on a negative count", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* control.haltAfter(0)
      expect(yield* failureOf(fs.exists("/"))).toEqual({ reason: "Unknown", code: "ECRASHED" })
      const exit = yield* Effect.exit(control.haltAfter(-1))
      expect(Exit.isFailure(exit)).toBe(true)
    }))
})

describe("MemoryFileSystem fault plans", () => {
  it.effect("fails the n-th sync with EIO and makes nothing durable", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      const description = yield* control.failSync({ nth: 2 })
      expect(description).toBe("fail sync #2 with EIO")
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open("/f", { flag: "w" })
        yield* file.write(encode("one"))
        yield* file.sync
        yield* file.write(encode("two"))
        expect(yield* failureOf(file.sync)).toEqual({ reason: "Unknown", code: "EIO" })
        yield* file.sync
      }))
      expect(yield* control.faults).toEqual([{ description, triggered: 1 }])
    }))

  it.effect("fails every sync from the n-th on when persistent, on matching paths only", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* fs.makeDirectory("/wal")
      const description = yield* control.failSync({ nth: 1, persistent: true, paths: "/wal" })
      expect(description).toBe("fail every sync from #1 on with EIO on paths starting with /wal")
      yield* Effect.scoped(Effect.gen(function*() {
        const other = yield* fs.open("/other", { flag: "w" })
        yield* other.sync
        const file = yield* fs.open("/wal/seg", { flag: "w" })
        yield* file.write(encode("x"))
        expect(yield* failureOf(file.sync)).toEqual({ reason: "Unknown", code: "EIO" })
        expect(yield* failureOf(file.sync)).toEqual({ reason: "Unknown", code: "EIO" })
      }))
      expect(yield* control.durableBytes("/wal/seg")).toEqual(Option.none())
      const predicate = yield* control.failSync({ nth: 1, paths: (path) => path.endsWith(".log") })
      expect(predicate).toContain("paths matching a predicate")
      yield* Effect.scoped(Effect.flatMap(fs.open("/other", { flag: "r" }), (file) => file.sync))
      const relative = yield* control.failSync({ nth: 3, paths: "wal/" })
      expect(relative).toContain("paths starting with /wal/")
      yield* control.clearFaults
      expect(yield* control.faults).toEqual([])
      const exit = yield* Effect.exit(control.failSync({ nth: 0 }))
      expect(Exit.isFailure(exit)).toBe(true)
    }))

  it.effect("fails the n-th write with EIO, storing nothing", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* control.failWrite({ nth: 2, code: "EIO" })
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open("/f", { flag: "w" })
        yield* file.write(encode("a"))
        expect(yield* failureOf(file.write(encode("b")))).toEqual({ reason: "Unknown", code: "EIO" })
        yield* file.write(encode("c"))
      }))
      expect(yield* fs.readFileString("/f")).toBe("ac")
    }))

  it.effect("makes a short write then fails with ENOSPC", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      const description = yield* control.failWrite({ nth: 1, code: "ENOSPC", shortWrite: { bytes: 3 } })
      expect(description).toBe("fail write #1 with ENOSPC after a short write of 3 bytes")
      expect(yield* failureOf(fs.writeFileString("/f", "abcdef"))).toEqual({ reason: "Unknown", code: "ENOSPC" })
      expect(yield* fs.readFileString("/f")).toBe("abc")
      yield* control.failWrite({ nth: 1, code: "EIO", shortWrite: { bytes: 2 } })
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open("/g", { flag: "w" })
        expect(yield* file.write(encode("xyz"))).toBe(2n)
        expect(yield* failureOf(file.write(encode("z")))).toEqual({ reason: "Unknown", code: "EIO" })
      }))
      yield* control.failWrite({ nth: 1, code: "EIO", shortWrite: { bytes: 0 } })
      expect(yield* failureOf(fs.writeFileString("/h", "abc"))).toEqual({ reason: "Unknown", code: "EIO" })
      expect(yield* fs.readFileString("/h")).toBe("")
    }))

  it.effect("draws the length of a short write from a seed", () =>
    Effect.gen(function*() {
      const lengths: Array<number> = []
      for (let run = 0; run < 2; run++) {
        const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
        const description = yield* control.failWrite({ nth: 1, code: "EIO", shortWrite: { seed: 42 } })
        expect(description).toContain("seed 42")
        yield* Effect.ignore(fs.writeFileString("/f", "0123456789"))
        lengths.push((yield* fs.readFile("/f")).length)
      }
      expect(lengths[0]).toBe(lengths[1])
      expect(lengths[0]).toBeGreaterThan(0)
      expect(lengths[0]).toBeLessThan(10)
    }))

  it.effect("misdirects the n-th write to another offset chosen by the seed", () =>
    Effect.gen(function*() {
      const results: Array<string> = []
      for (let run = 0; run < 2; run++) {
        const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
        yield* fs.writeFileString("/f", "................")
        const description = yield* control.misdirectWrite({ nth: 1, seed: 9, paths: "/f" })
        expect(description).toContain("seed 9")
        yield* Effect.scoped(Effect.gen(function*() {
          const file = yield* fs.open("/f", { flag: "r+" })
          yield* file.seek(4, "start")
          expect(yield* file.write(encode("XY"))).toBe(2n)
          expect(Option.map(yield* file.readAlloc(2), decode)).toEqual(Option.some(".."))
        }))
        const content = yield* fs.readFileString("/f")
        expect(content.slice(4, 6)).not.toBe("XY")
        expect(content).toContain("XY")
        results.push(content)
        expect((yield* control.faults)[0].triggered).toBe(1)
      }
      expect(results[1]).toBe(results[0])
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* control.misdirectWrite({ nth: 1, seed: 1 })
      yield* fs.writeFileString("/empty", "Z")
      expect(yield* fs.readFileString("/empty")).toBe("\0Z")
    }))

  it.effect("flips one bit of durable data", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* durableFile(fs, "/f", "\0\0\0\0\0\0\0\0")
      const description = yield* control.flipBit({ path: "/f", seed: 5 })
      expect(description).toContain("seed 5")
      const bytes = yield* fs.readFile("/f")
      const durable = Option.getOrThrow(yield* control.durableBytes("/f"))
      expect(durable).toEqual(bytes)
      const setBits = [...bytes].reduce((count, byte) => count + byte.toString(2).replaceAll("0", "").length, 0)
      expect(setBits).toBe(1)
      yield* control.flipBit({ path: "/f", offset: 0, bit: 7 })
      expect((yield* fs.readFile("/f"))[0] & 0x80).toBe(0x80)
      yield* fs.writeFileString("/f", "ab", { flag: "r+" })
      yield* control.flipBit({ path: "/f", offset: 1, bit: 0 })
      expect(yield* fs.readFileString("/f")).toContain("ab")
      expect((yield* control.faults).length).toBe(3)
      expect(yield* failureOf(control.flipBit({ path: "/missing", seed: 1 }))).toEqual({
        reason: "NotFound",
        code: "ENOENT"
      })
      expect(yield* failureOf(control.flipBit({ path: "/", seed: 1 }))).toEqual({ reason: "BadResource", code: "EISDIR" })
      expect(yield* failureOf(control.flipBit({ path: "/f", offset: 8, bit: 0 }))).toEqual({
        reason: "Unknown",
        code: "EINVAL"
      })
      expect(yield* failureOf(control.flipBit({ path: "/f", offset: 0, bit: 8 }))).toEqual({
        reason: "Unknown",
        code: "EINVAL"
      })
      yield* fs.truncate("/f", 1)
      yield* control.flipBit({ path: "/f", offset: 4, bit: 0 })
      expect(yield* fs.readFileString("/f")).toBe("a")
      yield* fs.writeFileString("/empty", "")
      expect(yield* failureOf(control.flipBit({ path: "/empty", seed: 1 }))).toEqual({ reason: "Unknown", code: "EINVAL" })
    }))

  it.effect("brings a durably removed file back at the next crash", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* durableFile(fs, "/tmp/segment", "old data")
      yield* durableFile(fs, "/tmp/taken", "old taken")
      yield* fs.remove("/tmp/segment")
      yield* fs.remove("/tmp/taken")
      yield* durableFile(fs, "/tmp/taken", "new taken")
      const description = yield* control.reviveRemoved({ path: "/tmp/segment" })
      expect(description).toContain("/tmp/segment")
      yield* control.reviveRemoved({ path: "/tmp/taken" })
      yield* control.reviveRemoved({ path: "/tmp/never" })
      const report = yield* control.crash({ seed: 1 })
      expect(report.revived).toBe(1)
      expect(report.description).toContain("1 removed file(s) revived")
      expect(yield* fs.readFileString("/tmp/segment")).toBe("old data")
      expect(yield* fs.readFileString("/tmp/taken")).toBe("new taken")
      expect((yield* control.faults).map((fault) => fault.triggered)).toEqual([1, 0, 0])
      yield* fs.remove("/tmp/segment")
      yield* Effect.scoped(Effect.flatMap(fs.open("/tmp", { flag: "r" }), (directory) => directory.sync))
      yield* control.crash({ seed: 1 })
      expect(yield* fs.exists("/tmp/segment")).toBe(false)
    }))
})

describe("MemoryFileSystem inspection and extras", () => {
  it.effect("exposes live and durable bytes, paths and snapshots", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* fs.makeDirectory("/d")
      yield* Effect.scoped(Effect.flatMap(fs.open("/", { flag: "r" }), (root) => root.sync))
      yield* durableFile(fs, "/d/f", "synced")
      yield* fs.writeFileString("/d/f", "!", { flag: "a" })
      yield* fs.writeFileString("/d/g", "new")
      expect(yield* control.liveBytes("/d/f")).toEqual(Option.some(encode("synced!")))
      expect(yield* control.durableBytes("/d/f")).toEqual(Option.some(encode("synced")))
      expect(yield* control.durableBytes("/d/g")).toEqual(Option.none())
      expect(yield* control.liveBytes("/d")).toEqual(Option.none())
      expect(yield* control.paths).toEqual(["/d", "/d/f", "/d/g", "/tmp"])
      expect(yield* control.snapshot("durable")).toEqual([
        { _tag: "Directory", path: "/d" },
        { _tag: "File", path: "/d/f", bytes: encode("synced") },
        { _tag: "Directory", path: "/tmp" }
      ])
      expect(yield* control.snapshot()).toEqual([
        { _tag: "Directory", path: "/d" },
        { _tag: "File", path: "/d/f", bytes: encode("synced!") },
        { _tag: "File", path: "/d/g", bytes: encode("new") },
        { _tag: "Directory", path: "/tmp" }
      ])
    }))

  it.effect("resolves relative paths against the configured working directory", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const control = yield* MemoryFileSystem.Control
      yield* fs.writeFileString("data.txt", "x")
      expect(yield* fs.realPath("data.txt")).toBe("/work/data.txt")
      expect(yield* control.paths).toContain("/work/data.txt")
      expect(yield* failureOf(fs.readFile(""))).toEqual({ reason: "NotFound", code: "ENOENT" })
    }).pipe(Effect.provide(MemoryFileSystem.layerWith({ cwd: "/work" }))))

  it.effect("stamps modification times from the Clock", () =>
    Effect.gen(function*() {
      const { fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* TestClock.adjust("10 seconds")
      yield* fs.writeFileString("/f", "x")
      expect((yield* fs.stat("/f")).mtime).toEqual(Option.some(new Date(10_000)))
      expect((yield* fs.stat("/")).nlink).toEqual(Option.some(3))
    }))

  it.effect("refuses symbolic links and watching, accepts chown", () =>
    Effect.gen(function*() {
      const { fileSystem: fs } = yield* MemoryFileSystem.make()
      expect(yield* failureOf(fs.symlink("/a", "/b"))).toEqual({ reason: "Unknown", code: "ENOTSUP" })
      expect(yield* failureOf(fs.readLink("/missing"))).toEqual({ reason: "NotFound", code: "ENOENT" })
      const watched = yield* Effect.flip(Stream.runDrain(fs.watch("/")))
      expect((watched.cause as { code: string }).code).toBe("ENOTSUP")
      yield* fs.chown("/tmp", 0, 0)
      expect(yield* failureOf(fs.link("/tmp", "/tmp2"))).toEqual({ reason: "Unknown", code: "EPERM" })
      expect(yield* failureOf(fs.remove("/"))).toEqual({ reason: "Busy", code: "EBUSY" })
      expect(yield* failureOf(fs.rename("/", "/x"))).toEqual({ reason: "Busy", code: "EBUSY" })
    }))

  it.effect("fails operations on a closed handle with EBADF", () =>
    Effect.gen(function*() {
      const { fileSystem: fs } = yield* MemoryFileSystem.make()
      const file = yield* Effect.scoped(fs.open("/f", { flag: "w+" }))
      expect(yield* failureOf(file.read(new Uint8Array(1)))).toEqual({ reason: "BadResource", code: "EBADF" })
      const other = yield* Effect.scoped(Effect.tap(fs.open("/f", { flag: "r" }), (handle) => handle.seek(-1, "start")))
      expect(other.fd).not.toBe(file.fd)
      const negative = yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* fs.open("/f", { flag: "r+" })
        yield* handle.seek(-1, "start")
        return yield* Effect.all([failureOf(handle.read(new Uint8Array(1))), failureOf(handle.write(encode("x")))])
      }))
      expect(negative).toEqual([{ reason: "Unknown", code: "EINVAL" }, { reason: "Unknown", code: "EINVAL" }])
    }))

  it.effect("removes scoped temporary files even after a crash", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      const [directory, file] = yield* Effect.scoped(Effect.gen(function*() {
        const directory = yield* fs.makeTempDirectoryScoped()
        const file = yield* fs.makeTempFileScoped({ prefix: "p" })
        expect(directory.startsWith("/tmp/")).toBe(true)
        yield* control.crash({ seed: 2 })
        return [directory, file] as const
      }))
      expect(yield* fs.exists(directory)).toBe(false)
      expect(yield* fs.exists(file)).toBe(false)
    }))

  it.effect("copies into a missing parent and leaves a file copied onto itself alone", () =>
    Effect.gen(function*() {
      const { fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* fs.writeFileString("/f", "same")
      yield* fs.copyFile("/f", "/f")
      expect(yield* fs.readFileString("/f")).toBe("same")
      yield* fs.link("/f", "/g")
      yield* fs.copy("/f", "/g", { overwrite: true })
      expect(yield* fs.readFileString("/g")).toBe("same")
      expect((yield* fs.stat("/g")).nlink).toEqual(Option.some(2))
      yield* fs.writeFileString("/empty", "")
      yield* fs.copyFile("/empty", "/empty-copy")
      expect(yield* fs.readFileString("/empty-copy")).toBe("")
    }))

  it.effect("keeps hard links through a crash once both names are durable", () =>
    Effect.gen(function*() {
      const { control, fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* durableFile(fs, "/f", "linked")
      yield* fs.link("/f", "/g")
      yield* Effect.scoped(Effect.flatMap(fs.open("/", { flag: "r" }), (root) => root.sync))
      yield* control.crash({ seed: 4 })
      expect((yield* fs.stat("/g")).nlink).toEqual(Option.some(2))
      expect(yield* fs.readFileString("/g")).toBe("linked")
    }))

  it.effect("dies on a negative read size, like a programming error", () =>
    Effect.gen(function*() {
      const { fileSystem: fs } = yield* MemoryFileSystem.make()
      yield* fs.writeFileString("/f", "x")
      const exit = yield* Effect.exit(Effect.scoped(Effect.flatMap(fs.open("/f"), (file) => file.readAlloc(-1))))
      expect(Exit.isFailure(exit) && Exit.causeOption(exit).pipe(Option.exists((cause) => cause._tag === "Die")))
        .toBe(true)
    }))
})
