/**
 * Crash exploration of one workload, CrashMonkey style: count the filesystem operations of the
 * workload, then for every operation index k run it again on a fresh filesystem halted after k
 * operations, crash it into several states, recover each state and check the invariants (see
 * docs/testing.md). Every problem found carries the line that reproduces it.
 */
import { Effect, Option } from "effect"
import { MemoryFileSystem } from "../../src/index.js"
import { sampled, type Suite } from "./scale.js"
import { append, appendAll, breathe, checkLog, crashTo, explain, filters, hash, labelOf, Recorder as RecorderClass, recoverOnce, restore, runWorkload, stopDead, survivesPowerLoss, sync, totals, type CrashSpec, type Observed, type Op, type Recorder, type RunResult, type State, type Workload, withFastClock } from "./harness.js"

/** How deep to explore. */
export interface Depth {
  /** Workload runs per crash point; each run gives one power-loss state (run 0 also the process-crash state). */
  readonly runsPerPoint: number
  /** Crash during recovery: at every operation index of the first recovery, for the first run of a point only. */
  readonly recoveryCrash: boolean
  /** Crash-recover-append-crash on every power-loss state. */
  readonly appendCrash: boolean
  /** Tail every opened WAL and check what the tails delivered. */
  readonly tail: boolean
  /** The suite whose sample picks the crash points explored (see scale.ts); every point without. */
  readonly sample?: Suite
}

/** The steps run after a recovery, before the second crash. */
const postOps: ReadonlyArray<Op> = [append(70), appendAll(90, 40), append(150), sync, append(200), append(30)]

/** The crash states of run `run` at point `k`. */
export const specsOf = (workload: Workload, k: number, run: number): Array<CrashSpec> => {
  const seed = hash(workload.name, k, run)
  if (run === 0) return [{ _tag: "process" }, { _tag: "power", seed, model: "prefix", sectorSize: 512, tornFill: "mixed" }]
  const sectorSize = run % 2 === 1 ? 512 : 64
  const tornFill = (["mixed", "zero", "garbage"] as const)[run % 3]!
  return [{ _tag: "power", seed, model: "any", sectorSize, tornFill }]
}

/**
 * Whether the files of the run halted at crash point `k` offer synchronous access: alternate
 * points run the writer's synchronous batch step and its writer-fiber path (`syncAccess` in
 * `MemoryFileSystem`), which issue the same file operations in the same order.
 */
export const syncAccessAt = (k: number): boolean => k % 2 === 0

const counting = (workload: Workload) =>
  Effect.gen(function*() {
    const memory = yield* MemoryFileSystem.make()
    const recorder = new RecorderClass("w")
    const run = yield* runWorkload({
      memory,
      recorder,
      workload,
      ranWhole: () => true,
      closeOracle: (_, failed, syncFailures) => !failed && syncFailures === 0
    })
    const total = yield* memory.control.operationCount
    yield* stopDead(memory, run, recorder)
    return { run, total, recorder }
  })

