/**
 * The browser entry's pure parts under Node: the OPFS error mapping, the quota predicate, and the
 * `WriterLock` service the Web Locks lock plugs into. The OPFS layer itself runs in Chromium
 * (test/browser/, npm run test:browser).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { OpfsFileSystem } from "../src/browser.js"
import { MemoryFileSystem, Wal, WalError, WriterLock } from "../src/index.js"
import { errnoOf, isQuotaExceeded, systemError } from "../src/internal/browser/opfsErrors.js"

const domException = (name: string): Error => Object.assign(new Error(`${name} happened`), { name })

describe("OPFS error mapping", () => {
  it("maps each DOMException to the errno code and reason the Node layer reports", () => {
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      ["QuotaExceededError", "ENOSPC", "Unknown"],
      ["NoModificationAllowedError", "EBUSY", "Busy"],
      ["NotFoundError", "ENOENT", "NotFound"],
      ["TypeMismatchError", "ENOTDIR", "BadResource"],
      ["InvalidModificationError", "ENOTEMPTY", "Unknown"],
      ["NotAllowedError", "EACCES", "PermissionDenied"],
      ["SecurityError", "EACCES", "PermissionDenied"],
      ["AbortError", "EIO", "Unknown"]
    ]
    for (const [name, code, reason] of cases) {
      const error = systemError("write", "/wal/x", domException(name))
      expect(error.reason).toBe(reason)
      expect((error.cause as { readonly code: string }).code).toBe(code)
      expect(((error.cause as Error).cause as Error).name).toBe(name)
    }
    expect(errnoOf(domException("TypeMismatchError"), "EISDIR")).toBe("EISDIR")
    expect(errnoOf("not an error")).toBe("EIO")
    expect(isQuotaExceeded(domException("QuotaExceededError"))).toBe(true)
    expect(isQuotaExceeded(domException("NotFoundError"))).toBe(false)
  })

  it("OpfsFileSystem.isQuotaExceeded recognises the WAL errors a full quota produces", () => {
    const cause = systemError("writeAll", 3, domException("QuotaExceededError"))
    const io = WalError.fromPlatformError("write", "/wal/segment")(cause)
    expect(io.code).toBe("ENOSPC")
    expect(OpfsFileSystem.isQuotaExceeded(io)).toBe(true)
    expect(OpfsFileSystem.isQuotaExceeded(new WalError.WalPoisonedError({ cause: io }))).toBe(true)
    const other = new WalError.WalIOError({ operation: "write", path: "/wal/segment", code: "EIO", cause: "x" })
    expect(OpfsFileSystem.isQuotaExceeded(other)).toBe(false)
    expect(OpfsFileSystem.isQuotaExceeded(new WalError.WalPoisonedError({ cause: other }))).toBe(false)
    expect(OpfsFileSystem.isQuotaExceeded(new WalError.WalClosedError({ directory: "/wal" }))).toBe(false)
  })
})

describe("WriterLock", () => {
  it.scoped("a WriterLock layer replaces the LOCK file for writers", () =>
    Effect.gen(function*() {
      const taken: Array<string> = []
      const lock = WriterLock.layer({
        acquire: (_fs, directory) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              taken.push(directory)
              return { takenOver: Option.some("a test holder") }
            }),
            () => Effect.sync(() => taken.push("released"))
          )
      })
      const recovery = yield* Effect.scoped(
        Effect.map(Wal.make({ directory: "/wal" }), (wal) => wal.recovery)
      ).pipe(Effect.provide(Layer.merge(MemoryFileSystem.layer, lock)))
      expect(recovery.lockTakenOver).toEqual(Option.some("a test holder"))
      expect(taken).toEqual(["/wal", "released"])
      const refused = yield* Wal.make({ directory: "/wal" }).pipe(
        Effect.provide(Layer.merge(
          MemoryFileSystem.layer,
          WriterLock.layer({ acquire: (_fs, directory) => new WalError.WalLockedError({ directory, holder: "a test" }) })
        )),
        Effect.flip
      )
      expect(refused._tag).toBe("WalLockedError")
      expect(WriterLock.file).toBeDefined()
    }))
})
