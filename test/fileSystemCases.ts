/**
 * The FileSystem contract as plain cases: what the WAL (and users) rely on from a `FileSystem`
 * layer. They run under vitest against the Node layers and `MemoryFileSystem`
 * (test/fileSystemContract.ts) and inside a browser worker against the OPFS layer
 * (test/browser/), so each case takes its `expect` and imports nothing from vitest. Cases marked
 * `"posix"` need what only a POSIX file system has (hard links, permissions, open handles that
 * outlive a removed file, moving directories) and are left out on OPFS.
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option, type Scope } from "effect"

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

/** The two matchers the cases use, as vitest's `expect` has them. */
export interface Matchers {
  toBe(expected: unknown): void
  toEqual(expected: unknown): void
}

/** An `expect`: vitest's, or the browser runner's own. */
export type Expect = (actual: unknown) => Matchers

/** What a case needs beyond the portable operations. */
export type Requirement = "portable" | "posix"

/** One contract case, run in a fresh temporary directory `root`. */
export interface ContractCase {
  readonly title: string
  readonly requires: Requirement
  readonly body: (fs: FileSystem.FileSystem, root: string, expect: Expect) => Effect.Effect<void, PlatformError, Scope.Scope>
}

/** The reason and errno code of a failure, the two things callers branch on. */
export const failureOf = <A, R>(
  effect: Effect.Effect<A, PlatformError, R>
): Effect.Effect<{ readonly reason: string; readonly code: string | undefined }, never, R> =>
  Effect.flip(effect).pipe(
    Effect.orDieWith((value) => new Error(`expected a failure, got ${String(value)}`)),
    Effect.map((error) => ({
      reason: error._tag === "SystemError" ? error.reason : error._tag,
      code: (error.cause as { readonly code?: string } | undefined)?.code
    }))
  )

const cases: Array<ContractCase> = []

const test = (title: string, body: ContractCase["body"], requires: Requirement = "portable"): void => {
  cases.push({ title, requires, body })
}

/**
 * Runs one case in a fresh temporary directory of the `FileSystem` in the environment.
 */
