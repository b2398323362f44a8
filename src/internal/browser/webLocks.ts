/**
 * The writer lock on the Web Locks API: an exclusive lock named after the WAL directory, requested
 * with `ifAvailable`, so a second writer (another tab, another worker) fails at once with
 * `WalLockedError` instead of waiting. The browser releases the lock when the scope closes, and
 * also when the worker or tab holding it goes away (closed, crashed, killed): there is no stale
 * lock to take over, and no file in the directory.
 */
import * as Path from "@effect/platform/Path"
import { Effect, Option } from "effect"
import { WalIOError, WalLockedError } from "../../WalError.js"
import type * as WriterLock from "../../WriterLock.js"
import { browserNavigator, type LockManager } from "./dom.js"

/** The Web Locks name of the lock on `directory` (an absolute, normalised path). */
export const lockName = (directory: string): string => `effect-wal:${directory}`

/** Holds the lock `name` until the returned release function is called; `undefined` when it is held. */
const request = (locks: LockManager, name: string): Effect.Effect<(() => void) | undefined, WalIOError> =>
  Effect.async((resume) => {
    locks.request(name, { mode: "exclusive", ifAvailable: true }, (lock) => {
      if (lock === null) {
        resume(Effect.succeed(undefined))
        return
      }
      return new Promise<void>((release) => resume(Effect.succeed(() => release())))
    }).catch((cause: unknown) => resume(Effect.fail(new WalIOError({ operation: "lock", path: name, cause }))))
  })

/** The Web Locks writer lock. */
export const webLocks: WriterLock.Service = {
  acquire: (_fs, directory) =>
    Effect.gen(function*() {
      const name = lockName((yield* Path.Path).resolve(directory))
      const locks = browserNavigator()?.locks
      if (locks === undefined) {
        return yield* new WalIOError({
          operation: "lock",
          path: name,
          cause: new Error("the Web Locks API (navigator.locks) is not available here")
        })
      }
      const release = yield* Effect.acquireRelease(request(locks, name), (release) => Effect.sync(() => release?.()))
      if (release === undefined) {
        return yield* new WalLockedError({ directory, holder: "another tab or worker of this origin" })
      }
      return { takenOver: Option.none() }
    })
}
