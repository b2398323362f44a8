/**
 * Tail readers under crash: every opened WAL is tailed while the workload runs; whatever a tail
 * delivered before the crash must be in the log after it (for a process crash in every mode, for
 * a power loss in strict and grouped), in order, from sequence 1, and only acknowledged entries.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Depth, explore } from "./explore.js"
import { filters, MAX_REPORTED, reportTotals, totals } from "./harness.js"
import { describeScale } from "./scale.js"
import { workloads } from "./workloads.js"

const FILE = "test/crash/tail.test.ts"
reportTotals(FILE, describeScale())

const depth: Depth = { runsPerPoint: 3, recoveryCrash: false, appendCrash: false, tail: true, sample: "tail" }

const tailed = [
  "strict-appends",
  "strict-batch-rotate",
  "strict-burst-rotate",
  "strict-mixed",
  "strict-reopen-rotate",
  "grouped-burst",
  "grouped-reopen-burst",
  "buffered-rotate",
  "none-sync",
  "none-reopen-rotate"
]

describe("tail readers under crash", () => {
  for (const workload of workloads.filter((w) => tailed.includes(w.name))) {
    if (filters.workload !== undefined && filters.workload !== workload.name) continue
    it.live(`${workload.name} (${workload.mode}) with a tail on every open`, () =>
      Effect.gen(function*() {
        const before = totals.crashStates
        const problems = yield* explore(workload, depth, FILE)
        totals.tailCases += totals.crashStates - before
        if (problems.length > 0) console.error(`${workload.name}: ${problems.length} problems\n${problems.slice(0, MAX_REPORTED).join("\n")}`)
        expect(problems.slice(0, MAX_REPORTED)).toEqual([])
      }), 120_000)
  }
})