/** Checks one crash state; returns the problems. */
export const checkState = (
  workload: Workload,
  state: State,
  spec: CrashSpec,
  recorder: Recorder,
  run: RunResult,
  depth: Depth,
  first: boolean,
  /** Names the case, so seeds drawn for it differ from case to case. */
  key: string
) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    totals.crashStates++
    if (spec._tag === "power") totals.seeds.add(spec.seed)
    const survives = spec._tag === "process" || survivesPowerLoss(workload.mode)
    const required = survives ? recorder.acked.length : recorder.syncedAcks
    const memory = yield* restore(state)
    const before = yield* memory.control.operationCount
    const first1 = yield* recoverOnce(memory, workload)
    if (first1._tag !== "Success") {
      problems.push(`recovery failed: ${explain(first1)}`)
      return problems
    }
    const recoveryOps = (yield* memory.control.operationCount) - before
    const entries = first1.value.entries
    problems.push(...checkLog(entries, recorder, { base: [], required }))
    // What tailing readers delivered before the crash is in the log after it.
    for (const tail of run.tails) {
      totals.tailEntries += tail.delivered.length
      tail.delivered.forEach((entry, i) => {
        const attempt = recorder.byId.get(entry.id)
        if (entry.seq !== i + 1) problems.push(`tail of open #${tail.instance} delivered ${entry.seq}=${entry.id} at position ${i + 1}`)
        if (attempt === undefined || attempt.seq !== entry.seq) {
          problems.push(`tail of open #${tail.instance} delivered ${entry.seq}=${entry.id}, which was not acknowledged at that sequence`)
        }
        if (survives && entries[entry.seq - 1]?.id !== entry.id) {
          problems.push(`tail of open #${tail.instance} delivered ${entry.seq}=${entry.id}, missing after the crash`)
        }
      })
      if (tail.ended.startsWith("bug")) problems.push(`tail of open #${tail.instance} ended with ${tail.ended}`)
    }
    // What a WAL replayed when it was opened before the crash is still there.
    {
      for (const replayed of run.replays) {
        const lost = replayed.find((entry, i) => entries[i]?.id !== entry.id || entries[i]?.seq !== entry.seq)
        if (lost !== undefined) {
          problems.push(`entry ${lost.seq}=${lost.id}, replayed by an open before the crash, is ${entries[lost.seq - 1] === undefined ? "missing" : `now ${entries[lost.seq - 1]!.id}`}`)
        }
      }
    }
    // Idempotent: a second recovery finds the same log and nothing to repair.
    const second = yield* recoverOnce(memory, workload)
    if (second._tag !== "Success") {
      problems.push(`second recovery failed: ${explain(second)}`)
      return problems
    }
    if (!sameEntries(second.value.entries, entries)) {
      problems.push(`second recovery differs: ${describeEntries(second.value.entries)} vs ${describeEntries(entries)}`)
    }
    if (Option.isSome(second.value.report.tornTail) || second.value.report.removedSegments.length > 0) {
      problems.push(`second recovery repaired again: ${JSON.stringify(second.value.report.tornTail)} ${second.value.report.removedSegments.join(",")}`)
    }
    // A crash at every operation of the recovery still recovers to the same log.
    if (depth.recoveryCrash && first && problems.length === 0) {
      for (let j = 0; j < recoveryOps; j++) {
        totals.recoveryCrashes++
        const m = yield* restore(state)
        yield* m.control.haltAfter(j)
        const interrupted = yield* recoverOnce(m, workload)
        if (interrupted._tag === "Bug") problems.push(`recovery halted after ${j} operations: ${interrupted.description}`)
        const seed = hash(key, labelOf(spec), "recovery", j)
        totals.seeds.add(seed)
        yield* m.control.haltAfter(0)
        yield* m.control.crash({ seed, model: "any", sectorSize: 512 })
        const again = yield* recoverOnce(m, workload)
        if (again._tag !== "Success") {
          problems.push(`after a crash ${j} operations into recovery (seed ${seed}): ${explain(again)}`)
        } else if (!sameEntries(again.value.entries, entries)) {
          problems.push(`after a crash ${j} operations into recovery (seed ${seed}): ${describeEntries(again.value.entries)} instead of ${describeEntries(entries)}`)
        }
      }
    }
    // Crash, recover, append, crash again: the recovered log stays, the new entries obey the rules.
    if (depth.appendCrash && problems.length === 0) {
      totals.appendCrashes++
      const post = new RecorderClass("post")
      const seed = hash(key, labelOf(spec), "append")
      totals.seeds.add(seed)
      yield* memory.control.haltAfter(seed % 16)
      const postRun = yield* runWorkload({
        memory,
        recorder: post,
        workload: { ...workload, verify: "full", ops: postOps },
        closeOracle: () => false
      })
      yield* stopDead(memory, postRun, post)
      problems.push(...post.violations.map((v) => `after recovery: ${v}`))
      yield* memory.control.crash({ seed, model: "any", sectorSize: 512 })
      const last = yield* recoverOnce(memory, workload)
      if (last._tag !== "Success") {
        problems.push(`recovery after crash-recover-append-crash (halt after ${seed % 16}, seed ${seed}) failed: ${explain(last)}`)
      } else {
        const found = checkLog(last.value.entries, post, {
          base: entries,
          required: survivesPowerLoss(workload.mode) ? post.acked.length : post.syncedAcks
        })
        problems.push(...found.map((p) => `crash-recover-append-crash (halt after ${seed % 16}, seed ${seed}): ${p}`))
      }
    }
    return problems
  })

