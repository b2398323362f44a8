/**
 * The crash-simulation harness: small workloads run against a WAL on the in-memory FileSystem,
 * halted after any filesystem operation, crashed with a seed, recovered and checked against what
 * the workload was told (see docs/testing.md).
 *
 * Every payload names its place in the workload (`<tag>:<n>#` then filler derived from it), so a
 * recovered entry can be traced back to the append that wrote it, or recognised as a phantom.
 */
import * as Path from "@effect/platform/Path"
import * as FileSystem from "@effect/platform/FileSystem"
import { afterAll, beforeAll } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Option, Scope, Stream } from "effect"
import { Durability, MemoryFileSystem, Wal, WalError } from "../../src/index.js"

/** The WAL directory of every test. */
export const DIRECTORY = "/wal"

/** The durability modes, by name. */
export type Mode = "strict" | "grouped" | "buffered" | "none"

/** Bytes after which `buffered` fsyncs (its interval is an hour: it never fires in a test). */
export const BUFFERED_BYTES = 300

/** The durability mode of a name. */
export const durabilityOf = (mode: Mode): Durability.Durability => {
  switch (mode) {
    case "strict":
      return Durability.strict
    case "grouped":
      return Durability.grouped({ maxDelay: "1 millis" })
    case "buffered":
      return Durability.buffered({ interval: "1 hours", bytes: BUFFERED_BYTES })
    case "none":
      return Durability.none
  }
}

/** Whether an acknowledged append of this mode must survive a power loss (brief, section 5). */
export const survivesPowerLoss = (mode: Mode): boolean => mode === "strict" || mode === "grouped"

/**
 * A Clock whose short sleeps (under a second) only yield: `grouped`'s gathering window costs
 * nothing and stays deterministic, while long sleeps (timeouts, `buffered`'s hour) stay real.
 */
const realClock = Clock.make()
export const fastClock: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => realClock.unsafeCurrentTimeMillis(),
  currentTimeMillis: realClock.currentTimeMillis,
  unsafeCurrentTimeNanos: () => realClock.unsafeCurrentTimeNanos(),
  currentTimeNanos: realClock.currentTimeNanos,
  sleep: (duration) => Duration.toMillis(duration) < 1000 ? Effect.yieldNow() : realClock.sleep(duration)
}

// ---------------------------------------------------------------------------------------------
// Payloads

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The payload of the entry `id`: the id, `#`, then filler derived from the id, `size` bytes in all. */
export const payloadOf = (id: string, size: number): Uint8Array => {
  const head = `${id}#`
  const bytes = new Uint8Array(Math.max(size, head.length))
  bytes.set(encoder.encode(head))
  let h = 2166136261
  for (let i = 0; i < head.length; i++) h = Math.imul(h ^ head.charCodeAt(i), 16777619)
  for (let i = head.length; i < bytes.length; i++) {
    h = Math.imul(h ^ i, 16777619)
    bytes[i] = 97 + ((h >>> 24) % 26)
  }
  return bytes
}

