/**
 * Group commit and durability modes: the same workload under each mode.
 *
 * Shows: 2,000 appends of 256-byte payloads from 64 concurrent fibers, run once per durability
 * mode (`strict`, `grouped` 2 ms, `buffered` 10 ms / 1 MiB, `none`), each on a fresh WAL. For each
 * mode it prints the appends per second of this run, the write batches and the fsyncs the writer
 * did (from the WAL's own metrics, `Wal.metrics`), and what the mode promises. Concurrent appends
 * share one write and one fsync (group commit), so even `strict` does far fewer fsyncs than
 * appends.
 *
 * The figures are this run's measurement on this machine, not a claim about effect-wal: they
 * vary with the disk, the load and the run. Benchmarks with method and medians live in bench/.
 *
 * Directory: a fresh temporary directory per mode, removed at the end.
 *
 *   npx tsx examples/group-commit.ts
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Metric } from "effect"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Durability, Wal } from "../src/index.js" // in an application: from "effect-wal"

const APPENDS = 2_000
const FIBERS = 64
const PAYLOAD = new Uint8Array(256).fill(0x61)

const modes: ReadonlyArray<{ name: string; durability: Durability.Durability; crash: string; powerLoss: string }> = [
  {
    name: "strict",
    durability: Durability.strict,
    crash: "nothing acknowledged",
    powerLoss: "nothing acknowledged"
  },
  {
    name: "grouped 2 ms",
    durability: Durability.grouped({ maxDelay: "2 millis" }),
    crash: "nothing acknowledged",
    powerLoss: "nothing acknowledged"
  },
  {
    name: "buffered 10 ms / 1 MiB",
    durability: Durability.buffered({ interval: "10 millis", bytes: 1024 * 1024 }),
    crash: "nothing acknowledged",
    powerLoss: "at most the last interval / bytes"
  },
  {
    name: "none",
    durability: Durability.none,
    crash: "nothing acknowledged",
    powerLoss: "everything since the last sync"
  }
]

const runMode = (mode: typeof modes[number]) =>
  Effect.gen(function*() {
    const directory = yield* Effect.acquireRelease(
      Effect.sync(() => NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "effect-wal-group-commit-"))),
      (directory) => Effect.sync(() => NodeFs.rmSync(directory, { recursive: true, force: true }))
    )
    const wal = yield* Wal.make({ directory, durability: mode.durability })
    const started = performance.now()
    yield* Effect.forEach(Array.from({ length: APPENDS }), () => wal.append(PAYLOAD), { concurrency: FIBERS, discard: true })
    const seconds = (performance.now() - started) / 1000
    // Read before the scope closes: closing adds one last fsync in the modes that defer them.
    const metrics = Wal.metrics(directory)
    const batches = (yield* Metric.value(metrics.batchSize)).count
    const fsyncs = (yield* Metric.value(metrics.fsyncDuration)).count
    return { ...mode, perSecond: Math.round(APPENDS / seconds), batches, fsyncs }
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  console.log(`${APPENDS} appends of ${PAYLOAD.length} B from ${FIBERS} fibers per mode (this run, this machine; not a benchmark)`)
  console.log("")
  const header = ["mode", "appends/s", "batches", "fsyncs", "process crash loses", "power loss loses"]
  const rows: Array<Array<string>> = []
  for (const mode of modes) {
    const result = yield* runMode(mode)
    rows.push([
      result.name,
      String(result.perSecond),
      String(result.batches),
      String(result.fsyncs),
      result.crash,
      result.powerLoss
    ])
  }
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  console.log(line(header))
  for (const row of rows) console.log(line(row))
  console.log("")
  console.log("strict and grouped acknowledge after fsync; buffered and none after the write to the OS.")
})

program.pipe(Effect.provide(NodeContext.layer), Effect.runPromise).catch((error) => {
  console.error(error)
  process.exit(1)
})
