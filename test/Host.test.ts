/**
 * The writer lock asks the `Host` service about processes and takes its time and token from
 * `Clock` and `Random`: a lock left by another process is kept while that process runs and taken
 * over once it is gone, and the lock file is deterministic under TestClock and a seeded Random.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Random, TestClock } from "effect"
import { Host, MemoryFileSystem, Wal } from "../src/index.js"

const directory = "/wal"

/** A host named `box` where the processes in `running` exist. */
const hostWith = (running: ReadonlySet<number>): Host.Service => ({
  pid: 100,
  hostname: "box",
  isRunning: (pid) => Effect.succeed(running.has(pid))
})

const foreignLock = (pid: number) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.zipRight(
      fs.makeDirectory(directory, { recursive: true }),
      fs.writeFileString(`${directory}/LOCK`, JSON.stringify({ pid, hostname: "box", token: "t", acquiredAt: 1 }) + "\n")
    ))

describe("Host", () => {
  it.scoped("a lock whose holder still runs is refused, naming the holder", () =>
    Effect.gen(function*() {
      yield* foreignLock(7)
      const error = yield* Effect.flip(Wal.make({ directory }))
      expect(error._tag).toBe("WalLockedError")
      expect(error.message).toBe("the WAL in /wal is locked by pid 7 on box")
    }).pipe(Effect.provide([MemoryFileSystem.layer, Host.layer(hostWith(new Set([7])))])))

  it.scoped("a lock whose holder is gone is taken over and reported", () =>
    Effect.gen(function*() {
      yield* foreignLock(7)
      const wal = yield* Wal.make({ directory })
      expect(wal.recovery.lockTakenOver).toEqual(Option.some("pid 7 on box"))
    }).pipe(Effect.provide([MemoryFileSystem.layer, Host.layer(hostWith(new Set()))])))

  it.scoped("the lock file records the Host, the Clock and a token from Random", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_000)
      const locks: Array<{ pid: number; hostname: string; token: string; acquiredAt: number }> = []
      const lockOf = Effect.scoped(Effect.gen(function*() {
        yield* Wal.make({ directory })
        const fs = yield* FileSystem.FileSystem
        locks.push(JSON.parse(yield* fs.readFileString(`${directory}/LOCK`)))
      }))
      yield* Effect.withRandom(lockOf, Random.make(42))
      yield* Effect.withRandom(lockOf, Random.make(42))
      expect(locks[0]).toMatchObject({ pid: 100, hostname: "box", acquiredAt: 1_700_000_000_000 })
      expect(locks[0]!.token).toMatch(/^[0-9a-f]{32}$/)
      expect(locks[1]!.token).toBe(locks[0]!.token)
    }).pipe(Effect.provide([MemoryFileSystem.layer, Host.layer(hostWith(new Set()))])))
})