const sameEntries = (a: ReadonlyArray<Observed>, b: ReadonlyArray<Observed>) =>
  a.length === b.length && a.every((entry, i) => entry.seq === b[i]!.seq && entry.id === b[i]!.id)

const describeEntries = (entries: ReadonlyArray<Observed>) => entries.map((e) => `${e.seq}=${e.id}`).join(" ") || "(empty)"

/** The command line that reruns one case. */
export const reproduction = (file: string, workload: Workload, k: number, spec: CrashSpec) =>
  `WORKLOAD=${workload.name} K=${k} STATE=${labelOf(spec)} npx vitest run ${file}`

/**
 * Explores every crash point of `workload`. Returns the problems found, each with its
 * reproduction line; an empty array means every state satisfied every invariant.
 */
export const explore = (workload: Workload, depth: Depth, file: string): Effect.Effect<Array<string>> =>
  withFastClock(Effect.gen(function*() {
    const problems: Array<string> = []
    const count = yield* counting(workload)
    if (count.recorder.violations.length > 0) {
      return count.recorder.violations.map((v) => `${workload.name} without any crash: ${v}`)
    }
    const total = count.total
    for (let k = 0; k <= total; k++) {
      if (filters.k !== undefined && filters.k !== k) continue
      if (depth.sample !== undefined && !sampled(depth.sample, workload.name, k, total + 1)) continue
      totals.crashPoints++
      yield* breathe
      for (let r = 0; r < depth.runsPerPoint; r++) {
        const specs = specsOf(workload, k, r).filter((spec) => filters.state === undefined || labelOf(spec) === filters.state)
        if (specs.length === 0) continue
        const where = (spec: CrashSpec) => `[${reproduction(file, workload, k, spec)}]`
        const result = yield* Effect.gen(function*() {
          const found: Array<string> = []
          const memory = yield* MemoryFileSystem.make({ syncAccess: syncAccessAt(k) })
          const recorder = new RecorderClass("w")
          yield* memory.control.haltAfter(k)
          const run = yield* runWorkload({
            memory,
            recorder,
            workload,
            tail: depth.tail,
            ranWhole: (step) => k > count.run.opCounts[step]!,
            closeOracle: (step, failed) => !failed && k >= (count.run.closeCounts[step] ?? Number.POSITIVE_INFINITY)
          })
          const reached = yield* memory.control.operationCount
          if (reached !== Math.min(k, total)) found.push(`harness: the run reached ${reached} operations, expected ${Math.min(k, total)} (nondeterministic workload)`)
          yield* stopDead(memory, run, recorder)
          found.push(...recorder.violations)
          for (const spec of specs) {
            const state = yield* crashTo(memory, spec)
            const stateProblems = yield* checkState(workload, state, spec, recorder, run, depth, r === 0 && spec._tag === "power", `${workload.name}/${k}`)
            found.push(...stateProblems.map((p) => `${where(spec)} ${p}`))
          }
          return found.map((p) => p.startsWith("[") ? p : `${where(specs[0]!)} ${p}`)
        }).pipe(
          Effect.timeoutFail({
            duration: "30 seconds",
            onTimeout: () => `${where(specs[0]!)} timed out: a hang in the workload, the close or a recovery`
          }),
          Effect.catchAll((message) => Effect.succeed([message]))
        )
        problems.push(...result)
      }
    }
    return problems
  }))

export { describeEntries, sameEntries }
