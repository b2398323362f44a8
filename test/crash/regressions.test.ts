/**
 * Regression tests for the bugs the crash-simulation suite found, each named after what it
 * catches, each a minimal reproduction on the in-memory filesystem (see docs/testing.md).
 */
import * as Path from "@effect/platform/Path"
import * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Durability, MemoryFileSystem, Wal } from "../../src/index.js"
import { crashTo, explain, idOf, outcome, payloadOf, restore } from "./harness.js"

const directory = "/wal"
const firstSegment = `${directory}/00000000000000000001-00000000000000000001.wal`

/** Runs `effect` with `memory` as the FileSystem. */
const on = <A, E>(memory: MemoryFileSystem.MemoryFileSystem, effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
  Effect.provide(Effect.provideService(effect, FileSystem.FileSystem, memory.fileSystem), Path.layer)

/** Opens the WAL, replays it, closes it: the ids of the entries, or the failure. */
const replayIds = (memory: MemoryFileSystem.MemoryFileSystem, options: Partial<Wal.Options> = {}) =>
  on(memory, outcome(Effect.scoped(Effect.gen(function*() {
    const wal = yield* Wal.make({ directory, segmentBytes: 1024, ...options })
    const entries = yield* Stream.runCollect(wal.replay())
    return Array.from(entries, (entry) => `${entry.seq}=${idOf(entry.payload)}`)
  }))))

/** Runs `body` against an open WAL on `memory`, with the filesystem halted after `halt` more operations. */
const haltedRun = (
  memory: MemoryFileSystem.MemoryFileSystem,
  halt: number,
  body: (wal: Wal.Wal<Uint8Array>) => Effect.Effect<unknown, unknown>,
  options: Partial<Wal.Options> = {}
) =>
  Effect.gen(function*() {
    yield* memory.control.haltAfter(halt)
    yield* on(memory, Effect.ignore(Effect.scoped(Effect.flatMap(Wal.make({ directory, segmentBytes: 1024, ...options }), body))))
    yield* memory.control.haltAfter(0)
  })

/**
 * The filesystem a crashed process leaves behind: what reached the OS is readable, but only what
 * was synced is durable (a later power loss may still lose the rest).
 */
const afterProcessCrash = (memory: MemoryFileSystem.MemoryFileSystem) =>
  Effect.flatMap(crashTo(memory, { _tag: "process" }), restore)

const ok = <A>(result: { readonly _tag: string }): A => {
  if (result._tag !== "Success") throw new Error(explain(result as never))
  return (result as unknown as { readonly value: A }).value
}

describe("regressions found by the crash suite", () => {
  it.live("a power loss while a new WAL writes its first segment header never leaves the WAL unopenable", () =>
    Effect.gen(function*() {
      // A torn extension may read back as garbage (brief, section 7); the first segment of a new
      // WAL has no entry yet, so a torn header there is a torn creation, not a foreign file.
      const failures: Array<string> = []
      for (let halt = 0; halt <= 12; halt++) {
        for (let seed = 0; seed < 12; seed++) {
          const memory = yield* MemoryFileSystem.make()
          yield* haltedRun(memory, halt, (wal) => wal.append(payloadOf("a", 40)))
          yield* memory.control.crash({ seed, model: "any", sectorSize: 64, tornFill: "garbage" })
          const reopened = yield* replayIds(memory)
          if (reopened._tag !== "Success") failures.push(`halt ${halt}, seed ${seed}: ${explain(reopened)}`)
        }
      }
      expect(failures).toEqual([])
    }))

  it.live("a segment is created atomically: a crash at any point of creating the first segment leaves no torn segment", () =>
    Effect.gen(function*() {
      const torn: Array<string> = []
      for (let halt = 0; halt < 12; halt++) {
        for (let seed = 0; seed < 8; seed++) {
          const memory = yield* MemoryFileSystem.make()
          yield* memory.control.haltAfter(halt)
          yield* on(memory, Effect.ignore(Effect.scoped(Wal.make({ directory }))))
          yield* memory.control.crash({ seed, model: "any", sectorSize: 64, tornFill: "garbage" })
          const result = yield* replayIds(memory)
          if (explain(result) !== "success") torn.push(`halt ${halt}, seed ${seed}: ${explain(result)}`)
        }
      }
      expect(torn).toEqual([])
    }))

  it.live("a garbage file under the first segment's name, which no crash of this WAL can leave, is refused and kept", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryFileSystem.make()
      const fs = memory.fileSystem
      yield* fs.makeDirectory(directory)
      const garbage = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff)
      yield* fs.writeFile(firstSegment, garbage)
      const result = yield* replayIds(memory)
      expect(explain(result)).toContain("WalFormatError")
      expect(yield* fs.readFile(firstSegment)).toEqual(garbage)
    }))

  it.live("an acknowledged append survives a power loss when an earlier process crashed right after creating the WAL directory", () =>
    Effect.gen(function*() {
      const lost: Array<string> = []
      for (let seed = 0; seed < 20; seed++) {
        const memory = yield* MemoryFileSystem.make()
        // The earlier process created the directory, then died before syncing its parent.
        yield* memory.control.haltAfter(1)
        yield* on(memory, Effect.ignore(Effect.scoped(Wal.make({ directory }))))
        const restarted = yield* afterProcessCrash(memory)
        const appended = yield* on(restarted, outcome(Effect.scoped(Effect.flatMap(Wal.make({ directory }), (wal) => wal.append(payloadOf("a", 40))))))
        expect(appended._tag).toBe("Success")
        yield* restarted.control.crash({ seed, model: "any" })
        const ids = ok<Array<string>>(yield* replayIds(restarted))
        if (ids.join() !== "1=a") lost.push(`seed ${seed}: ${ids.join(" ") || "(empty)"}`)
      }
      expect(lost).toEqual([])
    }))

  it.live("an acknowledged append survives a power loss when an earlier process crashed while creating the first segment", () =>
    Effect.gen(function*() {
      const lost: Array<string> = []
      for (let halt = 2; halt <= 8; halt++) {
        for (let seed = 0; seed < 8; seed++) {
          const memory = yield* MemoryFileSystem.make()
          yield* haltedRun(memory, halt, () => Effect.void)
          const restarted = yield* afterProcessCrash(memory)
          const appended = yield* on(restarted, outcome(Effect.scoped(Effect.flatMap(Wal.make({ directory }), (wal) => wal.append(payloadOf("a", 40))))))
          if (appended._tag !== "Success") continue
          yield* restarted.control.crash({ seed, model: "any" })
          const reopened = yield* replayIds(restarted)
          const ids = reopened._tag === "Success" ? reopened.value.join(" ") : explain(reopened)
          if (ids !== "1=a") lost.push(`halt ${halt}, seed ${seed}: ${ids || "(empty)"}`)
        }
      }
      expect(lost).toEqual([])
    }))

  it.live("a seal frame left unsynced by a crashed process is synced before recovery starts the next segment", () =>
    Effect.gen(function*() {
      const failures: Array<string> = []
      // From the first append's acknowledgement on: the first segment is durable by then.
      const counting = yield* MemoryFileSystem.make()
      yield* on(counting, Effect.scoped(Effect.flatMap(Wal.make({ directory, segmentBytes: 1024 }), (wal) => wal.append(payloadOf("e1", 300)))))
      const from = (yield* counting.control.operationCount) - 1
      for (let halt = from; halt <= from + 16; halt++) {
        for (let seed = 0; seed < 6; seed++) {
          const memory = yield* MemoryFileSystem.make()
          yield* haltedRun(memory, halt, (wal) =>
            Effect.forEach([1, 2, 3, 4], (i) => wal.append(payloadOf(`e${i}`, 300)), { discard: true }))
          const restarted = yield* afterProcessCrash(memory)
          const first = yield* replayIds(restarted)
          if (first._tag !== "Success") {
            failures.push(`halt ${halt}: first recovery ${explain(first)}`)
            continue
          }
          yield* restarted.control.crash({ seed, model: "any" })
          const second = yield* replayIds(restarted)
          if (second._tag !== "Success") failures.push(`halt ${halt}, seed ${seed}: ${explain(second)}`)
          else if (second.value.join() !== first.value.join()) {
            failures.push(`halt ${halt}, seed ${seed}: ${first.value.join(" ")} became ${second.value.join(" ")}`)
          }
        }
      }
      expect(failures).toEqual([])
    }))

  it.live("entries replayed after a process crash are still there after a later power loss", () =>
    Effect.gen(function*() {
      const failures: Array<string> = []
      // The earlier process acknowledged `a`, wrote `b` and died before b's fsync returned.
      for (let seed = 0; seed < 20; seed++) {
        const memory = yield* MemoryFileSystem.make()
        const counting = yield* MemoryFileSystem.make()
        yield* on(counting, Effect.scoped(Effect.flatMap(Wal.make({ directory }), (wal) => wal.append(payloadOf("a", 40)))))
        // Everything up to a's acknowledgement, then b's write, then halt before its fsync.
        const opened = (yield* counting.control.operationCount) - 1
        yield* haltedRun(memory, opened + 1, (wal) => Effect.zipRight(wal.append(payloadOf("a", 40)), wal.append(payloadOf("b", 40))))
        const restarted = yield* afterProcessCrash(memory)
        const replayed = ok<Array<string>>(yield* replayIds(restarted))
        yield* restarted.control.crash({ seed, model: "any" })
        const after = yield* replayIds(restarted)
        const ids = after._tag === "Success" ? after.value.join(" ") : explain(after)
        if (ids !== replayed.join(" ")) failures.push(`seed ${seed}: replayed ${replayed.join(" ")}, after the power loss ${ids || "(empty)"}`)
      }
      expect(failures).toEqual([])
    }))

  it.live("a power loss after an fsync failure and a reopen is not mistaken for corruption", () =>
    Effect.gen(function*() {
      const failures: Array<string> = []
      for (let seed = 0; seed < 30; seed++) {
        const memory = yield* MemoryFileSystem.make()
        yield* on(memory, Effect.scoped(Effect.flatMap(Wal.make({ directory }), (wal) => wal.append(payloadOf("a", 40)))))
        // Every fsync fails from now on: `b` is written but never durable, the WAL is poisoned.
        yield* memory.control.failSync({ nth: 1, persistent: true, paths: directory })
        yield* on(memory, Effect.ignore(Effect.scoped(Effect.flatMap(Wal.make({ directory }), (wal) => wal.append(payloadOf("b", 40))))))
        // Reopened: recovery must not treat `b` as durable, whatever it does with it.
        yield* on(memory, Effect.ignore(Effect.scoped(Effect.flatMap(Wal.make({ directory }), (wal) => wal.append(payloadOf("c", 40))))))
        yield* memory.control.clearFaults
        yield* memory.control.crash({ seed, model: "any" })
        const after = yield* replayIds(memory)
        if (after._tag !== "Success") failures.push(`seed ${seed}: ${explain(after)}`)
        else if (!after.value.join(" ").startsWith("1=a")) failures.push(`seed ${seed}: ${after.value.join(" ")}`)
      }
      expect(failures).toEqual([])
    }))

  it.live("a none-mode WAL reopened after a process crash keeps what it replayed through a power loss", () =>
    Effect.gen(function*() {
      const failures: Array<string> = []
      for (let seed = 0; seed < 20; seed++) {
        const memory = yield* MemoryFileSystem.make()
        const durability = Durability.none
        // Acknowledged to the OS, never synced, then the process dies.
        yield* haltedRun(
          memory,
          1000,
          (wal) => Effect.zipRight(Effect.zipRight(wal.append(payloadOf("a", 40)), wal.append(payloadOf("b", 40))), memory.control.haltAfter(0)),
          { durability }
        )
        const restarted = yield* afterProcessCrash(memory)
        const replayed = ok<Array<string>>(yield* replayIds(restarted, { durability }))
        expect(replayed).toEqual(["1=a", "2=b"])
        yield* restarted.control.crash({ seed, model: "any" })
        const after = yield* replayIds(restarted, { durability })
        const ids = after._tag === "Success" ? after.value.join(" ") : explain(after)
        if (ids !== replayed.join(" ")) failures.push(`seed ${seed}: after the power loss ${ids || "(empty)"}`)
      }
      expect(failures).toEqual([])
    }))
})