/** The id a payload names, or a description of the bytes when they name none. */
export const idOf = (payload: Uint8Array): string => {
  const end = payload.indexOf(35)
  return end < 0 ? `<no id: ${payload.length} bytes>` : decoder.decode(payload.subarray(0, end))
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// What the workload was told

/** One entry the workload tried to append. */
export interface Attempt {
  readonly id: string
  readonly payload: Uint8Array
  /** The append call (single append or atomic batch) the entry belongs to. */
  readonly batch: number
  /** How many entries had been acknowledged when the call was made. */
  readonly ackedBefore: number
  /** The sequence number returned, once acknowledged. */
  seq: number | undefined
  /** The failure reported, if any. */
  failure: string | undefined
}

/** Records the attempts of one run and what the WAL answered. */
export class Recorder {
  readonly byId = new Map<string, Attempt>()
  readonly attempts: Array<Attempt> = []
  /** Acknowledged entries, in the order their acknowledgements were seen. */
  readonly acked: Array<Attempt> = []
  /** Batches: the ids of each append call. */
  readonly batches: Array<ReadonlyArray<string>> = []
  /** How many of `acked` (a prefix) a completed sync or close made durable. */
  syncedAcks = 0
  /** Invariant violations seen while running (defects, acknowledgement after failure, ...). */
  readonly violations: Array<string> = []
  private next = 0

  constructor(readonly tag: string) {}

  /** Registers an append call of entries of the given sizes. */
  submit(sizes: ReadonlyArray<number>): ReadonlyArray<Attempt> {
    const batch = this.batches.length
    const made = sizes.map((size) => {
      const id = `${this.tag}:${this.next++}`
      const attempt: Attempt = { id, payload: payloadOf(id, size), batch, ackedBefore: this.acked.length, seq: undefined, failure: undefined }
      this.byId.set(id, attempt)
      this.attempts.push(attempt)
      return attempt
    })
    this.batches.push(made.map((a) => a.id))
    return made
  }

  /** Records the acknowledgement of a call. */
  ack(attempts: ReadonlyArray<Attempt>, seqs: ReadonlyArray<number>): void {
    attempts.forEach((attempt, i) => {
      attempt.seq = seqs[i]
      this.acked.push(attempt)
    })
  }

  /** Everything acknowledged so far is durable (a sync or a close completed). */
  synced(): void {
    this.syncedAcks = this.acked.length
  }
}

/** What recovered entries must contain. */
export interface Expectation {
  /** Entries that must come first, exactly (what an earlier recovery replayed from durable state). */
  readonly base: ReadonlyArray<Observed>
  /** How many acknowledged entries (a prefix of `recorder.acked`) must be present. */
  readonly required: number
}

/** An entry as read back: its sequence number and the id its payload names. */
export interface Observed {
  readonly seq: number
  readonly id: string
}

/** The entries a replay returned, as `Observed`, checking each payload against its attempt. */
export const observe = (entries: ReadonlyArray<Wal.WalEntry<Uint8Array>>): Array<Observed> =>
  entries.map((entry) => ({ seq: entry.seq, id: idOf(entry.payload), bytes: entry.payload })).map(({ bytes, id, seq }) => {
    // A payload whose filler does not match its id is mangled data.
    return { seq, id: sameBytes(bytes, payloadOf(id, bytes.length)) ? id : `<mangled ${id}>` }
  })

const describeEntries = (entries: ReadonlyArray<Observed>): string =>
  entries.length === 0 ? "(empty)" : entries.map((e) => `${e.seq}=${e.id}`).join(" ")

/**
 * Checks recovered entries against a run: sequence numbers 1..n without gaps, the base first,
 * every other entry appended by the run (no phantom, no duplicate, no mangled payload), every
 * acknowledged entry that is present at the sequence number it was given, the required ones
 * present, atomic batches whole or absent, and no entry present while an entry acknowledged before
 * it was made is missing (a gap-free prefix of the history). Returns the problems found.
 */
export const checkLog = (
  entries: ReadonlyArray<Observed>,
  recorder: Recorder,
  expectation: Expectation
): Array<string> => {
  const problems: Array<string> = []
  const bySeq = new Map<number, Observed>()
  entries.forEach((entry, i) => {
    if (entry.seq !== i + 1) problems.push(`entry #${i + 1} has sequence ${entry.seq} (gap or disorder)`)
    bySeq.set(entry.seq, entry)
  })
  const base = expectation.base
  for (let i = 0; i < base.length; i++) {
    const found = entries[i]
    if (found === undefined || found.id !== base[i]!.id || found.seq !== base[i]!.seq) {
      problems.push(`entry ${base[i]!.seq}=${base[i]!.id} replayed before is now ${found === undefined ? "missing" : `${found.seq}=${found.id}`}`)
      break
    }
  }
  const seen = new Map<string, number>()
  for (const entry of entries.slice(base.length)) {
    const attempt = recorder.byId.get(entry.id)
    if (attempt === undefined) {
      problems.push(`phantom entry ${entry.seq}=${entry.id}: never appended`)
      continue
    }
    const before = seen.get(entry.id)
    if (before !== undefined) problems.push(`entry ${entry.id} appears twice, at ${before} and ${entry.seq}`)
    seen.set(entry.id, entry.seq)
    if (attempt.seq !== undefined && attempt.seq !== entry.seq) {
      problems.push(`entry ${entry.id} acknowledged as ${attempt.seq} is at ${entry.seq}`)
    }
  }
  recorder.acked.forEach((attempt, i) => {
    const at = bySeq.get(attempt.seq!)
    if (at !== undefined && at.id !== attempt.id) {
      problems.push(`sequence ${attempt.seq}, acknowledged for ${attempt.id}, holds ${at.id}`)
    } else if (at === undefined && i < expectation.required) {
      problems.push(`acknowledged entry ${attempt.seq}=${attempt.id} lost`)
    }
  })
  for (const ids of recorder.batches) {
    const present = ids.filter((id) => seen.has(id))
    if (present.length > 0 && present.length < ids.length) {
      problems.push(`atomic batch [${ids.join(", ")}] partly present: ${present.join(", ")}`)
    }
  }
  for (const [id, seq] of seen) {
    const attempt = recorder.byId.get(id)!
    for (let i = 0; i < attempt.ackedBefore; i++) {
      const earlier = recorder.acked[i]!
      const earlierSeq = seen.get(earlier.id)
      if (earlierSeq === undefined || earlierSeq > seq) {
        problems.push(`entry ${seq}=${id} is present but ${earlier.id}, acknowledged before it was appended, is ${earlierSeq === undefined ? "missing" : `after it (${earlierSeq})`}`)
        break
      }
    }
  }
  if (problems.length > 0) problems.push(`recovered: ${describeEntries(entries)}`)
  return problems
}

// ---------------------------------------------------------------------------------------------
// Outcomes of WAL calls

/** A failure that a caller may legitimately see: a typed `WalError`. Anything else is a bug. */
export type Outcome<A> =
  | { readonly _tag: "Success"; readonly value: A }
  | { readonly _tag: "Failure"; readonly error: WalError.WalError }
  | { readonly _tag: "Bug"; readonly description: string }

/** Runs `effect` and classifies its exit: success, typed WAL failure, or bug (defect, interruption, foreign error). */
export const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A>, never, R> =>
  Effect.map(Effect.exit(effect), (exit): Outcome<A> => {
    if (Exit.isSuccess(exit)) return { _tag: "Success", value: exit.value }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && WalError.isWalError(failure.value) && !Cause.isDie(exit.cause)) {
      return { _tag: "Failure", error: failure.value }
    }
    return { _tag: "Bug", description: Cause.pretty(exit.cause) }
  })

