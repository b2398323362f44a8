/**
 * `Inspect.repair`, the one explicit repair: under the writer lock, it cuts the log at its first
 * problem, after copying every byte it removes into a backup directory, durably.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Clock, Effect, Option } from "effect"
import type { RepairReport } from "../Inspect.js"
import { fromPlatformError, WalCorruptionError, type WalFormatError, type WalIOError, type WalLockedError } from "../WalError.js"
import { problemError, scanLog } from "./logScan.js"
import { open, readAt, sizeOf, syncDirectory, syncFile, truncate, writeAll } from "./io.js"
import { acquire } from "./lock.js"

const COPY_CHUNK = 1024 * 1024

/** Copies `[from, size)` of `source` into the new file `target` and fsyncs it. */
const copyRange = (fs: FileSystem.FileSystem, source: string, from: number, target: string) =>
  Effect.scoped(Effect.gen(function*() {
    const input = yield* open(fs, source, "r")
    const output = yield* open(fs, target, "wx")
    const size = yield* sizeOf(input, source)
    for (let offset = from; offset < size; offset += COPY_CHUNK) {
      yield* writeAll(output, yield* readAt(input, offset, Math.min(COPY_CHUNK, size - offset), source), target)
    }
    // The copy must be on stable storage before a single byte of the original is cut.
    yield* syncFile(output, target)
    return size - from
  }))

const backupName = (millis: number): string => `repair-${new Date(millis).toISOString().replace(/[:.]/g, "-")}`

/** See `Inspect.repair`. */
export const repair = (
  fs: FileSystem.FileSystem,
  directory: string
): Effect.Effect<RepairReport, WalIOError | WalLockedError | WalFormatError | WalCorruptionError, Path.Path> =>
  Effect.scoped(Effect.gen(function*() {
    const { join } = yield* Path.Path
    // Holding the writer lock keeps a writer out for the whole repair, and refuses while one is live.
    const lock = yield* acquire(fs, directory)
    const scan = yield* scanLog(fs, directory, { mode: "full", all: false })
    const untouched: RepairReport = {
      directory,
      repaired: false,
      problem: Option.none(),
      truncated: Option.none(),
      removedSegments: [],
      backupDirectory: Option.none(),
      savedBytes: 0,
      lastSequence: scan.lastSequence,
      tornTail: scan.tornTail,
      lockTakenOver: lock.takenOver
    }
    const problem = scan.problems[0]
    if (problem === undefined) return untouched
    // Another format, version, WAL or codec is not damage: cutting it would destroy readable data.
    if (problem.problem !== "corruption" && problem.problem !== "bad-header") return yield* problemError(problem)
    const position = scan.kept.findIndex((s) => join(directory, s.name) === problem.file)
    const damaged = scan.kept[position]
    const damagedPath = problem.file
    const scanned = scan.segments.find((s) => s.path === damagedPath)
    // Damage in a header or between segments removes the whole segment; damage in frames keeps
    // every complete batch before it.
    const cutAt = problem.offset === 0 || scanned === undefined ? 0 : scanned.committedEnd
    if (damaged === undefined || (cutAt === 0 && position === 0)) {
      return yield* new WalCorruptionError({
        file: problem.file,
        offset: problem.offset,
        reason: `${problem.reason}; repair refuses to remove the first segment, which would leave no log`
      })
    }
    const damagedSize = scanned?.bytes ?? 0
    const later = scan.kept.slice(position + 1).map((s) => s.name)

    const backup = join(directory, backupName(yield* Clock.currentTimeMillis))
    yield* fs.makeDirectory(backup).pipe(Effect.mapError(fromPlatformError("mkdir", backup)))
    let savedBytes = 0
    if (cutAt === 0 || cutAt < damagedSize) savedBytes += yield* copyRange(fs, damagedPath, cutAt, join(backup, damaged.name))
    for (const name of later) savedBytes += yield* copyRange(fs, join(directory, name), 0, join(backup, name))
    const manifest = join(backup, "repair.json")
    yield* fs.writeFileString(manifest, JSON.stringify({ problem, cut: { file: damaged.name, offset: cutAt }, removed: later }, null, 2) + "\n")
      .pipe(Effect.mapError(fromPlatformError("write", manifest)))
    // The copies' names must be durable too, in the backup directory and in the WAL directory.
    yield* syncDirectory(fs, backup)
    yield* syncDirectory(fs, directory)

    // Remove from the highest index down, so a crash at any point leaves a contiguous prefix.
    const removed = cutAt === 0 ? [...later, damaged.name] : later
    for (const name of [...removed].sort().reverse()) {
      const path = join(directory, name)
      yield* fs.remove(path).pipe(Effect.mapError(fromPlatformError("remove", path)))
    }
    // The removals must be durable before the cut segment becomes the end of the log.
    if (removed.length > 0) yield* syncDirectory(fs, directory)
    let truncated = Option.none<{ readonly file: string; readonly offset: number; readonly bytes: number }>()
    if (cutAt > 0 && cutAt < damagedSize) {
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* open(fs, damagedPath, "r+")
        yield* truncate(file, cutAt, damagedPath)
        // The cut must be durable before anything is appended behind it.
        yield* syncFile(file, damagedPath)
      }))
      truncated = Option.some({ file: damagedPath, offset: cutAt, bytes: damagedSize - cutAt })
    }
    const after = yield* scanLog(fs, directory, { mode: "full", all: false })
    return {
      ...untouched,
      repaired: true,
      problem: Option.some(problem),
      truncated,
      removedSegments: [...removed].sort(),
      backupDirectory: Option.some(backup),
      savedBytes,
      lastSequence: after.lastSequence,
      tornTail: after.tornTail
    }
  }))
