/**
 * fsync failure at every fsync index of every workload, once and persistently (brief, sections 5
 * and 7): the WAL fails stop (the failing call and every later one fail, nothing later is
 * acknowledged), and after a process crash or a power loss the entries of the failed batch may be
 * there or not, but only inside a gap-free prefix, with every acknowledged entry kept.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { MemoryFileSystem } from "../../src/index.js"
import { checkState, type Depth, syncAccessAt } from "./explore.js"
import { breathe, crashTo, filters, hash, labelOf, MAX_REPORTED, reportTotals, Recorder, runWorkload, syncFailures, totals, type CrashSpec, type Workload, withFastClock } from "./harness.js"
import { describeScale, sampled } from "./scale.js"
import { workloads } from "./workloads.js"

const FILE = "test/crash/fsync.test.ts"
reportTotals(FILE, describeScale())

const depth: Depth = { runsPerPoint: 1, recoveryCrash: false, appendCrash: true, tail: false }

/** The states checked per fsync index: the process crash and two power losses. */
const specsOf = (workload: Workload, nth: number, persistent: boolean): Array<CrashSpec> => {
  const seed = hash(workload.name, nth, persistent ? "persistent" : "once")
  return [
    { _tag: "process" },
    { _tag: "power", seed, model: "any", sectorSize: 512, tornFill: "mixed" },
    { _tag: "power", seed: (seed ^ 0x5bd1e995) >>> 0, model: "prefix", sectorSize: 512, tornFill: "mixed" }
  ]
}

const reproduction = (workload: Workload, nth: number, persistent: boolean, spec: CrashSpec) =>
  `[WORKLOAD=${workload.name} K=${nth} PERSISTENT=${persistent} STATE=${labelOf(spec)} npx vitest run ${FILE}]`

/**
 * Runs `workload` with the `nth` fsync failing, closes it, lifts the fault, crashes as `spec`
 * says and checks the recovered log. Returns whether the fault fired, and the problems.
 */
const fsyncCase = (workload: Workload, nth: number, persistent: boolean, spec: CrashSpec) =>
  Effect.gen(function*() {
    const memory = yield* MemoryFileSystem.make({ syncAccess: syncAccessAt(nth) })
    yield* memory.control.failSync({ nth, persistent })
    const recorder = new Recorder("w")
    const run = yield* runWorkload({
      memory,
      recorder,
      workload,
      syncFailureMeansFailure: true,
      closeOracle: (_, failed, failuresDuringClose) => !failed && failuresDuringClose === 0
    })
    const fired = (yield* syncFailures(memory.control)) > 0
    if (run.scope !== undefined) yield* Scope.close(run.scope, Exit.void)
    yield* memory.control.clearFaults
    const problems = [...recorder.violations]
    if (fired) {
      const state = yield* crashTo(memory, spec)
      problems.push(...yield* checkState(workload, state, spec, recorder, run, depth, false, `${workload.name}/${nth}/${persistent}`))
    }
    return { fired, problems: problems.map((p) => `${reproduction(workload, nth, persistent, spec)} ${p}`) }
  })

/**
 * How many fsyncs `workload` makes without faults: a failure of fsync #1 .. #n fires, one of
 * fsync #n + 1 does not (every case checks that), so the sample knows every index without running it.
 */
const countFsyncs = (workload: Workload) =>
  Effect.gen(function*() {
    // Files without synchronous access: every fsync goes through `File.sync`, where it is counted
    // (both batch paths make the same fsyncs).
    const memory = yield* MemoryFileSystem.make({ syncAccess: false })
    let fsyncs = 0
    const counted = (file: FileSystem.File): FileSystem.File =>
      new Proxy(file, {
        get: (target, property) => {
          if (property === "sync") return Effect.tap(target.sync, () => void fsyncs++)
          const value: unknown = Reflect.get(target, property, target)
          return typeof value === "function" ? value.bind(target) : value
        }
      })
    const fileSystem: FileSystem.FileSystem = {
      ...memory.fileSystem,
      open: (path, options) => Effect.map(memory.fileSystem.open(path, options), counted)
    }
    const run = yield* runWorkload({ memory: { ...memory, fileSystem }, recorder: new Recorder("w"), workload, closeOracle: () => false })
    // As `fsyncCase` judges whether its failure fired: before the WAL left open is closed.
    const made = fsyncs
    if (run.scope !== undefined) yield* Scope.close(run.scope, Exit.void)
    return made
  })

const persistentFilter = process.env["PERSISTENT"]

describe("fsync failure at every fsync index", () => {
  for (const workload of workloads) {
    if (filters.workload !== undefined && filters.workload !== workload.name) continue
    it.live(`${workload.name} (${workload.mode})`, () =>
      withFastClock(Effect.gen(function*() {
        const problems: Array<string> = []
        const fsyncs = yield* countFsyncs(workload)
        for (const persistent of [false, true]) {
          if (persistentFilter !== undefined && persistentFilter !== String(persistent)) continue
          for (let nth = 1; nth <= fsyncs + 1; nth++) {
            if (filters.k !== undefined && filters.k !== nth) continue
            if (!sampled("fsync", workload.name, (persistent ? fsyncs + 1 : 0) + nth - 1, 2 * (fsyncs + 1))) continue
            yield* breathe
            for (const spec of specsOf(workload, nth, persistent)) {
              if (filters.state !== undefined && filters.state !== labelOf(spec)) continue
              const result = yield* fsyncCase(workload, nth, persistent, spec).pipe(
                Effect.timeoutFail({
                  duration: "30 seconds",
                  onTimeout: () => `${reproduction(workload, nth, persistent, spec)} timed out`
                }),
                Effect.catchAll((message) => Effect.succeed({ fired: nth <= fsyncs, problems: [message] }))
              )
              totals.fsyncCases++
              if (spec._tag === "power") totals.seeds.add(spec.seed)
              // The workload makes `fsyncs` fsyncs: a failure of #1 .. #fsyncs fires, of #fsyncs + 1 does not.
              if (result.fired !== nth <= fsyncs) {
                problems.push(`${reproduction(workload, nth, persistent, spec)} the failure of fsync #${nth} ${result.fired ? "fired" : "did not fire"}, but the workload makes ${fsyncs} fsyncs`)
              }
              problems.push(...result.problems)
            }
          }
        }
        if (problems.length > 0) console.error(`${workload.name}: ${problems.length} problems\n${problems.slice(0, MAX_REPORTED).join("\n")}`)
        expect(problems.slice(0, MAX_REPORTED)).toEqual([])
      })), 120_000)
  }
})