/** A short description of a failure. */
export const describeError = (error: WalError.WalError): string => {
  const cause = (error as { cause?: unknown }).cause
  const inner = WalError.isWalError(cause) ? ` <- ${describeError(cause)}` : ""
  return `${error._tag}${"code" in error && error.code !== undefined ? `(${String(error.code)})` : ""}${inner}`
}

/** A failure with its message. */
/**
 * One turn of the event loop. The in-memory filesystem never waits on I/O, so a long exploration
 * would otherwise run on microtasks alone and starve the worker's event loop (vitest's RPC with its
 * main process then times out). Explorations take one turn per crash case.
 */
export const breathe: Effect.Effect<void> = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

export const explainError = (error: WalError.WalError): string => `${describeError(error)}: ${error.message}`

/** Describes a non-success outcome. */
export const explain = (o: Outcome<unknown>): string =>
  o._tag === "Failure" ? explainError(o.error) : o._tag === "Bug" ? `defect or interruption: ${o.description}` : "success"

// ---------------------------------------------------------------------------------------------
// Workloads

/** One step of a workload. */
export type Op =
  | { readonly _tag: "append"; readonly size: number }
  | { readonly _tag: "appendAll"; readonly sizes: ReadonlyArray<number> }
  | { readonly _tag: "burst"; readonly sizes: ReadonlyArray<number> }
  | { readonly _tag: "sync" }
  | { readonly _tag: "reopen" }
  | { readonly _tag: "close" }

