/**
 * How much of the crash exploration a run covers, decided in this one module (see docs/testing.md).
 *
 * - `EFFECT_WAL_CRASH=full` (`npm run test:crash`): every case: every crash point of every
 *   workload, every fsync index, 1,050 model runs, 12 SIGKILL rounds.
 * - unset or `sample` (`npm test`): a seeded sample of the same cases: each case is kept or left
 *   out by a hash of its name and `EFFECT_WAL_CRASH_SEED` (default 1), so the default run is the
 *   same on every machine and another seed samples other cases.
 * - a number in (0, 1], such as `EFFECT_WAL_CRASH=0.25`: that share of the cases of every suite.
 *
 * A case picked by the `WORKLOAD` / `K` / `STATE` filters (the reproduction lines) always runs.
 */
import { filters, hash } from "./harness.js"

const setting = process.env["EFFECT_WAL_CRASH"] ?? "sample"
const fraction = setting === "full" ? 1 : setting === "sample" ? undefined : Number(setting)
if (fraction !== undefined && !(fraction > 0 && fraction <= 1)) {
  throw new Error(`EFFECT_WAL_CRASH must be "full", "sample" or a share in (0, 1], not ${JSON.stringify(setting)}`)
}

/** Whether every case runs. */
export const full = fraction === 1

/** The seed of the sample. */
export const sampleSeed = Number(process.env["EFFECT_WAL_CRASH_SEED"] ?? 1)

/** The suites whose cases are sampled, and the share of their cases the default sample runs. */
const defaultShares = {
  /** Crash points (k) of the 32 workloads, every run of a kept point. */
  workloads: 0.01,
  /** Crash points of the 10 tailed workloads. */
  tail: 0.04,
  /** (fsync index, once or persistent) pairs of the 32 workloads. */
  fsync: 0.04
} as const

export type Suite = keyof typeof defaultShares

/** Whether a filter of a reproduction line names the cases to run. */
const pinned = filters.workload !== undefined || filters.k !== undefined || filters.state !== undefined

/**
 * Whether case `index` of the `count` cases (0 .. count - 1) of `name` in `suite` runs: in a
 * sample, one case of every name, picked by the seed, plus the suite's share of the others.
 */
export const sampled = (suite: Suite, name: string, index: number, count: number): boolean => {
  if (full || pinned) return true
  if (index === hash("pick", sampleSeed, suite, name) % count) return true
  return hash("sample", sampleSeed, suite, name, index) < (fraction ?? defaultShares[suite]) * 2 ** 32
}

/** A count scaled to the run: all of it in full, the sample's count otherwise (at least 1). */
const scaled = (fullCount: number, sampleCount: number): number =>
  full ? fullCount : fraction === undefined ? sampleCount : Math.max(1, Math.round(fullCount * fraction))

const numberFrom = (name: string): number | undefined => process.env[name] === undefined ? undefined : Number(process.env[name])

/** Workload runs per crash point (each run is one power-loss state; run 0 also the process crash). */
export const runsPerPoint = numberFrom("CRASH_RUNS") ?? 3

/** Model test: fast-check runs per fixed seed. */
export const modelRunsPerSeed = numberFrom("MODEL_RUNS") ?? scaled(250, 6)

/** Model test: runs of the extra seed (a fresh one in full runs, derived from the sample seed otherwise). */
export const modelExtraRuns = numberFrom("MODEL_FRESH_RUNS") ?? scaled(50, 4)

/** Model test: the extra seed. */
export const modelExtraSeed = numberFrom("MODEL_SEED") ?? (full ? Date.now() % 2 ** 31 : hash("model", sampleSeed) % 2 ** 31)

/** SIGKILL rounds of the real-process crash test. */
export const processCrashRounds = scaled(12, 3)

/** What this run covers, for the `[crash-suite]` lines. */
export const describeScale = (): string =>
  full ? "full exploration" : pinned ? "the cases WORKLOAD / K / STATE name" : `sample (EFFECT_WAL_CRASH=${setting}, EFFECT_WAL_CRASH_SEED=${sampleSeed}; EFFECT_WAL_CRASH=full runs every case)`
