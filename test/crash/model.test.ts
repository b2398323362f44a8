/**
 * Model-based property test: random sequences of Append, AppendAll, Sync, TailRead, Crash, Reopen,
 * FailNextFsync and BitFlip run against a WAL on the in-memory filesystem and against a plain
 * array model of the log. In full (EFFECT_WAL_CRASH=full), 1,000 runs of 50 to 100 commands on
 * fixed seeds plus 50 runs of a fresh seed that is printed; by default a seeded sample of fewer runs
 * (test/crash/scale.ts). A failure prints the command that replays exactly its run (docs/testing.md).
 */
import * as Path from "@effect/platform/Path"
import * as FileSystem from "@effect/platform/FileSystem"
import { describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck as fc, Option, Scope, Stream } from "effect"
import { MemoryFileSystem, Wal } from "../../src/index.js"
import {
  DIRECTORY,
  durabilityOf,
  explain,
  idOf,
  type Mode,
  outcome,
  payloadOf,
  reportTotals,
  syncFailures,
  totals,
  withFastClock
} from "./harness.js"
import { describeScale, full, modelExtraRuns, modelExtraSeed, modelRunsPerSeed } from "./scale.js"

const FILE = "test/crash/model.test.ts"
reportTotals(FILE, describeScale())

type Command =
  | { readonly _tag: "Append"; readonly size: number }
  | { readonly _tag: "AppendAll"; readonly sizes: ReadonlyArray<number> }
  | { readonly _tag: "Sync" }
  | { readonly _tag: "TailRead"; readonly from: number }
  | { readonly _tag: "Crash"; readonly halt: number; readonly seed: number; readonly model: "any" | "prefix" }
  | { readonly _tag: "Reopen" }
  | { readonly _tag: "FailNextFsync" }
  | { readonly _tag: "BitFlip"; readonly seed: number }

const without = new Set((process.env["MODEL_WITHOUT"] ?? "").split(",").filter((name) => name.length > 0))

const size = fc.integer({ min: 1, max: 240 })
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 10, arbitrary: size.map((n): Command => ({ _tag: "Append", size: n })) },
  { weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 4 }).map((sizes): Command => ({ _tag: "AppendAll", sizes })) },
  { weight: 2, arbitrary: fc.constant<Command>({ _tag: "Sync" }) },
  { weight: 2, arbitrary: fc.nat(1000).map((from): Command => ({ _tag: "TailRead", from })) },
  {
    weight: 2,
    arbitrary: fc.record({ halt: fc.nat(6), seed: fc.nat(), model: fc.constantFrom("any" as const, "prefix" as const) })
      .map((c): Command => ({ _tag: "Crash", ...c }))
  },
  { weight: 1, arbitrary: fc.constant<Command>({ _tag: "Reopen" }) },
  { weight: 1, arbitrary: fc.constant<Command>({ _tag: "FailNextFsync" }) },
  { weight: 1, arbitrary: fc.nat().map((seed): Command => ({ _tag: "BitFlip", seed })) }
).filter((command) => !without.has(command._tag))

const describeCommand = (command: Command): string => JSON.stringify(command)

const sameBytes = (a: Option.Option<Uint8Array>, b: Option.Option<Uint8Array>): boolean =>
  Option.isSome(a) && Option.isSome(b) && Buffer.from(a.value).equals(b.value)