export const append = (size = 60): Op => ({ _tag: "append", size })
export const appendAll = (...sizes: ReadonlyArray<number>): Op => ({ _tag: "appendAll", sizes })
export const burst = (...sizes: ReadonlyArray<number>): Op => ({ _tag: "burst", sizes })
export const sync: Op = { _tag: "sync" }
export const reopen: Op = { _tag: "reopen" }
export const close: Op = { _tag: "close" }

/** A named workload: the WAL is opened, the steps run in order; a crash ends it. */
export interface Workload {
  readonly name: string
  readonly mode: Mode
  readonly segmentBytes: number
  readonly verify?: "full" | "tail"
  readonly ops: ReadonlyArray<Op>
  /** The mode the WAL really runs with, when not `mode`: only for the harness's self-test. */
  readonly walMode?: Mode
}

export const describeOp = (op: Op): string => {
  switch (op._tag) {
    case "append":
      return `append(${op.size})`
    case "appendAll":
    case "burst":
      return `${op._tag}(${op.sizes.join(",")})`
    default:
      return op._tag
  }
}

/** Options of a WAL opened for a workload. */
export const walOptions = (workload: Pick<Workload, "mode" | "segmentBytes" | "verify" | "walMode">) => ({
  directory: DIRECTORY,
  durability: durabilityOf(workload.walMode ?? workload.mode),
  segmentBytes: workload.segmentBytes,
  ...(workload.verify === undefined ? {} : { verify: workload.verify })
})

/** What a tailing reader delivered during one open of the WAL. */
export interface TailRecord {
  readonly instance: number
  readonly delivered: Array<Observed>
  ended: "open" | "end" | string
}

/** What a run of a workload observed. */
export interface RunResult {
  /** Operation count after each step. */
  readonly opCounts: Array<number>
  /** Operation count right after the close part of each `reopen` / `close` step. */
  readonly closeCounts: Array<number | undefined>
  readonly tails: Array<TailRecord>
  /** What each successful open replayed right away. */
  readonly replays: Array<Array<Observed>>
  /** The scope of the WAL still open at the end, if any. */
  readonly scope: Scope.CloseableScope | undefined
}

/** How a run decides whether a close made everything acknowledged durable. */
export type CloseOracle = (step: number, instanceFailed: boolean, syncFailuresDuringClose: number) => boolean

export interface RunOptions {
  readonly memory: MemoryFileSystem.MemoryFileSystem
  readonly recorder: Recorder
  readonly workload: Pick<Workload, "mode" | "segmentBytes" | "verify" | "ops" | "walMode">
  /** Whether a step that ran whole before the halt may fail: `true` when it may not (see `ranWhole`). */
  readonly ranWhole?: (step: number) => boolean
  readonly closeOracle: CloseOracle
  /** Whether to tail every opened WAL. */
  readonly tail?: boolean
  /**
   * Fail an append or sync that succeeds although an fsync failed while it ran (sequential calls
   * only: the bursts' calls overlap).
   */
  readonly syncFailureMeansFailure?: boolean
}

/** How many sync failures the armed fault plans have injected. */
export const syncFailures = (control: MemoryFileSystem.ControlService): Effect.Effect<number> =>
  Effect.map(control.faults, (faults) =>
    faults.filter((fault) => fault.description.includes("sync")).reduce((n, fault) => n + fault.triggered, 0))

