/**
 * Where W1's time goes: one-at-a-time strict appends of 256 B through the WAL (`NodeFastFileSystem`)
 * and through `raw-allocated` (the WAL's frames, `writeSync` + `fdatasyncSync` in a file extended
 * 1 MiB ahead), alternating in one process. `fs.writeSync` and `fs.fdatasyncSync` are wrapped
 * with timers, so each append's wall time splits into write, fdatasync and everything else (for
 * the WAL: the producer's and the writer's CPU, their hand-offs and the fiber scheduling).
 * `--gap N` adds a third system: `raw-allocated` spinning N µs before each append, to see what a
 * CPU gap as long as the WAL's does to raw's fdatasync.
 *
 *   npx tsx bench/w1-breakdown.ts [--runs 4] [--count 2000] [--gap 0]
 */
import * as NodePath from "@effect/platform-node/NodePath"
import { createRequire } from "node:module"
import { syncBuiltinESMExports } from "node:module"

/** The `node:fs` module object: the WAL's `import * as NFS from "node:fs"` sees its wrapped calls. */
const fs: typeof import("node:fs") = createRequire(import.meta.url)("node:fs")
const spent = { write: 0, sync: 0 }
const timed = <F extends (...args: Array<any>) => any>(call: F, into: "write" | "sync"): F =>
  function(this: unknown, ...args: Parameters<F>) {
    const started = performance.now()
    try {
      return call.apply(this, args)
    } finally {
      spent[into] += performance.now() - started
    }
  } as F
fs.writeSync = timed(fs.writeSync, "write")
fs.fdatasyncSync = timed(fs.fdatasyncSync, "sync")
syncBuiltinESMExports()

const { Effect } = await import("effect")
const Path = await import("node:path")
const Durability = await import("../src/Durability.js")
const NodeFastFileSystem = await import("../src/NodeFastFileSystem.js")
const Wal = await import("../src/Wal.js")
const { argument, makeTempDir, RawLog, removeDir, spin } = await import("./lib/harness.js")

const RUNS = argument("runs", 4)
const COUNT = argument("count", 2000)
const GAP_MICROS = argument("gap", 0)
const data = new Uint8Array(256).fill(7)

/** Prints one system's µs per append, split, and resets the timers. */
const report = (run: number, system: string, milliseconds: number): void => {
  const micros = (ms: number) => (ms * 1000 / COUNT).toFixed(1)
  const other = milliseconds - spent.write - spent.sync
  console.log(
    `run ${run} ${system.padEnd(13)} ${micros(milliseconds)} µs/append: write ${micros(spent.write)}, fdatasync ${
      micros(spent.sync)
    }, other ${micros(other)}`
  )
  spent.write = spent.sync = 0
}

const dir = makeTempDir("w1-breakdown")

/** `raw-allocated`, spinning `gapMicros` before each append. */
const rawAppends = (run: number, gapMicros: number): void => {
  const raw = new RawLog(Path.join(dir, `raw-${run}-${gapMicros}`), 1024 * 1024)
  spent.write = spent.sync = 0
  const started = performance.now()
  for (let i = 0; i < COUNT; i++) {
    if (gapMicros > 0) spin(gapMicros)
    raw.frame([data], Date.now())
    raw.flush()
    raw.sync()
  }
  report(run, gapMicros > 0 ? `raw-alloc+${gapMicros}` : "raw-allocated", performance.now() - started)
  raw.close()
}
try {
  for (let run = 1; run <= RUNS; run++) {
    rawAppends(run, 0)
    if (GAP_MICROS > 0) rawAppends(run, GAP_MICROS)
    const walMilliseconds = await Effect.runPromise(
      Effect.gen(function*() {
        const log = yield* Wal.make({ directory: Path.join(dir, `wal-${run}`), durability: Durability.strict })
        spent.write = spent.sync = 0
        const started = performance.now()
        for (let i = 0; i < COUNT; i++) yield* log.append(data)
        return performance.now() - started
      }).pipe(Effect.scoped, Effect.provide([NodeFastFileSystem.layer, NodePath.layer]))
    )
    report(run, "wal-fast", walMilliseconds)
  }
} finally {
  removeDir(dir)
}
