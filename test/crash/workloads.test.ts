/**
 * Exhaustive crash exploration of small workloads (see docs/testing.md): a crash after every
 * filesystem operation, several crash states per point, recovery checked against the invariants,
 * a crash at every operation of a recovery, and crash-recover-append-crash.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Depth, explore } from "./explore.js"
import { filters, MAX_REPORTED, reportTotals } from "./harness.js"
import { describeScale, runsPerPoint } from "./scale.js"
import { workloads } from "./workloads.js"

const FILE = "test/crash/workloads.test.ts"

const depth: Depth = { runsPerPoint, recoveryCrash: true, appendCrash: true, tail: false, sample: "workloads" }

reportTotals(FILE, describeScale())

describe("the harness itself", () => {
  it.live("notices lost acknowledgements: a WAL running Durability.none checked as strict fails", () =>
    Effect.gen(function*() {
      const problems = yield* explore(
        { name: "self-test", mode: "strict", walMode: "none", segmentBytes: 1024, ops: workloads[0]!.ops },
        { runsPerPoint: 2, recoveryCrash: false, appendCrash: false, tail: true },
        FILE
      )
      expect(problems.some((p) => p.includes("acknowledged entry") && p.includes("lost"))).toBe(true)
      expect(problems.some((p) => p.includes("tail of open #1 delivered") && p.includes("missing after the crash"))).toBe(true)
    }), 60_000)
})

describe("crash exploration", () => {
  for (const workload of workloads) {
    if (filters.workload !== undefined && filters.workload !== workload.name) continue
    const steps = workload.ops.map((op) => op._tag).join(", ")
    it.live(`${workload.name} (${workload.mode}, ${workload.segmentBytes} B segments): ${steps}`, () =>
      Effect.gen(function*() {
        const problems = yield* explore(workload, depth, FILE)
        if (problems.length > 0) {
          console.error(`${workload.name}: ${problems.length} problems\n${problems.slice(0, MAX_REPORTED).join("\n")}`)
        }
        expect(problems.slice(0, MAX_REPORTED)).toEqual([])
      }), 120_000)
  }
})