/**
 * Runs a workload on an open-per-`reopen` WAL, recording every acknowledgement and checking the
 * fail-stop rule as it goes. Leaves the last WAL open (its scope in the result).
 */
export const runWorkload = (options: RunOptions): Effect.Effect<RunResult> =>
  Effect.gen(function*() {
    const { memory, recorder, workload } = options
    const { control } = memory
    const result: RunResult = { opCounts: [], closeCounts: [], tails: [], replays: [], scope: undefined }
    let scope: Scope.CloseableScope | undefined
    let wal: Wal.Wal<Uint8Array> | undefined
    let instance = 0
    let failed = false
    let tailFiber: Fiber.RuntimeFiber<void> | undefined
    let step = -1
    const bug = (what: string, description: string) =>
      recorder.violations.push(`step ${step} (${what}): ${description}`)

    const open = Effect.gen(function*() {
      instance++
      failed = false
      const opened = Scope.make()
      const s = yield* opened
      const made = yield* outcome(Wal.make(walOptions(workload)).pipe(Scope.extend(s)))
      if (made._tag === "Success") {
        scope = s
        wal = made.value
        const replayed = yield* outcome(Stream.runCollect(wal.replay()))
        if (replayed._tag === "Success") result.replays.push(observe(Array.from(replayed.value)))
        else if (replayed._tag === "Bug") bug("replay", replayed.description)
        if (options.tail === true) {
          const record: TailRecord = { instance, delivered: [], ended: "open" }
          result.tails.push(record)
          tailFiber = yield* wal.tail().pipe(
            Stream.runForEach((entry) => Effect.sync(() => record.delivered.push(observe([entry])[0]!))),
            outcome,
            Effect.map((o) => {
              record.ended = o._tag === "Success" ? "end" : o._tag === "Failure" ? describeError(o.error) : `bug: ${o.description}`
            }),
            Effect.forkDaemon
          )
        }
        return
      }
      if (made._tag === "Bug") bug("open", made.description)
      yield* Scope.close(s, Exit.void)
    })

    const closeWal = Effect.gen(function*() {
      if (scope === undefined) return
      const before = yield* syncFailures(control)
      const closed = yield* outcome(Scope.close(scope, Exit.void))
      if (closed._tag === "Bug") bug("close", closed.description)
      scope = undefined
      wal = undefined
      if (tailFiber !== undefined) {
        // A tail ends when its WAL closes.
        const done = yield* Effect.timeout(Fiber.await(tailFiber), "5 seconds").pipe(Effect.option)
        if (Option.isNone(done)) {
          bug("close", "a tail did not end when its WAL closed")
          yield* Fiber.interrupt(tailFiber)
        }
        tailFiber = undefined
      }
      const during = (yield* syncFailures(control)) - before
      result.closeCounts[step] = yield* control.operationCount
      if (options.closeOracle(step, failed, during)) recorder.synced()
    })

    /** Records the outcome of an append call. */
    const appendCall = (
      attempts: ReadonlyArray<Attempt>,
      effect: Effect.Effect<ReadonlyArray<number>, WalError.WalError>,
      sequential: boolean
    ) =>
      Effect.gen(function*() {
        const wasFailed = failed
        const syncFailuresBefore = yield* syncFailures(control)
        const done = yield* outcome(effect)
        if (done._tag === "Success") {
          if (wasFailed) bug("append", `acknowledged ${attempts.map((a) => a.id).join(",")} after an earlier failure of this WAL`)
          if (sequential && options.syncFailureMeansFailure === true && (yield* syncFailures(control)) > syncFailuresBefore) {
            bug("append", `acknowledged ${attempts.map((a) => a.id).join(",")} although an fsync failed while it ran`)
          }
          const seqs = done.value
          if (seqs.length !== attempts.length || seqs.some((seq, i) => seq !== seqs[0]! + i)) {
            bug("append", `sequence numbers ${seqs.join(",")} for ${attempts.length} entries`)
          }
          recorder.ack(attempts, seqs)
        } else if (done._tag === "Failure") {
          for (const attempt of attempts) attempt.failure = describeError(done.error)
          if (wasFailed && done.error._tag !== "WalPoisonedError") {
            bug("append", `after a failure, an append failed with ${describeError(done.error)} instead of WalPoisonedError`)
          }
          if (done.error._tag === "WalIOError" || done.error._tag === "WalPoisonedError") failed = true
        } else {
          bug("append", done.description)
          for (const attempt of attempts) attempt.failure = "defect"
          failed = true
        }
        return done._tag
      })

    yield* open
    for (const op of workload.ops) {
      step++
      let tag: string | undefined
      switch (op._tag) {
        case "append":
        case "appendAll": {
          if (wal === undefined) break
          const w = wal
          const attempts = recorder.submit(op._tag === "append" ? [op.size] : op.sizes)
          const payloads = attempts.map((a) => a.payload)
          tag = yield* appendCall(
            attempts,
            op._tag === "append" ? Effect.map(w.append(payloads[0]!), (seq) => [seq]) : w.appendAll(payloads),
            true
          )
          break
        }
        case "burst": {
          if (wal === undefined) break
          const w = wal
          const calls = op.sizes.map((size) => recorder.submit([size]))
          const tags = yield* Effect.forEach(
            calls,
            (attempts) => appendCall(attempts, Effect.map(w.append(attempts[0]!.payload), (seq) => [seq]), false),
            { concurrency: "unbounded" }
          )
          tag = tags.every((t) => t === "Success") ? "Success" : "Failure"
          break
        }
        case "sync": {
          if (wal === undefined) break
          const wasFailed = failed
          const syncFailuresBefore = yield* syncFailures(control)
          const done = yield* outcome(wal.sync)
          tag = done._tag
          if (done._tag === "Success") {
            if (wasFailed) bug("sync", "a sync succeeded after an earlier failure of this WAL")
            if (options.syncFailureMeansFailure === true && (yield* syncFailures(control)) > syncFailuresBefore) {
              bug("sync", "a sync succeeded although an fsync failed while it ran")
            }
            recorder.synced()
          } else {
            if (done._tag === "Bug") bug("sync", done.description)
            failed = true
          }
          break
        }
        case "reopen":
          yield* closeWal
          yield* open
          tag = wal === undefined ? "Failure" : "Success"
          break
        case "close":
          yield* closeWal
          tag = "Success"
          break
      }
      result.opCounts.push(yield* control.operationCount)
      if (tag !== undefined && tag !== "Success" && options.ranWhole?.(step) === true) {
        bug(describeOp(op), "failed although every filesystem operation of this step ran before the halt")
      }
    }
    return { ...result, scope }
  }).pipe(Effect.provideService(FileSystem.FileSystem, options.memory.fileSystem), Effect.provide(Path.layer))