/** Runs one command sequence; returns the first problem, or undefined. */
const runModel = (commands: ReadonlyArray<Command>, mode: Mode, segmentBytes: number) =>
  Effect.gen(function*() {
    // Half the runs serve batches through the writer fiber (files without synchronous access).
    const memory = yield* MemoryFileSystem.make({ syncAccess: commands.length % 2 === 0 })
    const { control } = memory
    const options = { directory: DIRECTORY, durability: durabilityOf(mode), segmentBytes }
    /** The log as the model knows it: ids in sequence order. */
    let log: Array<string> = []
    /** Batches whose append failed: each may be in the log after the next open, whole, in order. */
    let maybe: Array<Array<string>> = []
    let poisoned = false
    let armed = false
    let next = 0
    let wal: Wal.Wal<Uint8Array> | undefined
    let scope: Scope.CloseableScope | undefined

    const closeWal = Effect.gen(function*() {
      if (scope !== undefined) yield* Scope.close(scope, Exit.void)
      scope = undefined
      wal = undefined
    })

    /** Opens the WAL and checks what it replays against the model; a string is a problem. */
    const open = Effect.gen(function*() {
      const failuresBefore = yield* syncFailures(control)
      const s = yield* Scope.make()
      const made = yield* outcome(Wal.make(options).pipe(Scope.extend(s)))
      if (made._tag !== "Success") {
        yield* Scope.close(s, Exit.void)
        if (armed && (yield* syncFailures(control)) > failuresBefore) {
          armed = false
          return undefined
        }
        return `open failed: ${explain(made)}`
      }
      if ((yield* syncFailures(control)) > failuresBefore) armed = false
      const replayed = yield* outcome(Stream.runCollect(made.value.replay()))
      if (replayed._tag !== "Success") return `replay failed: ${explain(replayed)}`
      const ids = Array.from(replayed.value, (entry) => idOf(entry.payload))
      const seqs = Array.from(replayed.value, (entry) => entry.seq)
      if (seqs.some((seq, i) => seq !== i + 1)) return `replay sequence numbers ${seqs.join(",")}`
      const expectedPrefix = log.join(" ")
      if (ids.slice(0, log.length).join(" ") !== expectedPrefix) {
        return `replayed ${ids.join(" ") || "(empty)"}, the model has ${expectedPrefix || "(empty)"}`
      }
      let rest = ids.slice(log.length)
      for (const batch of maybe) {
        if (rest.length === 0) break
        if (rest.slice(0, batch.length).join(" ") !== batch.join(" ")) break
        rest = rest.slice(batch.length)
      }
      if (rest.length > 0) return `replayed ${ids.join(" ")}: ${rest.join(" ")} is not a whole failed batch in order after ${expectedPrefix}`
      log = ids
      maybe = []
      poisoned = false
      scope = s
      wal = made.value
      return undefined
    })

    const appendIds = (sizes: ReadonlyArray<number>, halted = false) =>
      Effect.gen(function*() {
        const ids = sizes.map(() => `m:${next++}`)
        const payloads = ids.map((id, i) => payloadOf(id, sizes[i]!))
        const failuresBefore = yield* syncFailures(control)
        const done = yield* outcome(sizes.length === 1 ? Effect.map(wal!.append(payloads[0]!), (seq) => [seq]) : wal!.appendAll(payloads))
        const fsyncFailed = (yield* syncFailures(control)) > failuresBefore
        if (fsyncFailed) armed = false
        if (done._tag === "Success") {
          if (poisoned) return `${ids.join(",")} acknowledged by a poisoned WAL`
          if (fsyncFailed) return `${ids.join(",")} acknowledged although an fsync failed`
          const expected = ids.map((_, i) => log.length + 1 + i)
          if (done.value.join() !== expected.join()) return `${ids.join(",")} got sequence numbers ${done.value.join()}, expected ${expected.join()}`
          log.push(...ids)
          return undefined
        }
        if (done._tag === "Bug") return `append: ${done.description}`
        if (!poisoned && !fsyncFailed && !halted) return `append failed unexpectedly: ${explain(done)}`
        if (poisoned && done.error._tag !== "WalPoisonedError") return `a poisoned WAL failed with ${explain(done)}`
        poisoned = true
        maybe.push(ids)
        return undefined
      })

    const step = (command: Command): Effect.Effect<string | undefined, never, FileSystem.FileSystem | Path.Path> =>
      Effect.gen(function*() {
        switch (command._tag) {
          case "Append":
            return wal === undefined ? undefined : yield* appendIds([command.size])
          case "AppendAll":
            return wal === undefined ? undefined : yield* appendIds(command.sizes)
          case "Sync": {
            if (wal === undefined) return undefined
            const failuresBefore = yield* syncFailures(control)
            const done = yield* outcome(wal.sync)
            const fsyncFailed = (yield* syncFailures(control)) > failuresBefore
            if (fsyncFailed) armed = false
            if (done._tag === "Success" && (poisoned || fsyncFailed)) return "a sync succeeded after a failure"
            if (done._tag === "Bug") return `sync: ${done.description}`
            if (done._tag === "Failure") poisoned = true
            return undefined
          }
          case "TailRead": {
            if (wal === undefined || log.length === 0) return undefined
            const from = 1 + (command.from % log.length)
            const read = yield* outcome(
              wal.tail({ from }).pipe(Stream.take(log.length - from + 1), Stream.runCollect, Effect.timeout("5 seconds"))
            )
            if (read._tag !== "Success") return `tail from ${from}: ${explain(read)}`
            const ids = Array.from(read.value, (entry) => `${entry.seq}=${idOf(entry.payload)}`)
            const expected = log.slice(from - 1).map((id, i) => `${from + i}=${id}`)
            return ids.join(" ") === expected.join(" ") ? undefined : `tail from ${from} delivered ${ids.join(" ")}, expected ${expected.join(" ")}`
          }
          case "Crash": {
            if (wal !== undefined) {
              // Halt a few operations into one more append, crash, recover.
              yield* control.haltAfter(command.halt)
              const problem = yield* appendIds([40 + command.halt], true)
              if (problem !== undefined) return problem
              yield* control.haltAfter(0)
              yield* closeWal
            }
            yield* control.crash({ seed: command.seed, model: command.model })
            return yield* open
          }
          case "Reopen":
            yield* closeWal
            return yield* open
          case "FailNextFsync":
            if (!armed) {
              yield* control.failSync({ nth: 1, paths: DIRECTORY })
              armed = true
            }
            return undefined
          case "BitFlip": {
            // A flip while an fsync failure is armed would mix two faults in one recovery.
            if (armed) return undefined
            yield* closeWal
            const names = (yield* memory.fileSystem.readDirectory(DIRECTORY).pipe(Effect.orDie)).filter((name) => name.endsWith(".wal")).sort()
            const candidates: Array<{ path: string; length: number }> = []
            for (const name of names) {
              const bytes = yield* control.durableBytes(`${DIRECTORY}/${name}`)
              if (Option.isSome(bytes) && bytes.value.length > 0) candidates.push({ path: `${DIRECTORY}/${name}`, length: bytes.value.length })
            }
            if (candidates.length === 0) return yield* open
            const target = candidates[command.seed % candidates.length]!
            const flip = { path: target.path, offset: command.seed % target.length, bit: command.seed % 8 }
            const liveBefore = yield* control.liveBytes(target.path)
            yield* control.flipBit(flip).pipe(Effect.orDie)
            if (sameBytes(liveBefore, yield* control.liveBytes(target.path))) {
              // The flip is under a write or a cut not yet durable (space allocated ahead that a
              // failed fsync left pending): the live file does not show it, so no open can see it.
              // Should a crash bring it back, recovery judges it as any other damage.
              totals.bitFlipsNotLive++
              return yield* open
            }
            const failuresBefore = yield* syncFailures(control)
            const s = yield* Scope.make()
            const made = yield* outcome(Wal.make(options).pipe(Scope.extend(s)))
            yield* Scope.close(s, Exit.void)
            if (made._tag === "Bug") return `open after a bit flip: ${made.description}`
            if (made._tag === "Failure") {
              if (armed && (yield* syncFailures(control)) > failuresBefore) armed = false
              else if (made.error._tag !== "WalCorruptionError" && made.error._tag !== "WalFormatError") {
                return `bit flip ${JSON.stringify(flip)} reported as ${explain(made)}`
              }
              // Detected: undo the flip (an operator restoring the byte) and go on.
              yield* control.flipBit(flip).pipe(Effect.orDie)
              return yield* open
            }
            // Accepted: only as a torn tail of the last segment, or a torn creation of an empty
            // last segment, and reported as such.
            const report = made.value.recovery
            const tornAt = Option.getOrUndefined(report.tornTail)
            const explained = (tornAt !== undefined && tornAt.file === target.path && flip.offset >= tornAt.offset) ||
              report.removedSegments.some((name) => target.path.endsWith(name))
            if (!explained) return `bit flip ${JSON.stringify(flip)} went unnoticed`
            const lost = log.length - report.lastSequence
            if (lost > 0) {
              totals.bitFlipsCutAsTornTail++
              log = log.slice(0, report.lastSequence)
              maybe = []
            }
            // Otherwise the flip was in free space after the log, which failed batches may still
            // precede: `open` checks them as after any reopen.
            return yield* open
          }
        }
      })

    const problem = yield* Effect.gen(function*() {
      const opened = yield* open
      if (opened !== undefined) return `initial ${opened}`
      for (let i = 0; i < commands.length; i++) {
        const found = yield* step(commands[i]!).pipe(Effect.timeout("10 seconds"), Effect.orElseSucceed(() => "timed out"))
        if (found !== undefined) return `command ${i} ${describeCommand(commands[i]!)}: ${found}`
      }
      return undefined
    }).pipe(Effect.provideService(FileSystem.FileSystem, memory.fileSystem), Effect.provide(Path.layer))
    yield* closeWal
    return problem
  })