export const runCase = (
  contractCase: ContractCase,
  expect: Expect
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "contract-" })
    yield* contractCase.body(fs, root, expect)
  }))

  test("writes and reads whole files", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/a.txt`, "hello")
      expect(yield* fs.readFileString(`${root}/a.txt`)).toBe("hello")
      expect(yield* fs.exists(`${root}/a.txt`)).toBe(true)
      expect(yield* fs.exists(`${root}/missing`)).toBe(false)
      yield* fs.writeFileString(`${root}/a.txt`, "!", { flag: "a" })
      expect(yield* fs.readFileString(`${root}/a.txt`)).toBe("hello!")
      yield* fs.writeFile(`${root}/a.txt`, new Uint8Array(0))
      expect((yield* fs.readFile(`${root}/a.txt`)).length).toBe(0)
      expect(yield* failureOf(fs.writeFileString(`${root}/a.txt`, "x", { flag: "wx" })))
        .toEqual({ reason: "AlreadyExists", code: "EEXIST" })
      expect(yield* failureOf(fs.writeFileString(`${root}/missing/a.txt`, "x")))
        .toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.readFile(`${root}/missing`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.readFile(root))).toEqual({ reason: "BadResource", code: "EISDIR" })
      expect(yield* failureOf(fs.writeFileString(root, "x"))).toEqual({ reason: "BadResource", code: "EISDIR" })
      expect(yield* failureOf(fs.access(`${root}/missing`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      yield* fs.access(`${root}/a.txt`, { readable: true, writable: true })
    }))

  test("open flags create, refuse, truncate and keep like Node", (fs, root, expect) =>
    Effect.gen(function*() {
      const path = `${root}/f`
      expect(yield* failureOf(fs.open(path, { flag: "r" }))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.open(path, { flag: "r+" }))).toEqual({ reason: "NotFound", code: "ENOENT" })
      for (const flag of ["wx", "wx+", "ax", "ax+"] as const) {
        yield* Effect.scoped(fs.open(`${root}/${flag}`, { flag }))
        expect(yield* failureOf(fs.open(`${root}/${flag}`, { flag }))).toEqual({
          reason: "AlreadyExists",
          code: "EEXIST"
        })
      }
      yield* fs.writeFileString(path, "abcdef")
      yield* Effect.scoped(fs.open(path, { flag: "a" }))
      yield* Effect.scoped(fs.open(path, { flag: "r+" }))
      expect(yield* fs.readFileString(path)).toBe("abcdef")
      yield* Effect.scoped(fs.open(path, { flag: "w" }))
      expect(yield* fs.readFileString(path)).toBe("")
      yield* fs.writeFileString(path, "abcdef")
      yield* Effect.scoped(fs.open(path, { flag: "w+" }))
      expect(yield* fs.readFileString(path)).toBe("")
      expect(yield* failureOf(fs.open(`${root}/nope/f`, { flag: "w" }))).toEqual({ reason: "NotFound", code: "ENOENT" })
      yield* fs.writeFileString(path, "x")
      expect(yield* failureOf(fs.open(`${path}/f`, { flag: "w" }))).toEqual({ reason: "BadResource", code: "ENOTDIR" })
    }))

  test("handles read and write at their position", (fs, root, expect) =>
    Effect.gen(function*() {
      const file = yield* fs.open(`${root}/f`, { flag: "w+" })
      expect(yield* file.write(encode("hello"))).toBe(5n)
      expect(yield* file.read(new Uint8Array(4))).toBe(0n)
      expect(yield* file.readAlloc(4)).toEqual(Option.none())
      yield* file.seek(1, "start")
      const buffer = new Uint8Array(3)
      expect(yield* file.read(buffer)).toBe(3n)
      expect(decode(buffer)).toBe("ell")
      yield* file.seek(-2, "current")
      expect(Option.map(yield* file.readAlloc(10), decode)).toEqual(Option.some("llo"))
      yield* file.seek(7, "start")
      yield* file.writeAll(encode("!"))
      expect([...(yield* fs.readFile(`${root}/f`))]).toEqual([104, 101, 108, 108, 111, 0, 0, 33])
      expect((yield* file.stat).size).toBe(8n)
      yield* file.truncate(2)
      expect(yield* file.readAlloc(4)).toEqual(Option.none())
      yield* file.write(encode("y"))
      expect(yield* fs.readFileString(`${root}/f`)).toBe("hey")
      yield* file.truncate()
      expect((yield* file.stat).size).toBe(0n)
      yield* file.sync
      expect(yield* file.readAlloc(0)).toEqual(Option.none())
      expect(yield* file.write(new Uint8Array(0))).toBe(0n)
      expect(yield* failureOf(file.writeAll(new Uint8Array(0)))).toEqual({ reason: "WriteZero", code: undefined })
    }))

  test("append mode writes at the end and leaves the position alone", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "ab")
      const file = yield* fs.open(`${root}/f`, { flag: "a+" })
      yield* file.write(encode("cd"))
      yield* file.writeAll(encode("e"))
      expect(Option.map(yield* file.readAlloc(10), decode)).toEqual(Option.some("abcde"))
      yield* file.seek(0, "start")
      yield* file.write(encode("f"))
      expect(Option.map(yield* file.readAlloc(10), decode)).toEqual(Option.some("abcdef"))
      yield* file.seek(4, "start")
      yield* file.truncate(1)
      expect(yield* file.readAlloc(10)).toEqual(Option.none())
      expect(yield* fs.readFileString(`${root}/f`)).toBe("a")
      const appender = yield* fs.open(`${root}/f`, { flag: "a" })
      yield* appender.write(encode("z"))
      expect(yield* fs.readFileString(`${root}/f`)).toBe("az")
      expect(yield* failureOf(appender.read(new Uint8Array(1)))).toEqual({ reason: "Unknown", code: "EBADF" })
    }))

  test("handles refuse what their flag does not allow", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "data")
      const reader = yield* fs.open(`${root}/f`, { flag: "r" })
      expect(yield* failureOf(reader.write(encode("x")))).toEqual({ reason: "Unknown", code: "EBADF" })
      expect(yield* failureOf(reader.truncate(1))).toEqual({ reason: "Unknown", code: "EINVAL" })
      yield* reader.sync
      const writer = yield* fs.open(`${root}/f`, { flag: "w" })
      expect(yield* failureOf(writer.read(new Uint8Array(1)))).toEqual({ reason: "Unknown", code: "EBADF" })
      expect(yield* failureOf(writer.readAlloc(1))).toEqual({ reason: "Unknown", code: "EBADF" })
    }))

  test("directories open read-only for fsync", (fs, root, expect) =>
    Effect.gen(function*() {
      const directory = yield* fs.open(root, { flag: "r" })
      yield* directory.sync
      expect((yield* directory.stat).type).toBe("Directory")
      expect(yield* failureOf(directory.read(new Uint8Array(1)))).toEqual({ reason: "BadResource", code: "EISDIR" })
      expect(yield* failureOf(directory.readAlloc(1))).toEqual({ reason: "BadResource", code: "EISDIR" })
      expect(yield* failureOf(directory.truncate(0))).toEqual({ reason: "Unknown", code: "EINVAL" })
      for (const flag of ["r+", "w", "w+", "a", "a+"] as const) {
        expect(yield* failureOf(fs.open(root, { flag }))).toEqual({ reason: "BadResource", code: "EISDIR" })
      }
      for (const flag of ["wx", "wx+", "ax", "ax+"] as const) {
        expect(yield* failureOf(fs.open(root, { flag }))).toEqual({ reason: "AlreadyExists", code: "EEXIST" })
      }
    }))

  test("makeDirectory creates, nests and refuses", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.makeDirectory(`${root}/d`)
      expect(yield* failureOf(fs.makeDirectory(`${root}/d`))).toEqual({ reason: "AlreadyExists", code: "EEXIST" })
      yield* fs.makeDirectory(`${root}/d`, { recursive: true })
      yield* fs.makeDirectory(`${root}/d/e/f`, { recursive: true })
      expect((yield* fs.stat(`${root}/d/e/f`)).type).toBe("Directory")
      expect(yield* failureOf(fs.makeDirectory(`${root}/x/y`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      yield* fs.writeFileString(`${root}/file`, "")
      expect(yield* failureOf(fs.makeDirectory(`${root}/file`))).toEqual({ reason: "AlreadyExists", code: "EEXIST" })
      expect(yield* failureOf(fs.makeDirectory(`${root}/file`, { recursive: true })))
        .toEqual({ reason: "AlreadyExists", code: "EEXIST" })
      expect(yield* failureOf(fs.makeDirectory(`${root}/file/a/b`, { recursive: true })))
        .toEqual({ reason: "BadResource", code: "ENOTDIR" })
    }))

  test("readDirectory lists names, recursively on demand", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.makeDirectory(`${root}/s/t`, { recursive: true })
      yield* fs.writeFileString(`${root}/s/t/u`, "u")
      yield* fs.writeFileString(`${root}/a`, "a")
      expect([...(yield* fs.readDirectory(root))].sort()).toEqual(["a", "s"])
      expect([...(yield* fs.readDirectory(root, { recursive: true }))].sort()).toEqual(["a", "s", "s/t", "s/t/u"])
      expect(yield* failureOf(fs.readDirectory(`${root}/missing`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.readDirectory(`${root}/a`))).toEqual({ reason: "BadResource", code: "ENOTDIR" })
    }))

  test("remove deletes files and, recursively, directories", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "x")
      yield* fs.remove(`${root}/f`)
      expect(yield* fs.exists(`${root}/f`)).toBe(false)
      expect(yield* failureOf(fs.remove(`${root}/f`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      yield* fs.remove(`${root}/f`, { force: true })
      yield* fs.makeDirectory(`${root}/d/e`, { recursive: true })
      expect(yield* failureOf(fs.remove(`${root}/d`))).toEqual({ reason: "Unknown", code: "ERR_FS_EISDIR" })
      yield* fs.remove(`${root}/d`, { recursive: true })
      expect(yield* fs.exists(`${root}/d`)).toBe(false)
    }))

  test("an open handle follows its file through a rename", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/a`, "a")
      yield* fs.writeFileString(`${root}/b`, "b")
      const handle = yield* fs.open(`${root}/a`, { flag: "r+" })
      yield* fs.rename(`${root}/a`, `${root}/b`)
      yield* handle.write(encode("A"))
      expect(yield* fs.readFileString(`${root}/b`)).toBe("A")
      expect(yield* fs.exists(`${root}/a`)).toBe(false)
    }))

  test("rename moves files like POSIX", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/a`, "a")
      yield* fs.writeFileString(`${root}/b`, "b")
      yield* fs.rename(`${root}/a`, `${root}/b`)
      expect(yield* fs.readFileString(`${root}/b`)).toBe("a")
      expect(yield* fs.exists(`${root}/a`)).toBe(false)
      yield* fs.rename(`${root}/b`, `${root}/b`)
      expect(yield* failureOf(fs.rename(`${root}/a`, `${root}/c`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.rename(`${root}/b`, `${root}/nope/c`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      yield* fs.makeDirectory(`${root}/d`)
      expect(yield* failureOf(fs.rename(`${root}/b`, `${root}/d`))).toEqual({ reason: "BadResource", code: "EISDIR" })
      expect(yield* failureOf(fs.rename(`${root}/d`, `${root}/b`))).toEqual({ reason: "BadResource", code: "ENOTDIR" })
    }))

  test("rename moves directories like POSIX", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/b`, "b")
      yield* fs.makeDirectory(`${root}/d`)
      yield* fs.writeFileString(`${root}/d/inner`, "i")
      yield* fs.makeDirectory(`${root}/empty`)
      expect(yield* failureOf(fs.rename(`${root}/b`, `${root}/d`))).toEqual({ reason: "BadResource", code: "EISDIR" })
      expect(yield* failureOf(fs.rename(`${root}/d`, `${root}/b`))).toEqual({ reason: "BadResource", code: "ENOTDIR" })
      expect(yield* failureOf(fs.rename(`${root}/empty`, `${root}/d`))).toEqual({ reason: "Unknown", code: "ENOTEMPTY" })
      expect(yield* failureOf(fs.rename(`${root}/d`, `${root}/d/sub`))).toEqual({ reason: "Unknown", code: "EINVAL" })
      yield* fs.rename(`${root}/d`, `${root}/empty`)
      expect(yield* fs.readFileString(`${root}/empty/inner`)).toBe("i")
      expect(yield* fs.exists(`${root}/d`)).toBe(false)
    }), "posix")

  test("stat and truncate report and change sizes", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "hello")
      const info = yield* fs.stat(`${root}/f`)
      expect(info.type).toBe("File")
      expect(info.size).toBe(5n)
      expect(Option.isSome(info.mtime)).toBe(true)
      expect((yield* fs.stat(root)).type).toBe("Directory")
      expect(yield* failureOf(fs.stat(`${root}/missing`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      yield* fs.truncate(`${root}/f`, 2)
      expect(yield* fs.readFileString(`${root}/f`)).toBe("he")
      yield* fs.truncate(`${root}/f`, 4)
      expect([...(yield* fs.readFile(`${root}/f`))]).toEqual([104, 101, 0, 0])
      yield* fs.truncate(`${root}/f`)
      expect((yield* fs.stat(`${root}/f`)).size).toBe(0n)
      expect(yield* failureOf(fs.truncate(`${root}/missing`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.truncate(root))).toEqual({ reason: "BadResource", code: "EISDIR" })
    }))

  test("an open handle outlives its removed file; chmod and utimes change metadata", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "")
      const handle = yield* fs.open(`${root}/f`, { flag: "r+" })
      yield* fs.remove(`${root}/f`)
      yield* handle.write(encode("gone"))
      const orphan = yield* handle.stat
      expect(orphan.size).toBe(4n)
      expect(orphan.nlink).toEqual(Option.some(0))
      yield* fs.chmod(root, 0o700)
      expect((yield* fs.stat(root)).mode & 0o777).toBe(0o700)
      yield* fs.utimes(root, 1000, new Date(2_000_000))
      expect((yield* fs.stat(root)).mtime).toEqual(Option.some(new Date(2_000_000)))
      expect(yield* failureOf(fs.chmod(`${root}/missing`, 0o600))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.utimes(`${root}/missing`, 0, 0))).toEqual({ reason: "NotFound", code: "ENOENT" })
    }), "posix")

  test("copyFile and copy duplicate files and trees", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "first")
      yield* fs.copyFile(`${root}/f`, `${root}/g`)
      expect(yield* fs.readFileString(`${root}/g`)).toBe("first")
      yield* fs.writeFileString(`${root}/f`, "second")
      yield* fs.copyFile(`${root}/f`, `${root}/g`)
      expect(yield* fs.readFileString(`${root}/g`)).toBe("second")
      expect(yield* failureOf(fs.copyFile(`${root}/missing`, `${root}/h`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.copyFile(root, `${root}/h`))).toEqual({ reason: "BadResource", code: "EISDIR" })
      yield* fs.makeDirectory(`${root}/d`)
      expect(yield* failureOf(fs.copyFile(`${root}/f`, `${root}/d`))).toEqual({ reason: "BadResource", code: "EISDIR" })
      yield* fs.writeFileString(`${root}/d/x`, "x")
      yield* fs.copy(`${root}/d`, `${root}/e/copy`)
      expect(yield* fs.readFileString(`${root}/e/copy/x`)).toBe("x")
      yield* fs.writeFileString(`${root}/d/x`, "changed")
      yield* fs.copy(`${root}/d`, `${root}/e/copy`)
      expect(yield* fs.readFileString(`${root}/e/copy/x`)).toBe("x")
      yield* fs.copy(`${root}/d`, `${root}/e/copy`, { overwrite: true })
      expect(yield* fs.readFileString(`${root}/e/copy/x`)).toBe("changed")
      yield* fs.copy(`${root}/f`, `${root}/f2`)
      expect(yield* fs.readFileString(`${root}/f2`)).toBe("second")
      expect(yield* failureOf(fs.copy(`${root}/missing`, `${root}/z`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.copy(`${root}/f`, `${root}/d`)))
        .toEqual({ reason: "Unknown", code: "ERR_FS_CP_NON_DIR_TO_DIR" })
      expect(yield* failureOf(fs.copy(`${root}/d`, `${root}/f`)))
        .toEqual({ reason: "Unknown", code: "ERR_FS_CP_DIR_TO_NON_DIR" })
      expect(yield* failureOf(fs.copy(`${root}/d`, `${root}/d/inside`)))
        .toEqual({ reason: "Unknown", code: "ERR_FS_CP_EINVAL" })
    }))

  test("hard links share their content", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "shared")
      yield* fs.link(`${root}/f`, `${root}/g`)
      yield* fs.writeFileString(`${root}/g`, "changed", { flag: "r+" })
      expect(yield* fs.readFileString(`${root}/f`)).toBe("changed")
      expect(yield* failureOf(fs.link(`${root}/f`, `${root}/g`))).toEqual({ reason: "AlreadyExists", code: "EEXIST" })
      expect(yield* failureOf(fs.link(`${root}/missing`, `${root}/h`))).toEqual({ reason: "NotFound", code: "ENOENT" })
    }), "posix")

  test("realPath, readLink and temporary files", (fs, root, expect) =>
    Effect.gen(function*() {
      yield* fs.writeFileString(`${root}/f`, "shared")
      yield* fs.writeFileString(`${root}/g`, "other")
      expect(yield* fs.realPath(`${root}/./g/../f`)).toBe(yield* fs.realPath(`${root}/f`))
      expect(yield* failureOf(fs.realPath(`${root}/missing`))).toEqual({ reason: "NotFound", code: "ENOENT" })
      expect(yield* failureOf(fs.readLink(`${root}/f`))).toEqual({ reason: "Unknown", code: "EINVAL" })
      const directory = yield* fs.makeTempDirectory({ directory: root, prefix: "pre-" })
      expect(directory.startsWith(`${root}/pre-`)).toBe(true)
      expect(yield* failureOf(fs.makeTempDirectory({ directory: `${root}/missing` })))
        .toEqual({ reason: "NotFound", code: "ENOENT" })
      const file = yield* fs.makeTempFile({ directory: root, suffix: ".txt" })
      expect(file.endsWith(".txt")).toBe(true)
      expect((yield* fs.readFile(file)).length).toBe(0)
      const scopedFile = yield* Effect.scoped(
        Effect.tap(fs.makeTempFileScoped({ directory: root }), (path) =>
          Effect.flatMap(fs.exists(path), (exists) => Effect.sync(() => expect(exists).toBe(true))))
      )
      expect(yield* fs.exists(scopedFile)).toBe(false)
    }))

/** Every case, in order. */
export const contractCases: ReadonlyArray<ContractCase> = cases