/** Halts the filesystem (nothing more reaches it) and closes the WAL left open, as a dying process would. */
export const stopDead = (memory: MemoryFileSystem.MemoryFileSystem, run: RunResult, recorder: Recorder) =>
  Effect.gen(function*() {
    yield* memory.control.haltAfter(0)
    if (run.scope !== undefined) {
      const closed = yield* outcome(Scope.close(run.scope, Exit.void))
      if (closed._tag === "Bug") recorder.violations.push(`closing the WAL after the halt: ${closed.description}`)
    }
  })

// ---------------------------------------------------------------------------------------------
// Filesystem states

/**
 * A filesystem state to recover from: its durable content and its live content. After a power
 * loss both are the same; after a process crash the live content (what reached the OS) is ahead
 * of the durable one, and a later power loss may still lose the difference.
 */
export interface State {
  readonly durable: ReadonlyArray<MemoryFileSystem.SnapshotEntry>
  readonly live: ReadonlyArray<MemoryFileSystem.SnapshotEntry>
}

const commonPrefix = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

const snapshotKey = (entries: ReadonlyArray<MemoryFileSystem.SnapshotEntry>) =>
  entries.map((e) => e._tag === "File" ? `${e.path}:${Buffer.from(e.bytes).toString("base64")}` : e.path).join("\n")