const fixedSeeds = [42, 1337, 20240601, 7]
/** Shrinking a failure costs minutes; CI reports the seed and path instead (MODEL_SHRINK=1 shrinks). */
const shrink = process.env["MODEL_SHRINK"] !== undefined
/** With MODEL_SEED, the fast-check path of the one run to replay (printed with every failure). */
const replayPath = process.env["MODEL_PATH"]

const property = fc.asyncProperty(
  fc.array(commandArb, { minLength: 50, maxLength: 100 }),
  fc.constantFrom<Mode>("strict", "grouped"),
  fc.constantFrom(1024, 2048),
  async (commands, mode, segmentBytes) => {
    // The in-memory filesystem never waits on I/O, so without this the runs would chain through
    // microtasks only and starve the worker's event loop for the whole test (vitest's own RPC with
    // the main process then times out).
    await new Promise<void>((resolve) => setImmediate(resolve))
    totals.fastCheckRuns++
    const problem = await Effect.runPromise(withFastClock(runModel(commands, mode, segmentBytes)))
    if (problem !== undefined) throw new Error(`${mode}, ${segmentBytes} B segments: ${problem}`)
  }
)

/** Runs the property on `seed`; a failure names its seed and path and the command that replays exactly that run. */
const check = async (seed: number, numRuns: number) => {
  const details = await fc.check(property, {
    seed,
    numRuns,
    endOnFailure: !shrink,
    ...(replayPath === undefined ? {} : { path: replayPath })
  })
  if (details.failed) {
    const replay = `MODEL_SEED=${details.seed} MODEL_PATH=${details.counterexamplePath} npx vitest run ${FILE}`
    throw new Error(`${fc.defaultReportMessage(details)}\nreplay exactly this run: ${replay}`)
  }
}

describe("model-based: the WAL against an array", () => {
  if (process.env["MODEL_SEED"] === undefined) {
    for (const seed of fixedSeeds) {
      it(`fixed seed ${seed}: ${modelRunsPerSeed} runs of 50 to 100 commands`, () => check(seed, modelRunsPerSeed), 240_000)
    }
  }
  const extra = process.env["MODEL_SEED"] !== undefined ? "seed" : full ? "fresh seed" : "seed of the sample"
  const runs = replayPath === undefined ? modelExtraRuns : 1
  it(`${extra} ${modelExtraSeed}: ${runs} runs (rerun with MODEL_SEED=${modelExtraSeed})`, () => {
    console.log(`[crash-suite] ${FILE}: ${extra} ${modelExtraSeed}; rerun with MODEL_SEED=${modelExtraSeed} npx vitest run ${FILE}`)
    return check(modelExtraSeed, runs)
  }, 240_000)
})
