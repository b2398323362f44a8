/**
 * The writer lock: a `LOCK` file in the WAL directory, created exclusively, that names its holder
 * (pid, host, a random token). A second writer in this process or another gets `WalLockedError`.
 * A lock whose holder is gone (a process that no longer exists, or a token this process no longer
 * holds because its WAL was closed or crashed) is taken over, and the recovery report says so.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Clock, Effect, Option, Random, Scope } from "effect"
import { Host } from "../Host.js"
import { WriterLock, type Service as WriterLockService } from "../WriterLock.js"
import { fromPlatformError, WalIOError, WalLockedError } from "../WalError.js"

/** The lock file's name inside the WAL directory. */
export const LOCK_FILE = "LOCK"

/** What a lock file records. */
export interface LockHolder {
  readonly pid: number
  readonly hostname: string
  readonly token: string
  readonly acquiredAt: number
}

/**
 * Tokens of the locks this process holds right now. Lock ownership is a property of the process
 * (as with flock), so this one set is process-wide by nature; it holds no configuration.
 */
const heldTokens = new Set<string>()

/** Parses a lock file's content; `None` when it is torn or not a lock. */
export const parseLockHolder = (text: string): Option.Option<LockHolder> => {
  try {
    const value: unknown = JSON.parse(text)
    if (
      typeof value === "object" && value !== null &&
      "pid" in value && typeof value.pid === "number" &&
      "hostname" in value && typeof value.hostname === "string" &&
      "token" in value && typeof value.token === "string" &&
      "acquiredAt" in value && typeof value.acquiredAt === "number"
    ) return Option.some({ pid: value.pid, hostname: value.hostname, token: value.token, acquiredAt: value.acquiredAt })
  } catch {
    // torn or foreign content: treated as a stale lock
  }
  return Option.none()
}

/** A readable description of a lock holder. */
export const describeHolder = (holder: LockHolder): string => `pid ${holder.pid} on ${holder.hostname}`

/** Whether the holder is still alive, as far as this process can tell; a foreign host counts as alive. */
const isAlive = (holder: LockHolder): Effect.Effect<boolean> =>
  Effect.flatMap(Host, (host) => {
    if (holder.hostname !== host.hostname) return Effect.succeed(true)
    if (holder.pid === host.pid) return Effect.succeed(heldTokens.has(holder.token))
    return host.isRunning(holder.pid)
  })

/** A random 128-bit token in hex, from Effect's `Random`, naming one holding of the lock. */
const newToken: Effect.Effect<string> = Effect.map(
  Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x1_0000_0000))),
  (words) => words.map((word) => word.toString(16).padStart(8, "0")).join("")
)

/** The result of taking the lock. */
export interface Acquired {
  /** The stale holder whose lock was taken over, if any. */
  readonly takenOver: Option.Option<string>
}

/**
 * Takes the directory's lock for the current scope with the `WriterLock` in the environment (the
 * `LOCK` file by default); closing the scope releases it.
 */
export const acquire = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<Acquired, WalLockedError | WalIOError, Scope.Scope | Path.Path> =>
  Effect.flatMap(WriterLock, (lock) => lock.acquire(fs, directory))

/**
 * Takes the directory's `LOCK` file for the current scope; closing the scope releases it.
 */
export const acquireFile = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<Acquired, WalLockedError | WalIOError, Scope.Scope | Path.Path> =>
  Effect.gen(function*() {
    const path = (yield* Path.Path).join(directory, LOCK_FILE)
    const host = yield* Host
    const self: LockHolder = {
      pid: host.pid,
      hostname: host.hostname,
      token: yield* newToken,
      acquiredAt: yield* Clock.currentTimeMillis
    }
    const content = JSON.stringify(self) + "\n"
    // The lock is not fsynced: it only has to exclude other writers while this process lives. A
    // crash that loses or keeps it is harmless, since a lock whose holder is gone is taken over.
    const created = yield* fs.writeFileString(path, content, { flag: "wx" }).pipe(
      Effect.as(true),
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.succeed(false)),
      Effect.mapError(fromPlatformError("create lock", path))
    )
    let takenOver = Option.none<string>()
    if (!created) {
      const existing = yield* readHolder(fs, path)
      if (Option.isSome(existing) && (yield* isAlive(existing.value))) {
        return yield* new WalLockedError({ directory, holder: describeHolder(existing.value) })
      }
      takenOver = Option.some(Option.match(existing, { onNone: () => "an unreadable lock file", onSome: describeHolder }))
      // Replace the stale lock atomically, then read it back: of two processes taking over the
      // same stale lock at once, the one whose token is not there gives way.
      const temporary = `${path}.${self.token}`
      yield* fs.writeFileString(temporary, content).pipe(Effect.mapError(fromPlatformError("write lock", temporary)))
      yield* fs.rename(temporary, path).pipe(Effect.mapError(fromPlatformError("rename lock", path)))
      const now = yield* readHolder(fs, path)
      if (Option.isNone(now) || now.value.token !== self.token) {
        return yield* new WalLockedError({
          directory,
          holder: Option.match(now, { onNone: () => "another process taking over", onSome: describeHolder })
        })
      }
    }
    heldTokens.add(self.token)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        heldTokens.delete(self.token)
        return readHolder(fs, path).pipe(
          Effect.flatMap((holder) =>
            Option.isSome(holder) && holder.value.token === self.token ? fs.remove(path) : Effect.void
          ),
          Effect.ignore
        )
      })
    )
    return { takenOver }
  })

/** Reads the holder recorded in a lock file, `None` when it cannot be parsed. */
export const readHolder = (
  fs: FileSystem.FileSystem,
  path: string
): Effect.Effect<Option.Option<LockHolder>, WalIOError> =>
  fs.readFileString(path).pipe(
    Effect.map(parseLockHolder),
    Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed(Option.none())),
    Effect.mapError(fromPlatformError("read lock", path))
  )

/** The `LOCK` file lock, the default `WriterLock`. */
export const fileLock: WriterLockService = { acquire: acquireFile }