/**
 * A fresh in-memory filesystem holding `state`: the durable content written and synced, then the
 * difference to the live content applied without any sync, so it is pending exactly as the OS
 * would hold it after a process crash.
 */
export const restore = (state: State): Effect.Effect<MemoryFileSystem.MemoryFileSystem> =>
  Effect.gen(function*() {
    const memory = yield* MemoryFileSystem.make()
    const fs = memory.fileSystem
    for (const entry of state.durable) {
      if (entry._tag === "Directory") {
        if (!(yield* fs.exists(entry.path))) yield* fs.makeDirectory(entry.path)
      } else {
        yield* fs.writeFile(entry.path, entry.bytes)
      }
    }
    for (const path of ["/", ...state.durable.map((entry) => entry.path)]) {
      yield* Effect.scoped(Effect.flatMap(fs.open(path, { flag: "r" }), (file) => file.sync))
    }
    if (state.live !== state.durable) {
      const durable = new Map(state.durable.map((entry) => [entry.path, entry]))
      const live = new Map(state.live.map((entry) => [entry.path, entry]))
      for (const entry of state.live) {
        const old = durable.get(entry.path)
        if (entry._tag === "Directory") {
          if (old === undefined) yield* fs.makeDirectory(entry.path)
          continue
        }
        if (old === undefined || old._tag !== "File") {
          yield* fs.writeFile(entry.path, entry.bytes)
          continue
        }
        const same = commonPrefix(old.bytes, entry.bytes)
        if (same === old.bytes.length && same === entry.bytes.length) continue
        yield* Effect.scoped(Effect.gen(function*() {
          const file = yield* fs.open(entry.path, { flag: "r+" })
          if (same < old.bytes.length) yield* file.truncate(same)
          if (same < entry.bytes.length) {
            yield* file.seek(same, "start")
            yield* file.writeAll(entry.bytes.subarray(same))
          }
        }))
      }
      for (const entry of [...state.durable].reverse()) {
        if (!live.has(entry.path)) yield* fs.remove(entry.path)
      }
      // The harness must build exactly the state it was given.
      if (snapshotKey(yield* memory.control.snapshot("live")) !== snapshotKey(state.live)) {
        return yield* Effect.dieMessage("harness: restore did not rebuild the live state")
      }
    }
    return memory
  }).pipe(Effect.orDie)

/** How a crash state is made. */
export type CrashSpec =
  | { readonly _tag: "process" }
  | {
    readonly _tag: "power"
    readonly seed: number
    readonly model: "any" | "prefix"
    readonly sectorSize: number
    readonly tornFill: "zero" | "garbage" | "mixed"
  }

/** A label that names a crash state exactly (used in reproduction lines and the STATE filter). */
export const labelOf = (spec: CrashSpec): string =>
  spec._tag === "process" ? "process" : `${spec.model}/${spec.seed}/${spec.sectorSize}/${spec.tornFill}`

/** Parses a label back. */
export const parseLabel = (label: string): CrashSpec | undefined => {
  if (label === "process") return { _tag: "process" }
  const [model, seed, sector, fill] = label.split("/")
  if ((model !== "any" && model !== "prefix") || seed === undefined) return undefined
  const tornFill = fill === "zero" || fill === "garbage" ? fill : "mixed"
  return { _tag: "power", model, seed: Number(seed), sectorSize: Number(sector ?? 512), tornFill }
}

/** Crashes the filesystem as `spec` says and returns the resulting state. */
export const crashTo = (memory: MemoryFileSystem.MemoryFileSystem, spec: CrashSpec): Effect.Effect<State> =>
  Effect.gen(function*() {
    if (spec._tag === "process") {
      return { durable: yield* memory.control.snapshot("durable"), live: yield* memory.control.snapshot("live") }
    }
    yield* memory.control.crash({ seed: spec.seed, model: spec.model, sectorSize: spec.sectorSize, tornFill: spec.tornFill })
    const after = yield* memory.control.snapshot()
    return { durable: after, live: after }
  })

/** A small deterministic 32-bit hash, for seeds. */
export const hash = (...parts: ReadonlyArray<string | number>): number => {
  let h = 2166136261
  for (const part of parts) {
    const text = String(part)
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
    h = Math.imul(h ^ 0x2f, 16777619)
  }
  return h >>> 0
}

// ---------------------------------------------------------------------------------------------
// Recovery

/** What opening the WAL on a state found. */
export interface Recovery {
  readonly entries: Array<Observed>
  readonly report: Wal.RecoveryReport
}

/** Opens the WAL, replays everything and closes it. */
export const recoverOnce = (
  memory: MemoryFileSystem.MemoryFileSystem,
  workload: Pick<Workload, "mode" | "segmentBytes" | "verify" | "walMode">
): Effect.Effect<Outcome<Recovery>> =>
  outcome(Effect.scoped(Effect.gen(function*() {
    const wal = yield* Wal.make(walOptions(workload))
    const entries = yield* Stream.runCollect(wal.replay())
    return { entries: observe(Array.from(entries)), report: wal.recovery }
  }))).pipe(Effect.provideService(FileSystem.FileSystem, memory.fileSystem), Effect.provide(Path.layer))

/** Runs `effect` with the fast clock, the in-memory filesystem provided explicitly per call. */
export const withFastClock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.withClock(effect, fastClock)

/** Environment filters for running one case: WORKLOAD, K, STATE (see docs/testing.md). */
export const filters = {
  workload: process.env["WORKLOAD"],
  k: process.env["K"] === undefined ? undefined : Number(process.env["K"]),
  state: process.env["STATE"],
  seed: process.env["SEED"] === undefined ? undefined : Number(process.env["SEED"])
}

/** Limits the number of problems kept per test so a broken invariant does not flood the log. */
export const MAX_REPORTED = 25

const freshTotals = () => ({
  crashPoints: 0,
  crashStates: 0,
  recoveryCrashes: 0,
  appendCrashes: 0,
  seeds: new Set<number>(),
  fastCheckRuns: 0,
  fsyncCases: 0,
  tailCases: 0,
  tailEntries: 0,
  bitFlipsCutAsTornTail: 0,
  bitFlipsNotLive: 0
})

/** Suite totals, counted from zero for each file and printed at its end (see `reportTotals`). */
export const totals = freshTotals()

/** A line for the CI log with this file's totals. */
const printTotals = (file: string, started: number, scale: string) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(
    `[crash-suite] ${file}, ${scale}: ${totals.crashPoints} crash points explored, ${totals.crashStates} crash states checked, ` +
      `${totals.recoveryCrashes} crashes during recovery, ${totals.appendCrashes} crash-recover-append-crash cases, ` +
      `${totals.fsyncCases} fsync-failure cases, ${totals.tailCases} tail cases (${totals.tailEntries} entries tailed), ${totals.seeds.size} distinct seeds, ` +
      `${totals.fastCheckRuns} fast-check runs (${totals.bitFlipsCutAsTornTail} bit flips cut as a torn tail, ` +
      `${totals.bitFlipsNotLive} under writes not yet durable), ${seconds}s`
  )
}

/**
 * Counts the cases of this test file from zero and prints them in a `[crash-suite]` line at its
 * end (test files may run one after another in one worker, sharing this module).
 */
export const reportTotals = (file: string, scale: string) => {
  let started = Date.now()
  beforeAll(() => {
    Object.assign(totals, freshTotals())
    started = Date.now()
  })
  afterAll(() => printTotals(file, started, scale))
}
